//! torrix
pub mod tracker;
