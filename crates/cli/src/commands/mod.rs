//! One module per subcommand.

pub mod bench;
pub mod create;
pub mod download;
pub mod info;
pub mod seed;
