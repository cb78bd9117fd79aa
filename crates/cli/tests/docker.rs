//! The container's entrypoint maps the environment to torrix flags as
//! documented. There is no docker engine on the test machines, so this runs
//! `docker/test-entrypoint.sh`, which drives the entrypoint script with a stub
//! in place of the binary.

use std::path::Path;
use std::process::Command;

#[test]
fn entrypoint_maps_environment_to_flags() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let script = root.join("docker/test-entrypoint.sh");
    let out = Command::new("sh").arg(&script).output().expect("run sh");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{} failed:\n{stdout}\n{}",
        script.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    // The script must really have run its cases, not exited early with 0.
    let summary = stdout.lines().last().unwrap_or_default();
    let counts: Vec<u32> = summary.split(' ').filter_map(|w| w.parse().ok()).collect();
    assert!(
        summary.ends_with("cases passed")
            && counts.len() == 2
            && counts[0] == counts[1]
            && counts[0] >= 10,
        "{stdout}"
    );
}

/// The image's paths agree: the ENTRYPOINT is where the script is copied,
/// the script is executable, and its default `TORRIX_BIN` is where the
/// binary is copied.
#[test]
fn dockerfile_paths_match_the_entrypoint() {
    use std::os::unix::fs::PermissionsExt;

    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dockerfile = std::fs::read_to_string(root.join("Dockerfile")).expect("read Dockerfile");
    // (source, destination) of every COPY.
    let copies: Vec<(&str, &str)> = dockerfile
        .lines()
        .filter_map(|l| l.strip_prefix("COPY "))
        .filter_map(|l| {
            let words: Vec<&str> = l
                .split_whitespace()
                .filter(|w| !w.starts_with("--"))
                .collect();
            Some((*words.first()?, *words.last()?))
        })
        .collect();
    let entrypoint = dockerfile
        .lines()
        .find_map(|l| l.strip_prefix("ENTRYPOINT "))
        .expect("an ENTRYPOINT");
    let entrypoint: Vec<String> = serde_json::from_str(entrypoint).expect("exec-form ENTRYPOINT");
    assert!(
        copies.contains(&("docker/entrypoint.sh", entrypoint[0].as_str())),
        "{entrypoint:?} is not where docker/entrypoint.sh is copied: {copies:?}"
    );
    let script = root.join("docker/entrypoint.sh");
    let mode = std::fs::metadata(&script)
        .expect("entrypoint exists")
        .permissions()
        .mode();
    assert!(mode & 0o111 != 0, "docker/entrypoint.sh is not executable");

    let text = std::fs::read_to_string(&script).expect("read entrypoint");
    let default_bin = text
        .split("${TORRIX_BIN:-")
        .nth(1)
        .and_then(|rest| rest.split('}').next())
        .expect("a TORRIX_BIN default");
    let binary = copies.iter().find(|(_, dest)| *dest == default_bin);
    assert!(
        binary.is_some(),
        "nothing is copied to TORRIX_BIN's default {default_bin}: {copies:?}"
    );
    assert!(dockerfile.contains("FROM rust:1-slim-bookworm AS builder"));
    assert!(dockerfile.contains("\nFROM debian:bookworm-slim\n"));
}
