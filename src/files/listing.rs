//! The listing of a directory without an index page: Python's
//! `list_directory`, as a table with each entry's size and modification
//! time.
//!
//! Names are shown HTML-escaped and linked percent-encoded, so no file name
//! can inject markup or turn its link into another scheme. A symbolic link
//! is marked `@`, and what it leads to is described only if it may be
//! served.

use super::conditional::Modified;
use super::path::{PATH_SEGMENT, Root, Target};
use crate::handler::{HandlerResult, Request};
use crate::status::html_escape_into;
use http::StatusCode;
use percent_encoding::percent_encode;
use rustix::fs::{AtFlags, FileType};
use std::ffi::OsStr;
use std::fmt::Write as _;
use std::io;
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;

/// Sends the listing page of the open directory `dir`, which `target`
/// names; 500 if it cannot be read. Unless `hidden`, dot-files,
/// dot-directories and links that lead to hidden things are left out.
pub(super) fn list_directory(
    r: &mut Request<'_>,
    root: &Root,
    dir: OwnedFd,
    target: &Target,
    hidden: bool,
) -> HandlerResult {
    let entries = match read_entries(root, &dir, target, hidden) {
        Ok(entries) => entries,
        Err(e) => {
            let explain = format!("The directory could not be read: {e}");
            r.send_error_message(
                StatusCode::INTERNAL_SERVER_ERROR,
                Some("Cannot list directory"),
                Some(&explain),
            )?;
            return Ok(());
        }
    };
    let page = listing_page(&target.display_path(), &entries, !target.rel().is_empty());
    r.send_response(StatusCode::OK)?;
    r.send_header("Content-Type", "text/html; charset=utf-8")?;
    r.send_header("Content-Length", page.len())?;
    r.end_headers()?;
    io::Write::write_all(&mut r.wfile, page.as_bytes())?;
    Ok(())
}

/// The entries of an open directory, sorted as Python sorts them (by
/// lower-cased name), with what the listing shows of each; hidden ones
/// left out unless `hidden`.
fn read_entries(
    root: &Root,
    dir: &OwnedFd,
    target: &Target,
    hidden: bool,
) -> io::Result<Vec<Entry>> {
    let mut entries = Vec::new();
    for entry in rustix::fs::Dir::read_from(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_bytes();
        if name == b"." || name == b".." || (!hidden && name.first() == Some(&b'.')) {
            continue;
        }
        let name = name.to_vec();
        let name_os = OsStr::from_bytes(&name);
        let link = rustix::fs::statat(dir, name_os, AtFlags::SYMLINK_NOFOLLOW)
            .is_ok_and(|s| FileType::from_raw_mode(s.st_mode) == FileType::Symlink);
        if link && !hidden {
            // A link to a hidden file answers 404: it is not listed either.
            let rel = target.child(&name);
            if root
                .open(&rel)
                .is_ok_and(|fd| root.leads_to_hidden(&rel, &fd))
            {
                continue;
            }
        }
        let followed = rustix::fs::statat(dir, name_os, AtFlags::empty()).ok();
        let is_dir = followed
            .as_ref()
            .is_some_and(|s| FileType::from_raw_mode(s.st_mode) == FileType::Directory);
        // A link's target is described only if it may be served.
        let shown = if link && !root.follow_outside {
            followed.filter(|_| root.open(&target.child(&name)).is_ok())
        } else {
            followed
        };
        entries.push(Entry {
            name,
            is_dir,
            link,
            size: shown
                .as_ref()
                .filter(|_| !is_dir)
                .map(|s| u64::try_from(s.st_size).unwrap_or(0)),
            modified: shown.as_ref().map(Modified::of),
        });
    }
    entries.sort_by(|a, b| {
        let (la, lb) = (a.name.to_ascii_lowercase(), b.name.to_ascii_lowercase());
        la.cmp(&lb).then_with(|| a.name.cmp(&b.name))
    });
    Ok(entries)
}

/// One row of a directory listing.
struct Entry {
    name: Vec<u8>,
    is_dir: bool,
    link: bool,
    /// `None` for directories and for links whose target is not shown.
    size: Option<u64>,
    modified: Option<Modified>,
}

/// The listing page: Python's layout, with a table for sizes and times.
fn listing_page(path: &str, entries: &[Entry], parent: bool) -> String {
    let mut title = String::new();
    html_escape_into(&format!("Directory listing for {path}"), true, &mut title);
    let mut page = String::with_capacity(512 + entries.len() * 160);
    let _ = write!(
        page,
        "<!DOCTYPE HTML>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <title>{title}</title>\n</head>\n<body>\n<h1>{title}</h1>\n<hr>\n<table>\n\
         <tr><th>Name</th><th>Size</th><th>Last modified</th></tr>\n"
    );
    if parent {
        page.push_str("<tr><td><a href=\"../\">../</a></td><td></td><td></td></tr>\n");
    }
    for entry in entries {
        let mut display = String::from_utf8_lossy(&entry.name).into_owned();
        let mut href = percent_encode(&entry.name, PATH_SEGMENT).to_string();
        if entry.is_dir {
            display.push('/');
            href.push('/');
        }
        if entry.link {
            // Python marks links with `@`.
            display.push('@');
        }
        page.push_str("<tr><td><a href=\"");
        html_escape_into(&href, true, &mut page);
        page.push_str("\">");
        html_escape_into(&display, true, &mut page);
        page.push_str("</a></td><td>");
        match entry.size {
            Some(size) => {
                let _ = write!(page, "{size}");
            }
            None => page.push('-'),
        }
        page.push_str("</td><td>");
        match entry.modified {
            Some(m) => {
                let _ = write!(page, "{}", m.http_date());
            }
            None => page.push('-'),
        }
        page.push_str("</td></tr>\n");
    }
    page.push_str("</table>\n<hr>\n</body>\n</html>\n");
    page
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listing_escapes_names_and_encodes_links() {
        let entries = [
            Entry {
                name: b"<b>&\"x\".txt".to_vec(),
                is_dir: false,
                link: false,
                size: Some(3),
                modified: Some(Modified(0)),
            },
            Entry {
                name: b"javascript:alert(1)".to_vec(),
                is_dir: true,
                link: false,
                size: None,
                modified: None,
            },
        ];
        let page = listing_page("/<x>/", &entries, true);
        assert!(page.contains("<title>Directory listing for /&lt;x&gt;/</title>"));
        assert!(page.contains(
            "<a href=\"%3Cb%3E%26%22x%22.txt\">&lt;b&gt;&amp;&quot;x&quot;.txt</a></td><td>3</td>"
        ));
        assert!(page.contains("<a href=\"javascript%3Aalert%281%29/\">javascript:alert(1)/</a>"));
        assert!(page.contains("<a href=\"../\">../</a>"));
    }
}
