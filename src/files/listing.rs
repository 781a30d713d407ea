//! The listing of a directory without an index page: Python's
//! `list_directory`, as a table with each entry's size and modification
//! time, made for people: breadcrumbs up to the root, directories first,
//! columns sortable by name, size and time through plain links
//! (`?sort=size&order=desc`; no script), sizes in KiB/MiB with the exact
//! byte count in a tooltip, right-aligned numbers, a viewport for phones and
//! a dark scheme when the system prefers one. One self-contained page: no
//! external assets.
//!
//! Names are shown HTML-escaped and linked percent-encoded, so no file name
//! can inject markup or turn its link into another scheme. A symbolic link
//! is marked `@`, and what it leads to is described only if it may be
//! served.
//!
//! Scripts get the same entries as JSON ([`wants_json`]): with `Accept:
//! application/json` or `?format=json`, an array of `{"name", "type",
//! "size", "modified"}` objects in the page's order. Both forms carry
//! `Vary: Accept`, so a cache keeps them apart.

use super::conditional::Modified;
use super::negotiate::prefers;
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
    upload_form: bool,
) -> HandlerResult {
    let mut entries = match read_entries(root, &dir, target, hidden) {
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
    let order = Order::from_query(target.query());
    order.sort(&mut entries);
    let (page, content_type) = if wants_json(r, target) {
        (listing_json(&entries), "application/json")
    } else {
        let parent = !target.rel().is_empty();
        let mut page = listing_page(&target.display_path(), &entries, parent, order);
        if upload_form {
            super::upload::add_form(&mut page);
        }
        (page, "text/html; charset=utf-8")
    };
    r.send_response(StatusCode::OK)?;
    r.send_header("Content-Type", content_type)?;
    r.send_header("Content-Length", page.len())?;
    // The answer depends on Accept (RFC 9110 §12.5.5).
    r.send_header("Vary", "Accept")?;
    r.end_headers()?;
    io::Write::write_all(&mut r.wfile, page.as_bytes())?;
    Ok(())
}

/// Whether the listing is asked for as JSON: `?format=json` in the query,
/// or an `Accept` that names `application/json` above `text/html`.
fn wants_json(r: &Request<'_>, target: &Target) -> bool {
    let by_query = target
        .query()
        .is_some_and(|q| q.split('&').any(|pair| pair == "format=json"));
    by_query || prefers(|| r.headers.get_all("Accept"), "application/json")
}

/// The entries of an open directory, unsorted, with what the listing
/// shows of each; hidden ones left out unless `hidden`.
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
        let temp = super::upload::is_temp_name(name);
        if name == b"." || name == b".." || temp || (!hidden && name.first() == Some(&b'.')) {
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

/// How a listing is ordered: `?sort=name|size|modified&order=asc|desc`.
/// Directories always come first; the default is by name, ascending (by
/// lower-cased name, as Python sorts).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Order {
    key: SortKey,
    descending: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SortKey {
    Name,
    Size,
    Modified,
}

impl SortKey {
    const ALL: [(SortKey, &'static str, &'static str); 3] = [
        (SortKey::Name, "name", "Name"),
        (SortKey::Size, "size", "Size"),
        (SortKey::Modified, "modified", "Last modified"),
    ];
}

impl Order {
    /// The order a query asks for; anything it does not understand is
    /// left at the default.
    fn from_query(query: Option<&str>) -> Order {
        let mut order = Order {
            key: SortKey::Name,
            descending: false,
        };
        for pair in query.unwrap_or("").split('&') {
            match pair {
                "sort=name" => order.key = SortKey::Name,
                "sort=size" => order.key = SortKey::Size,
                "sort=modified" => order.key = SortKey::Modified,
                "order=asc" => order.descending = false,
                "order=desc" => order.descending = true,
                _ => {}
            }
        }
        order
    }

    /// Sorts entries: directories first, then by the key (name breaking
    /// ties), reversed for `desc`.
    fn sort(self, entries: &mut [Entry]) {
        entries.sort_by(|a, b| {
            let by_key = match self.key {
                SortKey::Name => std::cmp::Ordering::Equal,
                SortKey::Size => a.size.cmp(&b.size),
                SortKey::Modified => a.modified.map(|m| m.0).cmp(&b.modified.map(|m| m.0)),
            };
            let by_name = || {
                let (la, lb) = (a.name.to_ascii_lowercase(), b.name.to_ascii_lowercase());
                la.cmp(&lb).then_with(|| a.name.cmp(&b.name))
            };
            let within = by_key.then_with(by_name);
            b.is_dir.cmp(&a.is_dir).then(if self.descending {
                within.reverse()
            } else {
                within
            })
        });
    }

    /// The query of a column header's link: the other direction for the
    /// column in use, else that column in its most useful direction
    /// (names A to Z, sizes and times largest and newest first).
    fn link(self, key: SortKey, name: &str) -> String {
        let descending = if key == self.key {
            !self.descending
        } else {
            key != SortKey::Name
        };
        format!(
            "?sort={name}&order={}",
            if descending { "desc" } else { "asc" }
        )
    }
}

/// A size for people: bytes below 1 KiB, else one decimal in KiB, MiB,
/// GiB or TiB (powers of 1024).
fn human_size(size: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if size < 1024 {
        return format!("{size} B");
    }
    let mut value = size as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// The page's style: readable on a phone, numbers right-aligned, a dark
/// scheme when the system asks for one; no external assets, no script.
const STYLE: &str = "\
:root{color-scheme:light dark;--fg:#1b1b1b;--bg:#fff;--muted:#666;--line:#ddd;--link:#0550ae}\n\
@media (prefers-color-scheme:dark){:root{--fg:#e6e6e6;--bg:#161616;--muted:#9a9a9a;--line:#333;--link:#79b8ff}}\n\
body{font:15px/1.45 system-ui,sans-serif;color:var(--fg);background:var(--bg);margin:0 auto;padding:1em;max-width:60em}\n\
h1{font-size:1.3em;word-break:break-all}\n\
a{color:var(--link);text-decoration:none}a:hover{text-decoration:underline}\n\
nav{margin:.5em 0;word-break:break-all}nav a+a::before,nav a+span::before{content:\" \"}\n\
table{border-collapse:collapse;width:100%}\n\
th,td{padding:.3em .6em;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}\n\
td:first-child{word-break:break-all}\n\
.num{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}\n\
.time{white-space:nowrap;color:var(--muted)}\n\
@media (max-width:40em){.time,th:last-child{display:none}}\n";

/// The listing page: Python's heading and links, with breadcrumbs, columns
/// sortable by name, size and time through links, sizes for people (the
/// exact byte count in a tooltip), and directories first.
fn listing_page(path: &str, entries: &[Entry], parent: bool, order: Order) -> String {
    let mut title = String::new();
    html_escape_into(&format!("Directory listing for {path}"), true, &mut title);
    let mut page = String::with_capacity(2048 + entries.len() * 240);
    let _ = write!(
        page,
        "<!DOCTYPE HTML>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title}</title>\n<style>\n{STYLE}</style>\n</head>\n<body>\n<h1>{title}</h1>\n"
    );
    breadcrumbs(path, &mut page);
    page.push_str("<hr>\n<table>\n<thead><tr>");
    for (key, name, label) in SortKey::ALL {
        let class = if key == SortKey::Size {
            " class=\"num\""
        } else {
            ""
        };
        let _ = write!(page, "<th{class}><a href=\"");
        html_escape_into(&order.link(key, name), true, &mut page);
        let _ = write!(page, "\">{label}");
        if key == order.key {
            page.push_str(if order.descending { " ▼" } else { " ▲" });
        }
        page.push_str("</a></th>");
    }
    page.push_str("</tr></thead>\n<tbody>\n");
    if parent {
        page.push_str(
            "<tr><td><a href=\"../\">../</a></td><td class=\"num\"></td><td></td></tr>\n",
        );
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
        page.push_str("</a></td>");
        match entry.size {
            Some(size) => {
                let _ = write!(
                    page,
                    "<td class=\"num\" title=\"{size} bytes\">{}</td>",
                    human_size(size)
                );
            }
            None => page.push_str("<td class=\"num\">-</td>"),
        }
        match entry.modified {
            Some(m) => {
                let stamp = m.rfc3339();
                // `2026-11-29T15:43:00Z` shown as `2026-11-29 15:43`.
                let shown = stamp.get(..16).unwrap_or(&stamp).replacen('T', " ", 1);
                let _ = write!(
                    page,
                    "<td class=\"time\"><time datetime=\"{stamp}\" title=\"{}\">{shown}</time></td>",
                    m.http_date()
                );
            }
            None => page.push_str("<td class=\"time\">-</td>"),
        }
        page.push_str("</tr>\n");
    }
    page.push_str("</tbody>\n</table>\n<hr>\n</body>\n</html>\n");
    page
}

/// Links to each directory above this one: `/ › docs/ › api/`, the last
/// one (this directory) not a link.
fn breadcrumbs(path: &str, page: &mut String) {
    page.push_str("<nav aria-label=\"breadcrumbs\">");
    let segments: Vec<&str> = path
        .trim_matches('/')
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    let mut href = String::from("/");
    if segments.is_empty() {
        page.push_str("<span>/</span>");
    } else {
        page.push_str("<a href=\"/\">/</a>");
    }
    for (i, segment) in segments.iter().enumerate() {
        let mut encoded = percent_encode(segment.as_bytes(), PATH_SEGMENT).to_string();
        encoded.push('/');
        href.push_str(&encoded);
        let mut label = String::new();
        html_escape_into(&format!("{segment}/"), true, &mut label);
        if i + 1 == segments.len() {
            let _ = write!(page, "<span>{label}</span>");
        } else {
            page.push_str("<a href=\"");
            html_escape_into(&href, true, page);
            let _ = write!(page, "\">{label}</a>");
        }
    }
    page.push_str("</nav>\n");
}

/// The listing as a JSON array: `name` as on disk (U+FFFD for bytes that
/// are not UTF-8), directories without a trailing slash; `type` is `file`,
/// `dir` or `symlink`; `size` in bytes for files, else `null`; `modified`
/// in RFC 3339 UTC, `null` where the listing shows no time.
fn listing_json(entries: &[Entry]) -> String {
    let mut json = String::with_capacity(2 + entries.len() * 96);
    json.push('[');
    for (i, entry) in entries.iter().enumerate() {
        if i > 0 {
            json.push(',');
        }
        json.push_str("{\"name\":");
        json_string(&String::from_utf8_lossy(&entry.name), &mut json);
        let kind = match (entry.link, entry.is_dir) {
            (true, _) => "symlink",
            (false, true) => "dir",
            (false, false) => "file",
        };
        let _ = write!(json, ",\"type\":\"{kind}\",\"size\":");
        match entry.size.filter(|_| kind == "file") {
            Some(size) => {
                let _ = write!(json, "{size}");
            }
            None => json.push_str("null"),
        }
        json.push_str(",\"modified\":");
        match entry.modified {
            Some(m) => {
                let _ = write!(json, "\"{}\"", m.rfc3339());
            }
            None => json.push_str("null"),
        }
        json.push('}');
    }
    json.push(']');
    json
}

/// `text` as a JSON string (RFC 8259 §7): quotes, backslashes and control
/// characters escaped; everything else as it is (JSON text is UTF-8).
fn json_string(text: &str, out: &mut String) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
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
        let page = listing_page("/<x>/", &entries, true, Order::from_query(None));
        assert!(page.contains("<title>Directory listing for /&lt;x&gt;/</title>"));
        assert!(page.contains(
            "<a href=\"%3Cb%3E%26%22x%22.txt\">&lt;b&gt;&amp;&quot;x&quot;.txt</a></td>\
             <td class=\"num\" title=\"3 bytes\">3 B</td>"
        ));
        // The breadcrumbs escape the path too.
        assert!(page.contains(
            "<nav aria-label=\"breadcrumbs\"><a href=\"/\">/</a><span>&lt;x&gt;/</span></nav>"
        ));
        assert!(page.contains("<a href=\"javascript%3Aalert%281%29/\">javascript:alert(1)/</a>"));
        assert!(page.contains("<a href=\"../\">../</a>"));
    }

    #[test]
    fn json_strings_are_escaped() {
        let cases = [
            ("plain.txt", "\"plain.txt\""),
            ("q\"b\\s", "\"q\\\"b\\\\s\""),
            ("l\n\r\t", "\"l\\n\\r\\t\""),
            ("\u{1}\u{1f}\u{7f}", "\"\\u0001\\u001f\u{7f}\""),
            ("caf\u{e9} \u{fffd} </", "\"caf\u{e9} \u{fffd} </\""),
        ];
        for (text, want) in cases {
            let mut out = String::new();
            json_string(text, &mut out);
            assert_eq!(out, want, "{text:?}");
        }
    }
}
