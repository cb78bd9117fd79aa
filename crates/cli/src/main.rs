//! `torrix`: download, seed, create and inspect torrents from the command line.
//!
//! Every command that moves data starts an actix system and talks to the
//! torrix [`Engine`](torrix::Engine) with messages, like any library consumer.

mod args;
mod commands;
mod error;
mod limits;
mod logging;
mod progress;
mod session;
mod units;

use std::process::ExitCode;

use clap::Parser;

use args::{Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let log = logging::init(cli.log_level.as_deref());
    let open_files = limits::raise_open_files();
    slog::debug!(log, "open file limit"; "soft" => ?open_files);
    let result = match cli.command {
        Command::Download(args) => commands::download::run(args, log),
        Command::Seed(args) => commands::seed::run(args, log),
        Command::Info(args) => commands::info::run(args),
        Command::Create(args) => commands::create::run(args),
        Command::Bench(args) => commands::bench::run(args, log),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("torrix: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}
