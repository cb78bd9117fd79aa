//! [`DiskPool`]: the address of the Disk workers, sending each message to the
//! least busy one.
//!
//! Each worker is a [`Disk`] actor alone on its own arbiter (thread), so it may
//! block in file I/O and hashing without holding up anything else, and a
//! message goes from the sender's thread straight into the worker's mailbox.
//! (actix's `SyncArbiter` would route every message through a proxy actor on
//! the arbiter that started it, the engine's, waking that thread twice per
//! piece.)

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use actix::dev::ToEnvelope;
use actix::{Addr, Handler, MailboxError, Message};

use super::Disk;

/// One worker's address and how many of our messages it has not answered yet.
#[derive(Clone)]
struct Worker {
    addr: Addr<Disk>,
    queued: Arc<AtomicUsize>,
}

/// Decrements a worker's queue count when the reply arrives or the request is
/// dropped unanswered.
struct Queued(Arc<AtomicUsize>);

impl Drop for Queued {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The Disk workers; cheap to clone, shared by the engine, every torrent and
/// every peer. Returned by [`Disk::start`].
#[derive(Clone)]
pub struct DiskPool {
    workers: Arc<[Worker]>,
}

impl std::fmt::Debug for DiskPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DiskPool")
            .field("workers", &self.workers.len())
            .finish()
    }
}

impl DiskPool {
    pub(super) fn new(addrs: Vec<Addr<Disk>>) -> DiskPool {
        let workers = addrs
            .into_iter()
            .map(|addr| Worker {
                addr,
                queued: Arc::new(AtomicUsize::new(0)),
            })
            .collect();
        DiskPool { workers }
    }

    /// How many workers the pool has.
    pub fn threads(&self) -> usize {
        self.workers.len()
    }

    /// The worker with the fewest unanswered messages, its count raised.
    fn pick(&self) -> (&Addr<Disk>, Queued) {
        let worker = self
            .workers
            .iter()
            .min_by_key(|w| w.queued.load(Ordering::Relaxed))
            .expect("a pool has at least one worker");
        worker.queued.fetch_add(1, Ordering::Relaxed);
        (&worker.addr, Queued(Arc::clone(&worker.queued)))
    }

    /// Sends `msg` to the least busy worker; resolves to its reply, or to a
    /// [`MailboxError`] if the workers have stopped.
    pub fn send<M>(&self, msg: M) -> impl Future<Output = Result<M::Result, MailboxError>> + 'static
    where
        M: Message + Send + 'static,
        M::Result: Send,
        Disk: Handler<M>,
        <Disk as actix::Actor>::Context: ToEnvelope<Disk, M>,
    {
        let (addr, queued) = self.pick();
        let request = addr.send(msg);
        async move {
            let reply = request.await;
            drop(queued);
            reply
        }
    }

    /// Sends `msg` to the least busy worker without waiting for a reply.
    pub fn do_send<M>(&self, msg: M)
    where
        M: Message + Send + 'static,
        M::Result: Send,
        Disk: Handler<M>,
        <Disk as actix::Actor>::Context: ToEnvelope<Disk, M>,
    {
        let (addr, _queued) = self.pick();
        addr.do_send(msg);
    }
}
