//! The seed's `BaseHTTPServer_POST.py`: echo a posted form.
//! `cargo run --example post [-- HOST:PORT]`
//!
//! `GET` answers an HTML page with a form (a text field and a file field)
//! that posts back here, to try from a browser. `POST` of
//! `multipart/form-data` or `application/x-www-form-urlencoded` answers
//! `Client:`, `Path:`, `Form data:` and one line per field, in the order
//! sent:
//!
//! ```text
//! $ curl http://127.0.0.1:8080/ -F name=dhellmann -F foo=bar -F datafile=@examples/get.rs
//! Client: 127.0.0.1:51128
//! Path: /
//! Form data:
//!     name=dhellmann
//!     foo=bar
//!     Uploaded datafile (1671 bytes)
//! ```
//!
//! (Each field line starts with a tab.) Where Python's `cgi.FieldStorage`
//! reads an uploaded file whole into memory to count it, this streams it
//! through [`MultipartReader`]: any size is counted in constant memory and
//! nothing is written to disk. Limits: each file up to 2 GiB, each text field
//! up to 1 MiB (16 MiB of text in all), the whole body up to 4 GiB; beyond
//! them the answer is 413. A file field left empty in a browser (it sends an
//! empty file name and no bytes) shows as `Uploaded datafile (0 bytes)`,
//! where the seed's Python would print `datafile=`.

mod common;

use basehttp::form::{FormConfig, FormError, FormKind, Limit, MultipartReader, read_urlencoded};
use basehttp::{Handler, HandlerResult, Request, ThreadingHttpServer};
use std::io::Write;

/// Largest uploaded file: 2 GiB.
const MAX_FILE_SIZE: u64 = 2 << 30;
/// Largest text field: 1 MiB.
const MAX_FIELD_SIZE: u64 = 1 << 20;
/// Largest request body: 4 GiB.
const MAX_BODY_SIZE: u64 = 4 << 30;

/// The page `GET` answers: a form that posts back to the same URL.
const FORM_PAGE: &str = r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>basehttp: post a form</title>
</head>
<body>
<h1>Post a form</h1>
<form method="post" enctype="multipart/form-data">
<p><label>Name: <input type="text" id="name" name="name"></label></p>
<p><label>File: <input type="file" id="datafile" name="datafile"></label></p>
<p><button type="submit" id="submit">Send</button></p>
</form>
</body>
</html>
"#;

struct PostHandler {
    config: FormConfig,
}

impl Handler for PostHandler {
    fn do_get(&self, r: &mut Request<'_>) -> HandlerResult {
        r.send_response(200)?;
        r.send_header("Content-Type", "text/html; charset=utf-8")?;
        r.end_headers()?;
        r.wfile.write_all(FORM_PAGE.as_bytes())?;
        Ok(())
    }

    fn do_post(&self, r: &mut Request<'_>) -> HandlerResult {
        // Parse the form data posted.
        let fields = match read_form(r, &self.config) {
            Ok(fields) => fields,
            Err(e) => return e.respond(r),
        };

        // Begin the response.
        r.send_response(200)?;
        r.send_header("Content-Type", "text/plain; charset=utf-8")?;
        r.end_headers()?;
        let mut out = format!(
            "Client: {}\nPath: {}\nForm data:\n",
            r.client_address, r.path
        );
        // Echo back information about what was posted in the form.
        for line in fields {
            out.push('\t');
            out.push_str(&line);
            out.push('\n');
        }
        r.wfile.write_all(out.as_bytes())?;
        Ok(())
    }
}

/// Reads the posted form into one line per field: `NAME=VALUE`, or
/// `Uploaded NAME (N bytes)` for a file, whose bytes are counted and dropped.
fn read_form(r: &mut Request<'_>, config: &FormConfig) -> Result<Vec<String>, FormError> {
    if let (Some(len), Some(max)) = (r.rfile.content_length(), config.max_body_size)
        && len > max
    {
        // Refused before reading, so a client that sent
        // `Expect: 100-continue` never sends the body.
        return Err(FormError::TooLarge {
            limit: Limit::Body,
            max,
        });
    }
    let content_type = r.headers.get("Content-Type").unwrap_or("");
    let mut lines = Vec::new();
    match FormKind::from_content_type(content_type)? {
        FormKind::Urlencoded => {
            for (name, value) in read_urlencoded(&mut r.rfile, config)? {
                lines.push(format!("{name}={value}"));
            }
        }
        FormKind::Multipart { boundary } => {
            let mut reader = MultipartReader::new(&mut r.rfile, &boundary, config)?;
            let mut text_bytes = 0;
            while let Some(mut part) = reader.next_part()? {
                let name = part.headers().name().to_owned();
                if part.headers().is_file() {
                    let size = part.copy_to(&mut std::io::sink(), config.max_file_size)?;
                    lines.push(format!("Uploaded {name} ({size} bytes)"));
                } else {
                    let value = part.read_text(config.max_field_size)?;
                    text_bytes += value.len() as u64;
                    if text_bytes > config.max_memory_size {
                        return Err(FormError::TooLarge {
                            limit: Limit::Memory,
                            max: config.max_memory_size,
                        });
                    }
                    lines.push(format!("{name}={value}"));
                }
            }
        }
    }
    Ok(lines)
}

fn main() -> std::io::Result<()> {
    let address = common::address_from_args();
    let handler = PostHandler {
        config: FormConfig {
            max_body_size: Some(MAX_BODY_SIZE),
            max_file_size: Some(MAX_FILE_SIZE),
            max_field_size: MAX_FIELD_SIZE,
            // Every field is echoed, blank ones too.
            keep_blank_values: true,
            ..FormConfig::default()
        },
    };
    let server: ThreadingHttpServer<_> = common::bind(&address, handler);
    common::run(server)
}
