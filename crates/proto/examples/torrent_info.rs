//! Prints what a `.torrent` file holds.
//!
//! ```sh
//! cargo run -p torrix-proto --example torrent_info < some.torrent
//! ```
//!
//! Exits with status 1 and a one-line explanation if the input is not a valid
//! torrent.

use std::io::{self, Read, Write};
use std::process::ExitCode;

use torrix_proto::Metainfo;

fn main() -> ExitCode {
    let mut bytes = Vec::new();
    if let Err(e) = io::stdin().read_to_end(&mut bytes) {
        eprintln!("error: cannot read standard input: {e}");
        return ExitCode::FAILURE;
    }
    let meta = match Metainfo::from_bytes(&bytes) {
        Ok(meta) => meta,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    // A closed pipe (`| head`) is not worth a panic or an error message.
    match print(&meta, &mut io::stdout().lock()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: cannot write output: {e}");
            ExitCode::FAILURE
        }
    }
}

fn print(meta: &Metainfo, out: &mut impl Write) -> io::Result<()> {
    writeln!(out, "info-hash:    {}", meta.info_hash)?;
    writeln!(out, "name:         {}", meta.name)?;
    writeln!(
        out,
        "size:         {} ({} bytes)",
        human(meta.total_length),
        meta.total_length
    )?;
    writeln!(
        out,
        "pieces:       {} x {}",
        meta.piece_count(),
        human(u64::from(meta.piece_length))
    )?;
    writeln!(
        out,
        "private:      {}",
        if meta.private { "yes" } else { "no" }
    )?;
    if let Some(comment) = &meta.comment {
        writeln!(out, "comment:      {comment}")?;
    }
    if let Some(created_by) = &meta.created_by {
        writeln!(out, "created by:   {created_by}")?;
    }
    if let Some(date) = meta.creation_date {
        writeln!(out, "created:      {date} (Unix time)")?;
    }

    let tiers = meta.tiers();
    if tiers.is_empty() {
        writeln!(out, "trackers:     none")?;
    } else {
        writeln!(out, "trackers:")?;
        for (i, tier) in tiers.iter().enumerate() {
            writeln!(out, "  tier {i}:")?;
            for url in tier {
                writeln!(out, "    {url}")?;
            }
        }
    }
    if !meta.url_list.is_empty() {
        writeln!(out, "web seeds:")?;
        for url in &meta.url_list {
            writeln!(out, "  {url}")?;
        }
    }

    writeln!(
        out,
        "files ({}, {}):",
        meta.files.len(),
        if meta.single_file {
            "single-file"
        } else {
            "multi-file"
        }
    )?;
    let piece_length = u64::from(meta.piece_length);
    for file in &meta.files {
        // Pieces this file's bytes fall in (shared boundary pieces counted).
        let pieces = if file.length == 0 {
            0
        } else {
            (file.offset + file.length - 1) / piece_length - file.offset / piece_length + 1
        };
        writeln!(
            out,
            "  {:>10}  {:>6} pieces  {}",
            human(file.length),
            pieces,
            file.path.join("/")
        )?;
    }
    Ok(())
}

/// Bytes in binary units, e.g. `1.5 MiB`.
fn human(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}
