//! The engine's log: slog to stderr, level from `--log-level` or `TORRIX_LOG`.

use slog::{o, Drain, Level, Logger};

/// A terminal logger at the requested level (default: warnings and errors).
pub fn init(level: Option<&str>) -> Logger {
    let from_env = std::env::var("TORRIX_LOG").ok();
    let wanted = level.map(str::to_owned).or(from_env);
    let level = match wanted.as_deref().map(str::to_ascii_lowercase).as_deref() {
        Some("trace") => Level::Trace,
        Some("debug") => Level::Debug,
        Some("info") => Level::Info,
        Some("error") => Level::Error,
        Some("critical") | Some("off") => Level::Critical,
        _ => Level::Warning,
    };
    let decorator = slog_term::TermDecorator::new().stderr().build();
    let drain = slog_term::CompactFormat::new(decorator).build().fuse();
    let drain = slog_async::Async::new(drain).chan_size(4096).build().fuse();
    Logger::root(drain.filter_level(level).fuse(), o!())
}
