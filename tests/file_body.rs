//! `wfile.write_file`: file bodies by `sendfile(2)` when the length is known,
//! by the portable copy otherwise.

mod common;

use basehttp::{Handler, HandlerResult, Request};
use common::pattern;
use std::fs::File;
use std::io::Write;
use std::path::PathBuf;

const LEN: usize = 1 << 20;

/// Serves one file: `/whole` with its Content-Length, `/part` bytes 100..300,
/// `/streamed` without a Content-Length (so chunked).
struct FileHandler {
    path: PathBuf,
}

impl Handler for FileHandler {
    fn do_get(&self, r: &mut Request<'_>) -> HandlerResult {
        let file = File::open(&self.path)?;
        let len = file.metadata()?.len();
        r.send_response(200)?;
        match r.path {
            "/whole" => {
                r.send_header("Content-Length", len)?;
                r.end_headers()?;
                r.wfile.write_file(&file, 0, len)?;
            }
            "/part" => {
                r.send_header("Content-Length", 200)?;
                r.end_headers()?;
                r.wfile.write_file(&file, 100, 200)?;
            }
            _ => {
                r.end_headers()?;
                r.wfile.write_all(b"head:")?;
                r.wfile.write_file(&file, 0, len)?;
            }
        }
        Ok(())
    }
}

/// A file of known content, removed when dropped.
struct TempFile(PathBuf);

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn temp_file(name: &str) -> TempFile {
    let path = std::env::temp_dir().join(format!("basehttp-{name}-{}", std::process::id()));
    File::create(&path)
        .and_then(|mut f| f.write_all(&pattern(LEN)))
        .expect("write the test file");
    TempFile(path)
}

#[test]
fn file_bodies_arrive_whole_with_and_without_a_length() {
    let file = temp_file("file-body");
    let server = common::serve(FileHandler {
        path: file.0.clone(),
    });
    let mut c = server.connect();
    let whole = c.get("/whole");
    assert_eq!(whole.content_length(), Some(LEN));
    assert!(whole.body == pattern(LEN), "sendfile body differs");
    let part = c.get("/part");
    assert_eq!(part.body, pattern(LEN)[100..300]);
    let streamed = c.get("/unsized");
    assert!(streamed.is_chunked());
    assert_eq!(&streamed.body[..5], b"head:");
    assert!(streamed.body[5..] == pattern(LEN), "copied body differs");
    c.send(b"HEAD /whole HTTP/1.1\r\nHost: test\r\n\r\n");
    let head = c.read_response("HEAD").expect("HEAD response");
    assert_eq!(head.content_length(), Some(LEN));
    assert_eq!(
        c.get("/part").status,
        200,
        "the connection is still in step"
    );
}
