//! torrix
