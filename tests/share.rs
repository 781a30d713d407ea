//! Sharing a directory safely with the files handler, over real sockets:
//! hidden files, CORS, headers of one's own and Basic authentication. Each
//! test serves a fresh temporary directory from a server on 127.0.0.1:0.
//! The binary's side of the same options is in `share_binary.rs`.

mod common;

use basehttp::SimpleHttpRequestHandler;
use basehttp::server::Threading;
use common::{Response, TestServer, config};
use std::fs;
use std::os::unix::fs::symlink;
use tempfile::TempDir;

type FilesServer = TestServer<SimpleHttpRequestHandler, Threading>;

/// A directory with a public file, a dot-file, a dot-directory holding a
/// `config`, and links: `notes` to `.git/config`, `link.txt` to `a.txt`.
fn shared_dir() -> TempDir {
    let dir = tempfile::tempdir().expect("temporary directory");
    let p = dir.path();
    fs::write(p.join("a.txt"), "public").unwrap();
    fs::write(p.join(".env"), "API_KEY=secret").unwrap();
    fs::create_dir(p.join(".git")).unwrap();
    fs::write(p.join(".git/config"), "[core]").unwrap();
    fs::create_dir(p.join("sub")).unwrap();
    fs::write(p.join("sub/.htpasswd"), "x").unwrap();
    symlink(".git/config", p.join("notes")).unwrap();
    symlink(".git", p.join("repo")).unwrap();
    symlink("a.txt", p.join("link.txt")).unwrap();
    dir
}

fn serve(
    dir: &TempDir,
    f: impl FnOnce(SimpleHttpRequestHandler) -> SimpleHttpRequestHandler,
) -> FilesServer {
    let handler = SimpleHttpRequestHandler::new(dir.path())
        .expect("serve the directory")
        .quiet(true);
    TestServer::start(f(handler), config())
}

/// `METHOD target` with extra header lines, on a fresh connection.
fn ask(server: &FilesServer, method: &str, target: &str, headers: &[&str]) -> Response {
    server.connect().ask(method, target, headers)
}

fn get(server: &FilesServer, target: &str) -> Response {
    ask(server, "GET", target, &[])
}

// ---------------------------------------------------------------------------
// Hidden files
// ---------------------------------------------------------------------------

#[test]
fn dot_files_and_everything_below_dot_directories_answer_404() {
    let dir = shared_dir();
    let server = serve(&dir, |h| h);
    for target in [
        "/.env",
        "/.git",
        "/.git/",
        "/.git/config",
        "/%2egit/config",
        "/%2Egit/%63onfig",
        "/sub/.htpasswd",
        "/sub/%2ehtpasswd",
        "/./.env",
        "/.git/config?x=1",
    ] {
        let r = get(&server, target);
        assert_eq!(r.status, 404, "{target}");
        assert!(!r.text().contains("[core]"), "{target}");
        assert_eq!(
            ask(&server, "HEAD", target, &[]).status,
            404,
            "HEAD {target}"
        );
    }
    assert_eq!(get(&server, "/a.txt").text(), "public");
}

#[test]
fn links_to_hidden_files_answer_404_and_are_not_listed() {
    let dir = shared_dir();
    let server = serve(&dir, |h| h);
    assert_eq!(get(&server, "/notes").status, 404);
    assert_eq!(get(&server, "/repo/").status, 404);
    assert_eq!(get(&server, "/repo/config").status, 404);
    assert_eq!(get(&server, "/link.txt").text(), "public");
    let listing = get(&server, "/");
    assert_eq!(listing.status, 200);
    let page = listing.text();
    assert!(page.contains("href=\"a.txt\""), "{page}");
    assert!(page.contains("href=\"link.txt\""), "{page}");
    assert!(page.contains("href=\"sub/\""), "{page}");
    for absent in [".env", ".git", "notes", "repo"] {
        assert!(!page.contains(absent), "{absent} listed: {page}");
    }
    let sub = get(&server, "/sub/");
    assert!(!sub.text().contains(".htpasswd"), "{}", sub.text());
}

#[test]
fn a_cached_link_changed_to_a_hidden_file_answers_404() {
    let dir = shared_dir();
    let server = serve(&dir, |h| h);
    assert_eq!(get(&server, "/link.txt").text(), "public");
    fs::remove_file(dir.path().join("link.txt")).unwrap();
    symlink(".env", dir.path().join("link.txt")).unwrap();
    assert_eq!(get(&server, "/link.txt").status, 404);
}

#[test]
fn hidden_true_serves_and_lists_dot_files() {
    let dir = shared_dir();
    let server = serve(&dir, |h| h.hidden(true));
    assert_eq!(get(&server, "/.git/config").text(), "[core]");
    assert_eq!(get(&server, "/%2egit/config").text(), "[core]");
    assert_eq!(get(&server, "/notes").text(), "[core]");
    assert_eq!(get(&server, "/.env").text(), "API_KEY=secret");
    let page = get(&server, "/").text().to_owned();
    for shown in [".env", ".git/", "notes", "repo"] {
        assert!(page.contains(shown), "{shown} not listed: {page}");
    }
}

// ---------------------------------------------------------------------------
// CORS and headers of one's own
// ---------------------------------------------------------------------------

/// Requests that together get a 200, a 404, a 301 and a 304.
fn assorted(server: &FilesServer) -> Vec<Response> {
    let ok = get(server, "/a.txt");
    let etag = format!("If-None-Match: {}", ok.header("ETag").expect("ETag"));
    vec![
        get(server, "/a.txt"),
        get(server, "/missing"),
        get(server, "/sub"),
        ask(server, "GET", "/a.txt", &[&etag]),
    ]
}

#[test]
fn cors_allows_any_origin_on_every_response() {
    let dir = shared_dir();
    let server = serve(&dir, |h| h.cors(true));
    let responses = assorted(&server);
    let statuses: Vec<u16> = responses.iter().map(|r| r.status).collect();
    assert_eq!(statuses, [200, 404, 301, 304]);
    for r in &responses {
        assert_eq!(r.header("Access-Control-Allow-Origin"), Some("*"), "{r:?}");
        assert_eq!(r.header_count("Access-Control-Allow-Origin"), 1);
        assert_eq!(r.header("Access-Control-Allow-Credentials"), None);
    }
    let plain = serve(&dir, |h| h);
    for r in assorted(&plain) {
        assert_eq!(r.header("Access-Control-Allow-Origin"), None, "{r:?}");
    }
}

#[test]
fn a_preflight_is_answered_204_allowing_get_and_head_only() {
    let dir = shared_dir();
    let server = serve(&dir, |h| h.cors(true));
    for method in ["GET", "PUT", "DELETE"] {
        let acrm = format!("Access-Control-Request-Method: {method}");
        let r = ask(
            &server,
            "OPTIONS",
            "/a.txt",
            &[
                "Origin: https://app.example",
                &acrm,
                "Access-Control-Request-Headers: range",
            ],
        );
        assert_eq!(r.status, 204, "{method}");
        assert_eq!(r.header("Access-Control-Allow-Origin"), Some("*"));
        assert_eq!(r.header("Access-Control-Allow-Methods"), Some("GET, HEAD"));
        assert!(
            r.header("Access-Control-Allow-Headers")
                .unwrap()
                .contains("Range")
        );
        assert_eq!(r.header("Access-Control-Allow-Credentials"), None);
        assert!(r.body.is_empty());
    }
    // Not a preflight: OPTIONS is not implemented.
    assert_eq!(ask(&server, "OPTIONS", "/a.txt", &[]).status, 501);
    // Without --cors, a preflight is an OPTIONS like any other.
    let plain = serve(&dir, |h| h);
    let r = ask(
        &plain,
        "OPTIONS",
        "/a.txt",
        &["Access-Control-Request-Method: GET"],
    );
    assert_eq!(r.status, 501);
}

#[test]
fn own_headers_are_added_to_every_response_in_order() {
    let dir = shared_dir();
    let server = serve(&dir, |h| {
        h.header("Cache-Control", "no-store")
            .and_then(|h| h.header("X-Robots-Tag", "noindex, nofollow"))
            .expect("valid headers")
    });
    for r in assorted(&server) {
        assert_eq!(r.header("Cache-Control"), Some("no-store"), "{r:?}");
        assert_eq!(r.header("X-Robots-Tag"), Some("noindex, nofollow"), "{r:?}");
        let names: Vec<&str> = r.headers.iter().map(|(n, _)| n.as_str()).collect();
        let at = |n: &str| names.iter().position(|m| *m == n).unwrap();
        assert!(at("Cache-Control") < at("X-Robots-Tag"), "{names:?}");
    }
}

#[test]
fn framing_headers_bad_names_and_line_breaks_are_refused() {
    let dir = shared_dir();
    let handler = || SimpleHttpRequestHandler::new(dir.path()).unwrap();
    for name in basehttp::files::FRAMING_HEADERS {
        assert!(handler().header(name, "1").is_err(), "{name}");
        assert!(
            handler().header(&name.to_uppercase(), "1").is_err(),
            "{name}"
        );
    }
    for (name, value) in [
        ("Bad Name", "x"),
        ("X-Split", "a\r\nSet-Cookie: s=1"),
        ("", "x"),
    ] {
        assert!(
            handler().header(name, value).is_err(),
            "{name:?}: {value:?}"
        );
    }
}

// ---------------------------------------------------------------------------
// Basic authentication
// ---------------------------------------------------------------------------

#[cfg(feature = "auth")]
mod auth {
    use super::*;
    use basehttp::files::Credentials;

    /// `printf %s 'open sesame' | sha256sum`, and `sha512sum`.
    const SESAME_SHA256: &str = "41ef4bb0b23661e66301aac36066912dac037827b4ae63a7b1165a5aa93ed4eb";
    const SESAME_SHA512: &str = "8470cdd3bf1ef85d5f092bce5ae5af97ce50820481bf43b2413807fec37e2785\
                                 b533a65d4c7d71695b141d81ebcd4b6c4def4284e6067f0b9ddc318b1b230205";

    /// `Authorization` lines: `printf %s USER:PASSWORD | base64`.
    const ALICE: &str = "Authorization: Basic YWxpY2U6d29uZGVyOmxhbmQ="; // alice:wonder:land
    const ALICE_NEARLY: &str = "Authorization: Basic YWxpY2U6d29uZGVyOmxhbg=="; // alice:wonder:lan
    const ALICE_WRONG: &str = "Authorization: Basic YWxpY2U6d29uZGVybGFuZA=="; // alice:wonderland
    const MALLORY: &str = "Authorization: Basic bWFsbG9yeTp3b25kZXI6bGFuZA=="; // mallory:wonder:land
    const BOB: &str = "Authorization: Basic Ym9iOm9wZW4gc2VzYW1l"; // bob:open sesame
    const CAROL: &str = "Authorization: Basic Y2Fyb2w6b3BlbiBzZXNhbWU="; // carol:open sesame

    /// alice with a password in clear (holding a `:`), bob and carol with
    /// the same password hashed with SHA-256 and SHA-512.
    fn credentials() -> Credentials {
        let mut c = Credentials::new();
        c.add_line("alice:wonder:land").unwrap();
        c.add_line(&format!("bob:sha256:{SESAME_SHA256}")).unwrap();
        c.add_line(&format!("carol:sha512:{SESAME_SHA512}"))
            .unwrap();
        c
    }

    fn assert_challenged(r: &Response, what: &str) {
        assert_eq!(r.status, 401, "{what}");
        assert_eq!(
            r.header("WWW-Authenticate"),
            Some("Basic realm=\"basehttp\""),
            "{what}"
        );
        assert_eq!(r.header("Connection"), None, "{what}: the connection stays");
    }

    #[test]
    fn missing_wrong_and_unknown_credentials_get_the_same_401() {
        let dir = shared_dir();
        let server = serve(&dir, |h| h.auth(credentials()));
        let mut pages = Vec::new();
        for (what, headers) in [
            ("missing", &[][..]),
            ("wrong password", &[ALICE_WRONG][..]),
            ("nearly right password", &[ALICE_NEARLY][..]),
            ("unknown user", &[MALLORY][..]),
            (
                "another scheme",
                &["Authorization: Bearer YWxpY2U6d29uZGVyOmxhbmQ="][..],
            ),
            ("not base64", &["Authorization: Basic ***"][..]),
        ] {
            for target in ["/a.txt", "/", "/missing", "/.env"] {
                let r = ask(&server, "GET", target, headers);
                assert_challenged(&r, what);
                pages.push(r.text().to_owned());
            }
            assert_challenged(&ask(&server, "HEAD", "/a.txt", headers), what);
        }
        // The page never says which part failed.
        assert!(pages.iter().all(|p| p == &pages[0]), "{pages:?}");
        assert!(pages[0].contains("401"));
        assert!(!pages[0].contains("alice") && !pages[0].to_lowercase().contains("password"));
    }

    #[test]
    fn clear_and_hashed_passwords_open_the_files() {
        let dir = shared_dir();
        let server = serve(&dir, |h| h.auth(credentials()));
        for who in [ALICE, BOB, CAROL] {
            let r = ask(&server, "GET", "/a.txt", &[who]);
            assert_eq!((r.status, r.text()), (200, "public"), "{who}");
            assert_eq!(ask(&server, "GET", "/", &[who]).status, 200, "{who}");
            // Hidden files stay hidden to those who log in.
            assert_eq!(ask(&server, "GET", "/.env", &[who]).status, 404, "{who}");
        }
    }

    #[test]
    fn a_401_keeps_the_connection_for_the_retry_with_credentials() {
        let dir = shared_dir();
        let server = serve(&dir, |h| h.auth(credentials()));
        let mut c = server.connect();
        assert_challenged(&c.ask("GET", "/a.txt", &[]), "first try");
        let r = c.ask("GET", "/a.txt", &[BOB]);
        assert_eq!((r.status, r.text()), (200, "public"));
    }

    #[test]
    fn public_read_opens_get_and_head_and_guards_other_methods() {
        let dir = shared_dir();
        let server = serve(&dir, |h| h.auth(credentials()).public_read(true));
        assert_eq!(get(&server, "/a.txt").text(), "public");
        assert_eq!(get(&server, "/").status, 200);
        assert_eq!(ask(&server, "HEAD", "/a.txt", &[]).status, 200);
        for method in ["POST", "PUT", "DELETE", "PATCH", "OPTIONS", "PROPFIND"] {
            let mut c = server.connect();
            c.send(
                format!("{method} /a.txt HTTP/1.1\r\nHost: test\r\nContent-Length: 3\r\n\r\nabc")
                    .as_bytes(),
            );
            let r = c.read_response(method).unwrap();
            assert_challenged(&r, method);
            // With credentials the method reaches its handler (none here).
            assert_eq!(
                ask(&server, method, "/a.txt", &[ALICE]).status,
                501,
                "{method}"
            );
        }
    }

    #[test]
    fn a_client_expecting_100_continue_gets_the_401_before_sending_its_body() {
        let dir = shared_dir();
        let server = serve(&dir, |h| h.auth(credentials()).public_read(true));
        let mut c = server.connect();
        c.send(
            b"PUT /new.txt HTTP/1.1\r\nHost: test\r\nContent-Length: 5\r\n\
              Expect: 100-continue\r\nConnection: close\r\n\r\n",
        );
        // The first response is the 401, not a 100 Continue.
        let r = c.read_response("PUT").unwrap();
        assert_eq!(r.status, 401);
        assert_eq!(
            r.header("WWW-Authenticate"),
            Some("Basic realm=\"basehttp\"")
        );
    }

    #[test]
    fn a_preflight_needs_no_credentials_and_other_requests_do() {
        let dir = shared_dir();
        let server = serve(&dir, |h| h.auth(credentials()).cors(true));
        let r = ask(
            &server,
            "OPTIONS",
            "/a.txt",
            &["Access-Control-Request-Method: GET"],
        );
        assert_eq!(r.status, 204);
        assert_eq!(r.header("Access-Control-Allow-Credentials"), None);
        let r = get(&server, "/a.txt");
        assert_challenged(&r, "GET");
        // The 401 carries the CORS header too, so the page can see it.
        assert_eq!(r.header("Access-Control-Allow-Origin"), Some("*"));
    }
}
