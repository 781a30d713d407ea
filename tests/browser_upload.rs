//! A real browser uploads with the listing's form: headless Chromium
//! (through chromedriver, see tests/browser/mod.rs) logs in to the
//! `basehttp` binary run with `--upload --auth`, chooses two files in the
//! form's multiple-file input, submits, and is sent back (303) to the
//! listing, which now shows both. The form's `POST` is same-origin, so the
//! cross-site check lets it through, and it carries the cached Basic
//! credentials.
//!
//! Skipped with a printed reason where Chromium is not installed, unless
//! `BASEHTTP_REQUIRE_BROWSER=1`.

mod browser;
#[path = "common/process.rs"]
mod process;

use browser::Browser;
use process::{Process, basehttp};
use std::time::Duration;

/// Bound on each awaited log line.
const TIMEOUT: Duration = Duration::from_secs(60);

#[test]
fn chromium_logs_in_and_uploads_two_files_with_the_listing_form() {
    let Some(b) =
        Browser::start_or_skip("chromium_logs_in_and_uploads_two_files_with_the_listing_form")
    else {
        return;
    };
    let served = tempfile::tempdir().expect("temporary directory");
    std::fs::write(served.path().join("existing.txt"), "here before\n").unwrap();
    let picked = tempfile::tempdir().expect("temporary directory");
    let first = picked.path().join("first upload.txt");
    let second = picked.path().join("second.bin");
    std::fs::write(&first, "uploaded by Chromium\n").unwrap();
    std::fs::write(&second, vec![7u8; 100_000]).unwrap();

    let mut server = Process::start(
        basehttp()
            .args(["-b", "127.0.0.1", "-u", "--auth", "alice:wonderland", "-d"])
            .arg(served.path())
            .arg("0"),
    );
    // Log in: credentials in the URL, which Chromium keeps for the site.
    let login = format!("http://alice:wonderland@{}/", server.addr());
    b.goto(&login).expect("open the listing with credentials");
    b.wait_for_text("Directory listing for /")
        .expect("the listing");

    let files = format!("{}\n{}", first.display(), second.display());
    b.find("input[type=file]")
        .expect("the upload form's file input")
        .send_keys(&files)
        .expect("choose two files");
    b.find("button[type=submit]")
        .expect("the upload button")
        .click()
        .expect("submit the form");
    let text = b
        .wait_for_text("second.bin")
        .expect("the listing after the upload");
    assert!(text.contains("first upload.txt"), "{text}");
    assert!(text.contains("existing.txt"), "{text}");
    server.wait_for_log("\"POST / HTTP/1.1\" 303", TIMEOUT);
    assert_eq!(
        std::fs::read_to_string(served.path().join("first upload.txt")).unwrap(),
        "uploaded by Chromium\n"
    );
    assert_eq!(
        std::fs::read(served.path().join("second.bin")).unwrap(),
        vec![7u8; 100_000]
    );
}
