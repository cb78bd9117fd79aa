//! Resume across processes with the real `torrix` binary and a rate-limited
//! libtorrent seeder on loopback: `kill -9` mid-download, SIGTERM
//! mid-download, and files truncated or deleted between runs.

mod resume_support;

use std::fs::{self, OpenOptions};
use std::time::Duration;

use resume_support::{summary, wait_until, Payload, Seeder, Torrix, PIECE_LEN};

/// About 64 MiB in three files, none a multiple of the piece length.
const FILES: &[(&str, usize)] = &[
    ("a.bin", 24 * 1024 * 1024 + 12_345),
    ("b.bin", 20 * 1024 * 1024),
    ("sub/c.bin", 20 * 1024 * 1024 - 12_345),
];

/// Upload limit of the seeder in the interrupted-download tests: slow enough
/// that the download takes over ten seconds, so there is time to interrupt
/// it after the first periodic resume save (every 5 s).
const LIMIT: u64 = 5_000_000;

#[test]
fn kill9_mid_download_then_restart_fetches_only_the_rest() {
    let payload = Payload::new(FILES, 1);
    let seeder = Seeder::start(&payload, "127.0.0.2", LIMIT);
    let total = payload.total();

    let mut first = Torrix::download(&payload, &seeder, 1);
    // Wait until the resume data records about half of the payload.
    let mut at_kill = None;
    wait_until(
        "resume data with 45% verified",
        Duration::from_secs(90),
        || {
            assert!(first.running(), "torrix exited before it could be killed");
            at_kill = payload
                .resume()
                .filter(|d| payload.bytes_of(d) * 100 >= total * 45);
            at_kill.is_some()
        },
    );
    first.kill9();
    let saved = payload.bytes_of(&at_kill.unwrap());
    assert!(
        saved * 10 < total * 9,
        "the download went too fast to be interrupted ({saved} of {total} bytes saved)"
    );

    let second = Torrix::download(&payload, &seeder, 2).wait(Duration::from_secs(120));
    assert!(second.status.success(), "{second:#?}");
    let s = summary(&second);
    assert_eq!(s.verb, "downloaded");
    assert_eq!(s.verified, s.pieces);
    payload.assert_downloaded();
    // Pieces recorded in the resume data (and those verified after its last
    // save, found again by hashing) are not fetched again.
    assert!(
        s.received * 10 <= total * 6,
        "second run received {} of {total} bytes",
        s.received
    );
    assert!(
        s.received <= total - saved,
        "{} > {}",
        s.received,
        total - saved
    );
    eprintln!(
        "kill -9 at {saved} of {total} bytes saved; second run received {} bytes in {:.1?}",
        s.received, second.elapsed
    );
}

#[test]
fn sigterm_stops_cleanly_and_saves_resume_data() {
    let payload = Payload::new(FILES, 2);
    let seeder = Seeder::start(&payload, "127.0.0.3", LIMIT);
    let total = payload.total();

    let mut first = Torrix::download(&payload, &seeder, 1);
    // Stop once a periodic save shows progress, so there is data to keep.
    wait_until(
        "resume data with 10% verified",
        Duration::from_secs(90),
        || {
            assert!(first.running(), "torrix exited before SIGTERM");
            payload
                .resume()
                .is_some_and(|d| payload.bytes_of(&d) * 10 >= total)
        },
    );
    first.sigterm();
    let first = first.wait(Duration::from_secs(30));
    assert_eq!(first.status.code(), Some(0), "{first:#?}");
    let s1 = summary(&first);
    assert_eq!(s1.verb, "stopped after");
    assert!(s1.verified < s1.pieces, "finished before SIGTERM: {s1:?}");
    // The stop saved at least what the summary (taken just before it) saw.
    let saved = payload.resume().expect("resume data after SIGTERM");
    assert!(
        saved.have.count() >= s1.verified,
        "{} < {}",
        saved.have.count(),
        s1.verified
    );
    let saved_bytes = payload.bytes_of(&saved);

    let second = Torrix::download(&payload, &seeder, 2).wait(Duration::from_secs(120));
    assert!(second.status.success(), "{second:#?}");
    let s2 = summary(&second);
    assert_eq!(s2.verified, s2.pieces);
    payload.assert_downloaded();
    assert!(
        s2.received <= total - saved_bytes,
        "second run received {} bytes, only {} were missing",
        s2.received,
        total - saved_bytes
    );
    assert!(payload.resume().unwrap().have.is_full());
}

#[test]
fn truncated_and_deleted_files_are_fetched_again() {
    let payload = Payload::new(FILES, 3);
    let seeder = Seeder::start(&payload, "127.0.0.4", 0);
    let total = payload.total();
    let first = Torrix::download(&payload, &seeder, 1).wait(Duration::from_secs(120));
    assert!(first.status.success(), "{first:#?}");
    assert_eq!(summary(&first).received, total);
    payload.assert_downloaded();

    // A run with nothing changed trusts the resume data and receives nothing.
    let again = Torrix::download(&payload, &seeder, 2).wait(Duration::from_secs(60));
    assert!(again.status.success(), "{again:#?}");
    assert_eq!(summary(&again).received, 0);

    // Cut `a.bin` to a third, delete `sub/c.bin`.
    let a_len = FILES[0].1 as u64;
    let cut = a_len / 3;
    OpenOptions::new()
        .write(true)
        .open(payload.downloaded(0))
        .unwrap()
        .set_len(cut)
        .unwrap();
    fs::remove_file(payload.downloaded(2)).unwrap();

    let third = Torrix::download(&payload, &seeder, 3).wait(Duration::from_secs(120));
    assert!(third.status.success(), "{third:#?}");
    payload.assert_downloaded();
    // Exactly the pieces holding a lost byte are fetched again.
    let layout = &payload.layout;
    let c_start = total - FILES[2].1 as u64;
    let lost: u64 = (0..layout.piece_count())
        .filter(|&p| {
            let start = layout.piece_offset(p);
            let end = start + u64::from(layout.piece_len(p));
            (end > cut && start < a_len) || end > c_start
        })
        .map(|p| u64::from(layout.piece_len(p)))
        .sum();
    let received = summary(&third).received;
    assert_eq!(received, lost, "lost {lost} bytes of {total}");
    assert!(lost < total - 8 * u64::from(PIECE_LEN));
}
