//! The crate's modules form layers (DESIGN.md, "Layers"): a module may refer
//! only to modules below it. This test reads `src/` as text and fails on any
//! `crate::` or `super::` path that reaches a module above the one it is
//! written in, whether in a `use` line, a grouped `use crate::{…}`, or an
//! inline path such as `crate::server::lock(…)`. A path to a name the crate
//! root re-exports (`crate::Handler`) counts as a path to the module that
//! defines it.
//!
//! Comments (doc links included) and string literals are not code and are
//! not checked: documentation may point a reader up to the types that use
//! a module.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

/// The layers from the top; a module may refer to a later entry only.
/// Modules on one line share a rank and may not refer to each other.
const LAYERS: &[&[&str]] = &[
    &["files"],
    &["form"],
    &["server"],
    &["engine"],
    &["sched"],
    &["conn"],
    &["handler"],
    &["rfile", "wfile"],
    &["tls"],
    &["transport"],
    &["config"],
    &["proto"],
    &["status", "log", "activation"],
    &["net"],
    &["date"],
    &["sys"],
];

/// One reference that points up (or sideways) the layers.
#[derive(Debug, PartialEq)]
struct Violation {
    file: String,
    line: usize,
    from: String,
    to: String,
}

fn rank(module: &str) -> Option<usize> {
    LAYERS.iter().position(|layer| layer.contains(&module))
}

/// Every `.rs` file under `dir`, sorted.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in fs::read_dir(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display())) {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// `source` with comments and the contents of string and character literals
/// replaced by spaces, so that line numbers and code are kept.
fn code_only(source: &str) -> String {
    let b = source.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let blank = |c: u8| if c == b'\n' { b'\n' } else { b' ' };
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'/' if b.get(i + 1) == Some(&b'/') => {
                while i < b.len() && b[i] != b'\n' {
                    out.push(b' ');
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                let mut depth = 0;
                while i < b.len() {
                    if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
                        depth += 1;
                        out.extend_from_slice(b"  ");
                        i += 2;
                    } else if b[i] == b'*' && b.get(i + 1) == Some(&b'/') {
                        depth -= 1;
                        out.extend_from_slice(b"  ");
                        i += 2;
                        if depth == 0 {
                            break;
                        }
                    } else {
                        out.push(blank(b[i]));
                        i += 1;
                    }
                }
            }
            b'r' if matches!(b.get(i + 1), Some(b'"' | b'#'))
                && (i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_')) =>
            {
                // A raw string: r"…", r#"…"#, …
                let mut j = i + 1;
                while b.get(j) == Some(&b'#') {
                    j += 1;
                }
                if b.get(j) != Some(&b'"') {
                    out.push(b[i]);
                    i += 1;
                    continue;
                }
                let hashes = j - i - 1;
                out.extend(std::iter::repeat_n(b' ', j + 1 - i));
                i = j + 1;
                while i < b.len() {
                    if b[i] == b'"'
                        && b[i + 1..]
                            .iter()
                            .take(hashes)
                            .filter(|&&c| c == b'#')
                            .count()
                            == hashes
                    {
                        out.extend(std::iter::repeat_n(b' ', hashes + 1));
                        i += hashes + 1;
                        break;
                    }
                    out.push(blank(b[i]));
                    i += 1;
                }
            }
            b'"' => {
                out.push(b' ');
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    if b[i] == b'\\' {
                        out.push(b' ');
                        i += 1;
                    }
                    if i < b.len() {
                        out.push(blank(b[i]));
                        i += 1;
                    }
                }
                out.push(b' ');
                i += 1;
            }
            b'\'' => {
                // A character literal ('x', '\n', '\u{1F600}') or a lifetime.
                let end = if b.get(i + 1) == Some(&b'\\') {
                    b[i + 2..]
                        .iter()
                        .position(|&c| c == b'\'')
                        .map(|p| i + 2 + p)
                } else if b.get(i + 2) == Some(&b'\'') {
                    Some(i + 2)
                } else {
                    std::str::from_utf8(&b[i + 1..])
                        .ok()
                        .and_then(|s| s.chars().next())
                        .filter(|c| c.len_utf8() > 1 && b.get(i + 1 + c.len_utf8()) == Some(&b'\''))
                        .map(|c| i + 1 + c.len_utf8())
                };
                match end {
                    Some(end) => {
                        out.extend(std::iter::repeat_n(b' ', end + 1 - i));
                        i = end + 1;
                    }
                    None => {
                        out.push(b'\'');
                        i += 1;
                    }
                }
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn is_ident(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// The identifier at the start of `s`.
fn ident(s: &[u8]) -> &str {
    let n = s.iter().take_while(|&&c| is_ident(c)).count();
    std::str::from_utf8(&s[..n]).unwrap_or("")
}

fn skip_space(s: &[u8], mut i: usize) -> usize {
    while i < s.len() && s[i].is_ascii_whitespace() {
        i += 1;
    }
    i
}

/// The first identifier of each item of the group that starts at `s[i]`
/// (`{a, b::c, d}` gives a, b, d).
fn group_heads(s: &[u8], mut i: usize) -> Vec<String> {
    let mut heads = Vec::new();
    let mut depth = 0;
    let mut expect_head = true;
    while i < s.len() {
        match s[i] {
            b'{' => {
                depth += 1;
                expect_head = depth == 1;
            }
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    break;
                }
            }
            b',' if depth == 1 => expect_head = true,
            c if is_ident(c) && expect_head && depth == 1 => {
                let name = ident(&s[i..]);
                i += name.len();
                heads.push(name.to_string());
                expect_head = false;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    heads
}

/// Names the crate root re-exports, with the module each comes from
/// (`pub use handler::{Handler, Request}` maps both to `handler`).
fn root_reexports(lib: &str) -> HashMap<String, String> {
    let code = code_only(lib);
    let mut map = HashMap::new();
    for item in code.split(';') {
        let item = item.trim();
        let Some(rest) = item.strip_prefix("pub use ") else {
            continue;
        };
        let rest = rest.trim().trim_start_matches("crate::");
        let module = ident(rest.as_bytes()).to_string();
        let after = &rest[module.len()..];
        let names: Vec<String> = match after.find('{') {
            Some(p) => {
                let inner = &after[p + 1..after.rfind('}').unwrap_or(after.len())];
                inner
                    .split(',')
                    .map(|n| n.trim().rsplit("::").next().unwrap_or("").to_string())
                    .collect()
            }
            None => vec![after.rsplit("::").next().unwrap_or("").trim().to_string()],
        };
        for name in names {
            let name = name.rsplit(" as ").next().unwrap_or("").trim().to_string();
            if !name.is_empty() {
                map.insert(name, module.clone());
            }
        }
    }
    map
}

/// The violations of the layering in the crate whose sources are in `src`.
fn check(src: &Path) -> Vec<Violation> {
    let lib = fs::read_to_string(src.join("lib.rs")).expect("lib.rs");
    let reexports = root_reexports(&lib);
    let mut found = Vec::new();
    for path in rust_files(src) {
        let rel = path.strip_prefix(src).expect("under src");
        let parts: Vec<String> = rel
            .iter()
            .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_string())
            .collect();
        if parts == ["lib"] || parts == ["main"] || parts[0] == "bin" {
            continue;
        }
        // The file's module path from the crate root: a/b.rs and a/b/mod.rs are a::b.
        let mut file_path = parts.clone();
        if file_path.last().is_some_and(|p| p == "mod") {
            file_path.pop();
        }
        let from = file_path[0].clone();
        let code = code_only(&fs::read_to_string(&path).expect("source file"));
        let s = code.as_bytes();
        // Inline modules (`mod tests {`) open a level; their closing brace ends it.
        let mut mods: Vec<(String, usize)> = Vec::new();
        let mut depth = 0usize;
        let mut line = 1;
        let mut i = 0;
        while i < s.len() {
            let c = s[i];
            let starts_word = i == 0 || !(is_ident(s[i - 1]) || s[i - 1] == b':');
            if c == b'\n' {
                line += 1;
            } else if c == b'{' {
                depth += 1;
            } else if c == b'}' {
                depth = depth.saturating_sub(1);
                if mods.last().is_some_and(|(_, d)| *d == depth) {
                    mods.pop();
                }
            } else if starts_word && s[i..].starts_with(b"mod ") {
                let j = skip_space(s, i + 4);
                let name = ident(&s[j..]).to_string();
                let k = skip_space(s, j + name.len());
                if s.get(k) == Some(&b'{') {
                    mods.push((name, depth));
                }
            } else if starts_word
                && (s[i..].starts_with(b"crate::") || s[i..].starts_with(b"super::"))
            {
                // Resolve the path's start to a module path from the root.
                let mut target: Vec<String> = file_path.clone();
                target.extend(mods.iter().map(|(n, _)| n.clone()));
                let mut j = i;
                if s[j..].starts_with(b"crate::") {
                    target.clear();
                    j += 7;
                } else {
                    while s[j..].starts_with(b"super::") {
                        target.pop();
                        j += 7;
                    }
                }
                let heads = if target.is_empty() {
                    let j = skip_space(s, j);
                    if s.get(j) == Some(&b'{') {
                        group_heads(s, j)
                    } else {
                        vec![ident(&s[j..]).to_string()]
                    }
                } else {
                    vec![target[0].clone()]
                };
                for head in heads {
                    let to = if target.is_empty() {
                        reexports.get(&head).cloned().unwrap_or(head)
                    } else {
                        head
                    };
                    if to == from || to == "self" {
                        continue;
                    }
                    let ok = match (rank(&from), rank(&to)) {
                        (Some(a), Some(b)) => b > a,
                        _ => false,
                    };
                    if !ok {
                        found.push(Violation {
                            file: rel.display().to_string(),
                            line,
                            from: from.clone(),
                            to,
                        });
                    }
                }
                i = j;
                continue;
            }
            i += 1;
        }
    }
    found
}

#[test]
fn every_module_refers_only_to_layers_below_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let violations = check(&src);
    assert!(
        violations.is_empty(),
        "references up the layers (see DESIGN.md, \"Layers\"):\n{}",
        violations
            .iter()
            .map(|v| format!("  {}:{}: {} refers to {}", v.file, v.line, v.from, v.to))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn every_module_of_the_crate_has_a_layer() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    for path in rust_files(&src) {
        let rel = path.strip_prefix(&src).expect("under src");
        let top = rel.iter().next().expect("a component").to_string_lossy();
        let module = top.trim_end_matches(".rs");
        if matches!(module, "lib" | "main" | "bin") {
            continue;
        }
        assert!(
            rank(module).is_some(),
            "{module} (src/{}) has no layer in LAYERS",
            rel.display()
        );
    }
}

#[test]
fn the_fixture_s_upward_references_are_all_caught() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/layers/src");
    let found: Vec<(String, usize, String)> = check(&src)
        .into_iter()
        .map(|v| (v.file, v.line, v.to))
        .collect();
    let expected: Vec<(String, usize, String)> = [
        ("conn.rs", 7, "server"),  // use crate::server::ServerConfig;
        ("conn.rs", 8, "server"),  // use crate::{proto::Limits, server::lock};
        ("conn.rs", 12, "engine"), // an inline crate::engine::… path
        ("conn.rs", 16, "server"), // crate::HttpServer, a root re-export
        ("sys.rs", 11, "date"),    // super::super::date inside mod inner
        ("sys.rs", 15, "log"),     // super::log from the top of sys.rs
        ("wfile.rs", 3, "rfile"),  // a module of the same rank
    ]
    .iter()
    .map(|(f, l, t)| (f.to_string(), *l, t.to_string()))
    .collect();
    assert_eq!(found, expected);
}

#[test]
fn comments_and_strings_are_not_code() {
    let code = code_only(
        "let a = \"crate::x\"; // crate::y\n/* crate::z */ let c = '\"'; r#\"crate::w\"#;",
    );
    assert!(!code.contains("crate::"), "{code}");
    assert_eq!(code.lines().count(), 2);
    assert!(code.contains("let c ="));
}
