//! The chunked-body decoder on arbitrary bytes.
//!
//! Checks, besides "never panics": decoding in pieces of a size taken from
//! the first byte, with a small `max_data`, gives the same body, the same
//! end and the same error as decoding everything at once; `consumed` never
//! exceeds the input and data ranges lie inside it.
#![no_main]

use basehttp::proto::{Chunk, ChunkedDecoder, ProtoError};
use libfuzzer_sys::fuzz_target;

/// (body, bytes left after the end if it ended, error)
type Outcome = (Vec<u8>, Option<usize>, Option<ProtoError>);

fn decode(input: &[u8], piece: usize, max_data: usize) -> Outcome {
    let mut d = ChunkedDecoder::new();
    let mut body = Vec::new();
    let mut buf: Vec<u8> = Vec::new();
    let mut fed = 0;
    loop {
        let more = (fed + piece).min(input.len());
        buf.extend_from_slice(&input[fed..more]);
        fed = more;
        let mut at = 0;
        loop {
            match d.decode(&buf[at..], max_data) {
                Err(e) => return (body, None, Some(e)),
                Ok((n, chunk)) => {
                    assert!(n <= buf.len() - at, "consumed more than given");
                    match chunk {
                        Chunk::Data(r) => {
                            assert!(r.end <= n && r.start <= r.end);
                            body.extend_from_slice(&buf[at + r.start..at + r.end]);
                            at += n;
                        }
                        Chunk::NeedMore => {
                            assert_eq!(n, buf.len() - at, "NeedMore consumes everything");
                            at += n;
                            break;
                        }
                        Chunk::End => {
                            at += n;
                            assert!(d.is_done());
                            return (body, Some(buf.len() - at + input.len() - fed), None);
                        }
                    }
                }
            }
            if at == buf.len() {
                break;
            }
        }
        buf.drain(..at);
        if fed == input.len() {
            return (body, None, None);
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&first, input)) = data.split_first() else { return };
    let whole = decode(input, input.len().max(1), usize::MAX);
    let piece = usize::from(first % 16) + 1;
    let pieces = decode(input, piece, usize::from(first >> 4) + 1);
    assert_eq!(whole, pieces, "piece size {piece}");
});
