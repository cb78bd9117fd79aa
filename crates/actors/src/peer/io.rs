//! Socket I/O for a peer connection: a zero-copy message stream for reading and
//! a vectored writer for sending.
//!
//! Reads land in a `BytesMut` that is reserved in large chunks, so many blocks
//! share one allocation; the decoder hands out `piece` payloads as `Bytes`
//! slices of it, which go on to the disk without being copied.

use std::collections::VecDeque;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Buf, Bytes, BytesMut};
use futures_util::Stream;
use tokio::io::AsyncWriteExt;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use torrix_proto::wire::{Decoder, Message, WireError};

/// Bytes reserved at a time for socket reads.
const READ_CHUNK: usize = 256 * 1024;
/// Below this much spare capacity a new chunk is reserved before reading.
const MIN_READ_SPACE: usize = 32 * 1024;

/// Why the connection's read side ended.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The socket failed.
    #[error("read failed: {0}")]
    Io(#[from] io::Error),
    /// The peer broke the protocol.
    #[error("protocol violation: {0}")]
    Protocol(#[from] WireError),
}

/// The decoded messages arriving on a connection.
pub struct MessageStream {
    reader: OwnedReadHalf,
    buf: BytesMut,
    decoder: Decoder,
    failed: bool,
}

impl MessageStream {
    /// Wraps the read half of an established connection (after the handshake).
    pub fn new(reader: OwnedReadHalf, max_message_len: u32) -> Self {
        MessageStream {
            reader,
            buf: BytesMut::with_capacity(READ_CHUNK),
            decoder: Decoder::new(max_message_len),
            failed: false,
        }
    }
}

impl Stream for MessageStream {
    type Item = Result<Message, ReadError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.failed {
            return Poll::Ready(None);
        }
        loop {
            match this.decoder.decode(&mut this.buf) {
                Ok(Some(msg)) => return Poll::Ready(Some(Ok(msg))),
                Ok(None) => {}
                Err(e) => {
                    this.failed = true;
                    return Poll::Ready(Some(Err(e.into())));
                }
            }
            if this.buf.capacity() - this.buf.len() < MIN_READ_SPACE {
                this.buf.reserve(READ_CHUNK);
            }
            match tokio_util::io::poll_read_buf(Pin::new(&mut this.reader), cx, &mut this.buf) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Ok(0)) => return Poll::Ready(None),
                Poll::Ready(Ok(_)) => {}
                Poll::Ready(Err(e)) => {
                    this.failed = true;
                    return Poll::Ready(Some(Err(e.into())));
                }
            }
        }
    }
}

/// Most buffers handed to one `writev`.
const MAX_IOV: usize = 64;

/// Writes every buffer of `queue` to the socket with vectored writes, then
/// hands back the writer and the emptied queue (so the actor can keep both,
/// and their allocations, while no write is running).
pub async fn write_all(
    mut writer: OwnedWriteHalf,
    mut queue: VecDeque<Bytes>,
) -> (OwnedWriteHalf, VecDeque<Bytes>, io::Result<()>) {
    while !queue.is_empty() {
        let written = {
            let slices: Vec<IoSlice<'_>> = queue
                .iter()
                .take(MAX_IOV)
                .map(|b| IoSlice::new(b))
                .collect();
            match writer.write_vectored(&slices).await {
                Ok(0) => return (writer, queue, Err(io::ErrorKind::WriteZero.into())),
                Ok(n) => n,
                Err(e) => return (writer, queue, Err(e)),
            }
        };
        let mut left = written;
        while left > 0 {
            let front = queue
                .front_mut()
                .expect("written bytes came from the queue");
            if front.len() <= left {
                left -= front.len();
                queue.pop_front();
            } else {
                front.advance(left);
                left = 0;
            }
        }
    }
    (writer, queue, Ok(()))
}
