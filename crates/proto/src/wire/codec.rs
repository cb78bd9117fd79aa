//! Streaming decoder and encoder for [`Message`]s.

use bytes::{Buf, BufMut, BytesMut};

use super::{Message, MessageId, WireError};
use crate::layout::{BlockRef, BLOCK_LEN};

/// A default bound on a message's length: a 16 KiB block plus its header, or a
/// bitfield of a torrent with about a million pieces, whichever is larger.
pub const DEFAULT_MAX_MESSAGE_LEN: u32 = 128 * 1024 + 16;

/// Turns a byte stream into [`Message`]s.
///
/// Feed it the receive buffer after the handshake; each call takes at most one
/// whole message off the front and leaves partial ones in place. A length
/// prefix above the maximum is refused as soon as its four bytes arrive, so a
/// hostile peer can never make us buffer more than `max_message_len` bytes.
#[derive(Clone, Debug)]
pub struct Decoder {
    max_message_len: u32,
}

impl Default for Decoder {
    fn default() -> Self {
        Decoder::new(DEFAULT_MAX_MESSAGE_LEN)
    }
}

impl Decoder {
    /// A decoder that refuses messages longer than `max_message_len` bytes
    /// (length prefix excluded). Should be at least [`BLOCK_LEN`] + 9.
    pub fn new(max_message_len: u32) -> Self {
        Decoder { max_message_len }
    }

    /// The configured bound.
    pub fn max_message_len(&self) -> u32 {
        self.max_message_len
    }

    /// How many more bytes the next message needs before it can be decoded
    /// (0 if one is ready). Lets the caller size its next read.
    pub fn bytes_wanted(&self, buf: &[u8]) -> usize {
        if buf.len() < 4 {
            return 4 - buf.len();
        }
        let len = u32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]) as usize;
        (4 + len.min(self.max_message_len as usize)).saturating_sub(buf.len())
    }

    /// Takes one message off the front of `buf`. `Ok(None)`: not enough bytes
    /// yet (the buffer is reserved for the rest). `Err`: the peer broke the
    /// protocol; the buffer's contents are then unspecified.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Message>, WireError> {
        if buf.len() < 4 {
            return Ok(None);
        }
        let len = u32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]);
        if len > self.max_message_len {
            return Err(WireError::MessageTooLong {
                len,
                max: self.max_message_len,
            });
        }
        let frame_len = 4 + len as usize;
        if buf.len() < frame_len {
            buf.reserve(frame_len - buf.len());
            return Ok(None);
        }
        if len == 0 {
            buf.advance(4);
            return Ok(Some(Message::KeepAlive));
        }
        let id_byte = buf[4];
        let Some(id) = MessageId::from_u8(id_byte) else {
            return Err(WireError::UnknownMessageId(id_byte));
        };
        let payload_len = len - 1;
        let expect = |want: u32| {
            if payload_len == want {
                Ok(())
            } else {
                Err(WireError::BadPayloadLength {
                    id,
                    len: payload_len,
                })
            }
        };
        match id {
            MessageId::Choke
            | MessageId::Unchoke
            | MessageId::Interested
            | MessageId::NotInterested
            | MessageId::HaveAll
            | MessageId::HaveNone => expect(0)?,
            MessageId::Have | MessageId::Suggest | MessageId::AllowedFast => expect(4)?,
            MessageId::Request | MessageId::Cancel | MessageId::Reject => expect(12)?,
            MessageId::Port => expect(2)?,
            MessageId::Piece if payload_len < 8 => {
                return Err(WireError::BadPayloadLength {
                    id,
                    len: payload_len,
                })
            }
            MessageId::Extended if payload_len < 1 => {
                return Err(WireError::BadPayloadLength {
                    id,
                    len: payload_len,
                })
            }
            MessageId::Piece | MessageId::Extended | MessageId::Bitfield => {}
        }
        let mut frame = buf.split_to(frame_len);
        frame.advance(5);
        let msg = match id {
            MessageId::Choke => Message::Choke,
            MessageId::Unchoke => Message::Unchoke,
            MessageId::Interested => Message::Interested,
            MessageId::NotInterested => Message::NotInterested,
            MessageId::HaveAll => Message::HaveAll,
            MessageId::HaveNone => Message::HaveNone,
            MessageId::Have => Message::Have {
                piece: frame.get_u32(),
            },
            MessageId::Suggest => Message::Suggest {
                piece: frame.get_u32(),
            },
            MessageId::AllowedFast => Message::AllowedFast {
                piece: frame.get_u32(),
            },
            MessageId::Request => Message::Request(block_ref(&mut frame)),
            MessageId::Cancel => Message::Cancel(block_ref(&mut frame)),
            MessageId::Reject => Message::Reject(block_ref(&mut frame)),
            MessageId::Port => Message::Port(frame.get_u16()),
            MessageId::Bitfield => Message::Bitfield(frame.freeze()),
            MessageId::Piece => {
                let piece = frame.get_u32();
                let offset = frame.get_u32();
                Message::Piece {
                    piece,
                    offset,
                    data: frame.freeze(),
                }
            }
            MessageId::Extended => {
                let ext = frame.get_u8();
                Message::Extended {
                    id: ext,
                    payload: frame.freeze(),
                }
            }
        };
        Ok(Some(msg))
    }
}

fn block_ref(frame: &mut BytesMut) -> BlockRef {
    BlockRef {
        piece: frame.get_u32(),
        offset: frame.get_u32(),
        len: frame.get_u32(),
    }
}

/// Appends `msg` in wire form to `buf`.
///
/// For `piece` messages on the upload path, prefer [`encode_piece_header`] and
/// send the data `Bytes` alongside, which avoids copying the block.
pub fn encode(msg: &Message, buf: &mut BytesMut) {
    buf.reserve(msg.wire_len());
    let Some(id) = msg.id() else {
        buf.put_u32(0);
        return;
    };
    buf.put_u32((msg.wire_len() - 4) as u32);
    buf.put_u8(id as u8);
    match msg {
        Message::KeepAlive
        | Message::Choke
        | Message::Unchoke
        | Message::Interested
        | Message::NotInterested
        | Message::HaveAll
        | Message::HaveNone => {}
        Message::Have { piece } | Message::Suggest { piece } | Message::AllowedFast { piece } => {
            buf.put_u32(*piece)
        }
        Message::Bitfield(bits) => buf.put_slice(bits),
        Message::Request(b) | Message::Cancel(b) | Message::Reject(b) => {
            buf.put_u32(b.piece);
            buf.put_u32(b.offset);
            buf.put_u32(b.len);
        }
        Message::Piece {
            piece,
            offset,
            data,
        } => {
            buf.put_u32(*piece);
            buf.put_u32(*offset);
            buf.put_slice(data);
        }
        Message::Port(port) => buf.put_u16(*port),
        Message::Extended { id, payload } => {
            buf.put_u8(*id);
            buf.put_slice(payload);
        }
    }
}

/// Appends the 13-byte header of a `piece` message carrying `data_len` bytes;
/// the caller sends the data right after it (e.g. with a vectored write).
pub fn encode_piece_header(piece: u32, offset: u32, data_len: u32, buf: &mut BytesMut) {
    buf.reserve(13);
    buf.put_u32(9 + data_len);
    buf.put_u8(MessageId::Piece as u8);
    buf.put_u32(piece);
    buf.put_u32(offset);
}

const _: () = assert!(DEFAULT_MAX_MESSAGE_LEN >= BLOCK_LEN + 9);

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn all_messages() -> Vec<Message> {
        let b = BlockRef {
            piece: 3,
            offset: 16384,
            len: 16384,
        };
        vec![
            Message::KeepAlive,
            Message::Choke,
            Message::Unchoke,
            Message::Interested,
            Message::NotInterested,
            Message::Have { piece: 42 },
            Message::Bitfield(Bytes::from_static(&[0xff, 0x80])),
            Message::Request(b),
            Message::Piece {
                piece: 1,
                offset: 0,
                data: Bytes::from(vec![9u8; 100]),
            },
            Message::Cancel(b),
            Message::Port(6881),
            Message::Suggest { piece: 5 },
            Message::HaveAll,
            Message::HaveNone,
            Message::Reject(b),
            Message::AllowedFast { piece: 8 },
            Message::Extended {
                id: 0,
                payload: Bytes::from_static(b"d1:md6:ut_pexi1eee"),
            },
        ]
    }

    #[test]
    fn every_message_round_trips_one_by_one_and_streamed() {
        let mut decoder = Decoder::default();
        let mut stream = BytesMut::new();
        for msg in all_messages() {
            let mut buf = BytesMut::new();
            encode(&msg, &mut buf);
            assert_eq!(buf.len(), msg.wire_len());
            stream.extend_from_slice(&buf);
            assert_eq!(decoder.decode(&mut buf), Ok(Some(msg.clone())));
            assert!(buf.is_empty());
        }
        // Fed one byte at a time, the same messages come out in order.
        let mut buf = BytesMut::new();
        let mut out = Vec::new();
        for byte in stream {
            buf.put_u8(byte);
            while let Some(msg) = decoder.decode(&mut buf).unwrap() {
                out.push(msg);
            }
        }
        assert_eq!(out, all_messages());
    }

    #[test]
    fn oversized_prefix_is_refused_before_the_body_arrives() {
        let mut decoder = Decoder::new(1000);
        let mut buf = BytesMut::from(&[0, 0, 3, 233][..]); // 1001
        assert_eq!(
            decoder.decode(&mut buf),
            Err(WireError::MessageTooLong {
                len: 1001,
                max: 1000
            })
        );
        let mut buf = BytesMut::from(&[0xff, 0xff, 0xff, 0xff][..]);
        assert!(matches!(
            decoder.decode(&mut buf),
            Err(WireError::MessageTooLong { .. })
        ));
    }

    #[test]
    fn malformed_payloads_are_typed_errors() {
        let mut d = Decoder::default();
        let cases: &[(&[u8], WireError)] = &[
            (
                &[0, 0, 0, 2, 0, 0],
                WireError::BadPayloadLength {
                    id: MessageId::Choke,
                    len: 1,
                },
            ),
            (
                &[0, 0, 0, 4, 4, 0, 0, 0],
                WireError::BadPayloadLength {
                    id: MessageId::Have,
                    len: 3,
                },
            ),
            (
                &[0, 0, 0, 5, 6, 0, 0, 0, 1],
                WireError::BadPayloadLength {
                    id: MessageId::Request,
                    len: 4,
                },
            ),
            (
                &[0, 0, 0, 5, 7, 0, 0, 0, 1],
                WireError::BadPayloadLength {
                    id: MessageId::Piece,
                    len: 4,
                },
            ),
            (
                &[0, 0, 0, 1, 20],
                WireError::BadPayloadLength {
                    id: MessageId::Extended,
                    len: 0,
                },
            ),
            (
                &[0, 0, 0, 2, 9, 1],
                WireError::BadPayloadLength {
                    id: MessageId::Port,
                    len: 1,
                },
            ),
            (&[0, 0, 0, 1, 99], WireError::UnknownMessageId(99)),
        ];
        for (bytes, err) in cases {
            let mut buf = BytesMut::from(*bytes);
            assert_eq!(d.decode(&mut buf).as_ref(), Err(err), "{bytes:?}");
        }
    }

    #[test]
    fn partial_message_reserves_and_waits() {
        let mut d = Decoder::default();
        let mut buf = BytesMut::from(&[0, 0, 0x40, 0x09, 7, 0, 0][..]);
        assert_eq!(d.decode(&mut buf), Ok(None));
        assert_eq!(buf.len(), 7);
        assert!(buf.capacity() >= 4 + 0x4009);
        assert_eq!(d.bytes_wanted(&buf), 4 + 0x4009 - 7);
    }

    #[test]
    fn piece_payload_shares_the_receive_buffer() {
        let mut d = Decoder::default();
        let mut buf = BytesMut::new();
        let data = Bytes::from(vec![5u8; 16384]);
        encode(
            &Message::Piece {
                piece: 2,
                offset: 16384,
                data,
            },
            &mut buf,
        );
        let base = buf.as_ptr() as usize;
        match d.decode(&mut buf).unwrap().unwrap() {
            Message::Piece { data, .. } => assert_eq!(data.as_ptr() as usize, base + 13),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn piece_header_matches_full_encoding() {
        let data = Bytes::from_static(b"abcdef");
        let mut full = BytesMut::new();
        encode(
            &Message::Piece {
                piece: 9,
                offset: 32,
                data: data.clone(),
            },
            &mut full,
        );
        let mut header = BytesMut::new();
        encode_piece_header(9, 32, data.len() as u32, &mut header);
        header.extend_from_slice(&data);
        assert_eq!(full, header);
    }
}
