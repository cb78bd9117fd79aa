//! `torrix info`: what a .torrent contains, for people or (with `--json`) scripts.

use serde_json::json;

use crate::args::InfoArgs;
use crate::error::CliError;
use crate::session::load_torrent;
use crate::units;

/// Runs the command.
pub fn run(args: InfoArgs) -> Result<(), CliError> {
    let meta = load_torrent(&args.metainfo)?;
    let tiers = meta.tiers();
    if args.json {
        let files: Vec<_> = meta
            .files
            .iter()
            .map(|f| json!({ "path": f.path.join("/"), "length": f.length }))
            .collect();
        let out = json!({
            "name": meta.name,
            "info_hash": meta.info_hash.to_hex(),
            "total_length": meta.total_length,
            "piece_length": meta.piece_length,
            "piece_count": meta.pieces.len(),
            "private": meta.private,
            "single_file": meta.single_file,
            "trackers": tiers,
            "comment": meta.comment,
            "created_by": meta.created_by,
            "creation_date": meta.creation_date,
            "files": files,
        });
        println!(
            "{}",
            serde_json::to_string_pretty(&out).expect("JSON values serialize")
        );
        return Ok(());
    }
    println!("name:       {}", meta.name);
    println!("info-hash:  {}", meta.info_hash);
    println!(
        "size:       {} ({} bytes)",
        units::bytes(meta.total_length),
        meta.total_length
    );
    println!(
        "pieces:     {} × {}",
        meta.pieces.len(),
        units::bytes(u64::from(meta.piece_length))
    );
    println!("private:    {}", if meta.private { "yes" } else { "no" });
    if let Some(c) = &meta.comment {
        println!("comment:    {c}");
    }
    if let Some(c) = &meta.created_by {
        println!("created by: {c}");
    }
    if tiers.is_empty() {
        println!("trackers:   none");
    }
    for (i, tier) in tiers.iter().enumerate() {
        println!("tier {}:     {}", i + 1, tier.join(", "));
    }
    println!("files:      {}", meta.files.len());
    for f in &meta.files {
        println!("  {:>12}  {}", units::bytes(f.length), f.path.join("/"));
    }
    Ok(())
}
