//! The peer wire protocol.
