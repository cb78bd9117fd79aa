//! torrix

pub mod disk;
