//! The Torrent actor's side of [resume data](crate::resume): reading it to plan
//! the check on start, and saving it (snapshot, flush, stamp, write) while
//! the torrent runs.
//!
//! A save runs as a task detached from the actor (`actix::spawn`), so its
//! progress never depends on the actor being polled: `on_complete` may wait
//! for one with `ctx.wait`, which stops the actor's own futures. Saves of one
//! torrent are serialised by an async mutex, for two reasons: two `Flush`es of
//! the same storage must not overlap (the second could return before the
//! first one's `fdatasync` ended, and the resume file written after it would
//! then claim data not yet durable), and an older snapshot must never replace
//! a newer one: the mutex holds the sequence number of the last snapshot
//! written, and a save whose snapshot is older than that has nothing to add
//! (the verified set only grows) and writes nothing.

use std::future::Future;
use std::ops::Range;
use std::path::PathBuf;
use std::sync::Arc;

use actix::prelude::*;
use slog::{debug, info, warn};
use thiserror::Error;

use super::{Torrent, TorrentState};
use crate::disk::{DiskError, Finalize, Flush};
use crate::resume::{plan_check, CheckPlan, ResumeData, ResumeError};

/// A torrent's resume-data bookkeeping.
pub(super) struct ResumeState {
    /// The resume file.
    path: PathBuf,
    /// Held by the save in progress; holds the sequence number of the last
    /// snapshot written. See the module documentation.
    lock: Arc<tokio::sync::Mutex<u64>>,
    /// Sequence number of the last snapshot taken.
    snapshots: u64,
    /// Pieces were verified since the last snapshot.
    changed: bool,
    /// A periodic save is running (another is not started meanwhile).
    saving: bool,
    /// The last save failed and that was logged as a warning; repeats of the
    /// same failure are only logged at debug level.
    failing: bool,
}

impl ResumeState {
    /// State for a torrent whose resume file is `path`.
    pub(super) fn new(path: PathBuf) -> Self {
        ResumeState {
            path,
            lock: Arc::new(tokio::sync::Mutex::new(0)),
            snapshots: 0,
            changed: false,
            saving: false,
            failing: false,
        }
    }

    /// Notes that the verified set changed, so the next periodic save writes.
    pub(super) fn mark_changed(&mut self) {
        self.changed = true;
    }
}

/// Why a save did not complete.
#[derive(Debug, Error)]
pub(super) enum SaveError {
    /// The torrent's files could not be flushed: data written may not be
    /// durable, which is an error of the torrent itself.
    #[error(transparent)]
    Flush(DiskError),
    /// The files are flushed, but the resume file could not be written.
    #[error(transparent)]
    Resume(ResumeError),
    /// The disk pool or the runtime went away.
    #[error("the disk pool stopped")]
    Stopped,
}

impl Torrent {
    /// Reads the resume file and applies the trust rules to the files as they
    /// are now. Unusable resume data is logged and ignored (everything present
    /// is then hashed).
    pub(super) fn plan_check(&self) -> CheckPlan {
        let current = self.storage.file_metadata();
        let path = &self.resume.path;
        let resume = match ResumeData::load(path) {
            Ok(Some(data)) => match data.validate(&self.meta.info_hash, &self.shared.layout) {
                Ok(()) => Some(data),
                Err(e) => {
                    warn!(self.log, "ignoring resume data"; "path" => %path.display(), "error" => %e);
                    None
                }
            },
            Ok(None) => None,
            Err(e) => {
                warn!(self.log, "ignoring resume data"; "path" => %path.display(), "error" => %e);
                None
            }
        };
        let plan = plan_check(&self.shared.layout, &current, resume.as_ref());
        debug!(self.log, "check planned";
            "resume_data" => resume.is_some(),
            "trusted" => plan.trusted.count(),
            "to_hash" => plan.check.len());
        plan
    }

    /// Saves the pieces verified now: snapshot, then (in a detached task, once
    /// earlier saves are done) flush the files, read their stamps, write the
    /// resume file atomically. The future resolves when that is done.
    pub(super) fn save_resume(&mut self) -> impl Future<Output = Result<(), SaveError>> + 'static {
        self.resume.changed = false;
        self.resume.snapshots += 1;
        let seq = self.resume.snapshots;
        let have = self.picker.have().clone();
        let info_hash = self.meta.info_hash;
        let lock = Arc::clone(&self.resume.lock);
        let path = self.resume.path.clone();
        let storage = self.storage.clone();
        let disk = self.disk.clone();
        let task = actix::spawn(async move {
            let mut written = lock.lock().await;
            if *written > seq {
                return Ok(());
            }
            // A complete torrent also gets its zero-length files created.
            let flushed = if have.is_full() {
                disk.send(Finalize {
                    storage: storage.clone(),
                })
                .await
            } else {
                disk.send(Flush {
                    storage: storage.clone(),
                })
                .await
            };
            flushed
                .map_err(|_| SaveError::Stopped)?
                .map_err(SaveError::Flush)?;
            // Stamps are read only after the flush: see the module docs of
            // `crate::resume` for why this order is the safe one.
            actix_rt::task::spawn_blocking(move || {
                let files = crate::resume::FileStamp::from_metadata(&storage.file_metadata());
                ResumeData {
                    info_hash,
                    have,
                    files,
                }
                .save(&path)
            })
            .await
            .map_err(|_| SaveError::Stopped)?
            .map_err(SaveError::Resume)?;
            *written = seq;
            Ok(())
        });
        async move { task.await.unwrap_or(Err(SaveError::Stopped)) }
    }

    /// Records a save's outcome. A resume file that could not be written is
    /// logged (once per run of failures) and retried at the next interval;
    /// it is not an error of the torrent, whose data is flushed. Returns an
    /// error only if the data itself may not be durable.
    pub(super) fn finish_save(&mut self, result: Result<(), SaveError>) -> Result<(), String> {
        match result {
            Ok(()) => {
                if std::mem::take(&mut self.resume.failing) {
                    info!(self.log, "resume data saved again");
                }
                Ok(())
            }
            Err(SaveError::Resume(e)) => {
                self.resume.changed = true;
                if std::mem::replace(&mut self.resume.failing, true) {
                    debug!(self.log, "resume data still not saved"; "error" => %e);
                } else {
                    warn!(self.log, "resume data not saved; will retry"; "error" => %e);
                }
                Ok(())
            }
            Err(e) => Err(e.to_string()),
        }
    }

    /// The periodic save: only if pieces were verified since the last one and
    /// no periodic save is still running; never while checking (nothing is
    /// written then, so the file on disk is still accurate).
    pub(super) fn save_resume_if_changed(&mut self, ctx: &mut Context<Self>) {
        if !self.resume.changed
            || self.resume.saving
            || matches!(self.state, TorrentState::Checking { .. })
        {
            return;
        }
        self.resume.saving = true;
        self.save_resume()
            .into_actor(self)
            .map(|result, act, ctx| {
                act.resume.saving = false;
                if let Err(error) = act.finish_save(result) {
                    if act.active() {
                        act.fail(error, ctx);
                    }
                }
            })
            .spawn(ctx);
    }
}

/// Cuts ascending piece indices into ranges of consecutive pieces, each at
/// most `max` long (at least 1), for [`CheckPieces`](crate::disk::CheckPieces).
pub(super) fn piece_ranges(pieces: &[u32], max: u32) -> Vec<Range<u32>> {
    let max = max.max(1);
    let mut ranges: Vec<Range<u32>> = Vec::new();
    for &piece in pieces {
        match ranges.last_mut() {
            Some(r) if r.end == piece && r.end - r.start < max => r.end += 1,
            _ => ranges.push(piece..piece.saturating_add(1)),
        }
    }
    ranges
}

#[cfg(test)]
mod tests {
    use super::piece_ranges;

    #[test]
    fn ranges_split_runs_and_gaps() {
        assert!(piece_ranges(&[], 4).is_empty());
        assert_eq!(
            piece_ranges(&[0, 1, 2, 3, 4, 5, 9, 11, 12], 4),
            [0..4, 4..6, 9..10, 11..13]
        );
        assert_eq!(piece_ranges(&[7, 8], 0), [7..8, 8..9]);
    }
}
