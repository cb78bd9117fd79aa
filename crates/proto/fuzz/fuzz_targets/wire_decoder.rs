//! Fuzzes the peer wire decoder: arbitrary bytes, split into arbitrary
//! chunks, must never panic, and neither must the handshake and extension
//! handshake parsers.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use torrix_proto::wire::{Decoder, ExtensionHandshake, Handshake};

/// Small enough that the fuzzer can reach the length limit.
const MAX_MESSAGE_LEN: u32 = 1 << 16;

fuzz_target!(|data: &[u8]| {
    let _ = Handshake::parse(data);
    let _ = Handshake::decode(&mut BytesMut::from(data));
    let _ = ExtensionHandshake::decode(data);

    // The first byte picks a chunk size, so messages get split at every
    // possible boundary across runs.
    let Some((&chunk, rest)) = data.split_first() else {
        return;
    };
    let chunk = usize::from(chunk).max(1);
    let mut decoder = Decoder::new(MAX_MESSAGE_LEN);
    let mut buf = BytesMut::new();
    for piece in rest.chunks(chunk) {
        buf.extend_from_slice(piece);
        loop {
            match decoder.decode(&mut buf) {
                Ok(Some(_message)) => {}
                Ok(None) => break,
                // A protocol error ends the connection; nothing more to decode.
                Err(_) => return,
            }
        }
    }
});
