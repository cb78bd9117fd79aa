//! One module per subcommand.

pub mod download;
pub mod info;
pub mod seed;
