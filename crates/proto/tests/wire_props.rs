//! Property tests of the peer wire codec: encode then decode is the identity,
//! and no byte sequence makes the decoder panic or over-buffer.

use bytes::{Bytes, BytesMut};
use proptest::prelude::*;
use torrix_proto::wire::{encode, Decoder, Handshake, Message};
use torrix_proto::BlockRef;

fn block() -> impl Strategy<Value = BlockRef> {
    (any::<u32>(), any::<u32>(), any::<u32>()).prop_map(|(piece, offset, len)| BlockRef {
        piece,
        offset,
        len,
    })
}

fn payload(max: usize) -> impl Strategy<Value = Bytes> {
    proptest::collection::vec(any::<u8>(), 0..max).prop_map(Bytes::from)
}

fn message() -> impl Strategy<Value = Message> {
    prop_oneof![
        Just(Message::KeepAlive),
        Just(Message::Choke),
        Just(Message::Unchoke),
        Just(Message::Interested),
        Just(Message::NotInterested),
        Just(Message::HaveAll),
        Just(Message::HaveNone),
        any::<u32>().prop_map(|piece| Message::Have { piece }),
        any::<u32>().prop_map(|piece| Message::Suggest { piece }),
        any::<u32>().prop_map(|piece| Message::AllowedFast { piece }),
        payload(300).prop_map(Message::Bitfield),
        block().prop_map(Message::Request),
        block().prop_map(Message::Cancel),
        block().prop_map(Message::Reject),
        (any::<u32>(), any::<u32>(), payload(20_000)).prop_map(|(piece, offset, data)| {
            Message::Piece {
                piece,
                offset,
                data,
            }
        }),
        any::<u16>().prop_map(Message::Port),
        (any::<u8>(), payload(500)).prop_map(|(id, payload)| Message::Extended { id, payload }),
    ]
}

proptest! {
    #[test]
    fn encode_then_decode_is_identity(msgs in proptest::collection::vec(message(), 1..20), split in any::<prop::sample::Index>()) {
        let mut wire = BytesMut::new();
        for m in &msgs {
            encode(m, &mut wire);
        }
        // Deliver in two arbitrary chunks.
        let cut = split.index(wire.len() + 1);
        let second = wire.split_off(cut);
        let mut decoder = Decoder::default();
        let mut buf = BytesMut::new();
        let mut out = Vec::new();
        for chunk in [wire, second] {
            buf.extend_from_slice(&chunk);
            while let Some(m) = decoder.decode(&mut buf).unwrap() {
                out.push(m);
            }
        }
        prop_assert!(buf.is_empty());
        prop_assert_eq!(out, msgs);
    }

    #[test]
    fn arbitrary_bytes_never_panic_or_overbuffer(bytes in proptest::collection::vec(any::<u8>(), 0..4096), max in 0u32..70_000) {
        let mut decoder = Decoder::new(max);
        let mut buf = BytesMut::from(&bytes[..]);
        while let Ok(Some(_)) = decoder.decode(&mut buf) {}
        // Whatever was reserved for a pending message is bounded by the maximum.
        prop_assert!(buf.capacity() <= bytes.len().max(max as usize + 4) + 64);
    }

    #[test]
    fn arbitrary_handshake_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..100)) {
        let mut buf = BytesMut::from(&bytes[..]);
        let _ = Handshake::decode(&mut buf);
        let _ = Handshake::parse(&bytes);
    }
}
