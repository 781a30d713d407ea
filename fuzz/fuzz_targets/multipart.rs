//! The multipart reader on arbitrary bodies: it must never panic, never
//! yield more bytes than it was given, and give the same parts (or the same
//! error) whether the body arrives whole or in small pieces.
//!
//! The first input byte picks the piece size (1 to 16 bytes); the rest is
//! the body, read with the boundary `XyZ`.

#![no_main]

use basehttp::form::{FormConfig, MultipartReader};
use libfuzzer_sys::fuzz_target;
use std::io::Read;

/// Gives its data `n` bytes at a time.
struct Pieces<'a> {
    data: &'a [u8],
    n: usize,
}

impl Read for Pieces<'_> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let n = self.n.min(out.len()).min(self.data.len());
        out[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

/// Every part as (name, filename, content type, body), or the error text.
fn parse<R: Read>(src: R, config: &FormConfig) -> Result<Vec<String>, String> {
    let mut reader = MultipartReader::new(src, "XyZ", config).map_err(|e| e.to_string())?;
    let mut parts = Vec::new();
    while let Some(mut part) = reader.next_part().map_err(|e| e.to_string())? {
        let mut body = Vec::new();
        part.read_to_end(&mut body).map_err(|e| e.to_string())?;
        let h = part.headers();
        parts.push(format!(
            "{:?} {:?} {:?} {:?}",
            h.name(),
            h.filename(),
            h.content_type(),
            body
        ));
    }
    Ok(parts)
}

fuzz_target!(|data: &[u8]| {
    let Some((&first, body)) = data.split_first() else {
        return;
    };
    let config = FormConfig {
        max_header_size: 1024,
        max_num_fields: Some(64),
        ..FormConfig::default()
    };
    let whole = parse(body, &config);
    let pieces = parse(
        Pieces {
            data: body,
            n: usize::from(first % 16) + 1,
        },
        &config,
    );
    assert_eq!(whole, pieces, "whole and piecewise reads disagree");
    if let Ok(parts) = whole {
        assert!(parts.len() <= 64);
    }
});
