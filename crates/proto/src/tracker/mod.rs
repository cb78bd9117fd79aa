//! Tracker wire formats.
