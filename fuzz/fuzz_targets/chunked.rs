//! `ChunkedDecoder` on arbitrary bytes.
//!
//! The first byte picks a piece size (1..=16) for feeding the rest in, a
//! `max_data` (0..=7), and whether body bytes are taken from `Chunk::Data`
//! or read straight from the input with `data_remaining`/`advance_data`.
//! Checks, besides "never panics": the body, the trailers, where the body
//! ends and the error (if any) are the same as when decoding everything at
//! once with `max_data = usize::MAX`; `consumed` never exceeds the input;
//! a data range is non-empty and lies in the consumed bytes; `NeedMore`
//! consumes everything; `End` comes with `is_done()`.
#![no_main]

use basehttp::proto::{Chunk, ChunkedDecoder, ProtoError};
use libfuzzer_sys::fuzz_target;

#[derive(Debug, Default, PartialEq)]
struct Outcome {
    body: Vec<u8>,
    trailers: Vec<u8>,
    /// Offset in the input just past the body, if it ended.
    end: Option<usize>,
    error: Option<ProtoError>,
}

fn decode(input: &[u8], piece: usize, max_data: usize, direct: bool) -> Outcome {
    let mut d = ChunkedDecoder::new();
    let mut out = Outcome::default();
    // input[pos..fed] has arrived and is not consumed yet.
    let (mut pos, mut fed) = (0, 0);
    loop {
        let avail = &input[pos..fed];
        let remaining = usize::try_from(d.data_remaining()).unwrap_or(usize::MAX);
        if direct && remaining > 0 && !avail.is_empty() {
            let n = avail.len().min(remaining).min(max_data.max(1));
            out.body.extend_from_slice(&avail[..n]);
            d.advance_data(n as u64);
            pos += n;
        } else {
            match d.decode(avail, max_data) {
                Err(e) => {
                    out.error = Some(e);
                    return out;
                }
                Ok((n, chunk)) => {
                    assert!(n <= avail.len(), "consumed {n} of {}", avail.len());
                    match chunk {
                        Chunk::Data(r) => {
                            assert!(r.start < r.end && r.end <= n, "{r:?}, consumed {n}");
                            out.body.extend_from_slice(&avail[r]);
                        }
                        Chunk::NeedMore => assert_eq!(n, avail.len(), "NeedMore left input"),
                        Chunk::End => {
                            assert!(d.is_done());
                            out.end = Some(pos + n);
                            out.trailers = d.trailers().to_vec();
                            return out;
                        }
                    }
                    pos += n;
                }
            }
        }
        if pos == fed {
            if fed == input.len() {
                assert!(!d.is_done());
                return out;
            }
            fed = (fed + piece).min(input.len());
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&first, input)) = data.split_first() else {
        return;
    };
    let whole = decode(input, input.len(), usize::MAX, false);
    let piece = usize::from(first & 0x0f) + 1;
    let max_data = usize::from((first >> 4) & 0x07);
    let pieces = decode(input, piece, max_data, first & 0x80 != 0);
    assert_eq!(whole, pieces, "piece {piece}, max_data {max_data}");
});
