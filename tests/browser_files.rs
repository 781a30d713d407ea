//! A real browser uses the `basehttp` binary: headless Chromium (through
//! chromedriver, see tests/browser/mod.rs) opens the directory listing,
//! follows a link into a subdirectory, opens a text file, and plays a
//! WebM/Opus file in an `<audio>` element. The server's own log (standard
//! error, Common Log Format) must show that the media element fetched the
//! file with a `Range` request, answered 206.
//!
//! The media file is tests/fixtures/files/tone.webm (7.8 KB, a 3 s 440 Hz
//! tone; Debian's Chromium plays Opus in WebM but not H.264), made with
//! Debian's ffmpeg:
//!
//! ```text
//! ffmpeg -f lavfi -i "sine=frequency=440:duration=3:sample_rate=48000" \
//!     -c:a libopus -b:a 16k -ac 1 -bitexact -fflags +bitexact -flags:a +bitexact tone.webm
//! ```
//!
//! Skipped with a printed reason where Chromium is not installed, unless
//! `BASEHTTP_REQUIRE_BROWSER=1`.

mod browser;
#[path = "common/process.rs"]
mod process;

use browser::Browser;
use process::{Process, basehttp};
use serde_json::json;
use std::path::Path;
use std::time::{Duration, Instant};

/// Bound on each awaited log line, and on playback.
const TIMEOUT: Duration = Duration::from_secs(60);

/// The `basehttp` binary serving `dir` on 127.0.0.1 (a port the kernel
/// picks); its log lines arrive as they are written.
fn start(dir: &Path) -> Process {
    Process::start(basehttp().args(["-b", "127.0.0.1", "-d"]).arg(dir).arg("0"))
}

/// The served tree: a text file and a media page in `media/`.
fn site() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temporary directory");
    let media = dir.path().join("media");
    std::fs::create_dir(&media).unwrap();
    std::fs::write(dir.path().join("README.txt"), "top level\n").unwrap();
    std::fs::write(media.join("notes.txt"), "These notes came from basehttp.\n").unwrap();
    let tone = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/files/tone.webm");
    std::fs::copy(&tone, media.join("tone.webm")).expect("copy the WebM fixture");
    std::fs::write(
        media.join("player.html"),
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>player</title></head>\n\
         <body><h1>Player</h1><audio id=\"tone\" src=\"tone.webm\" preload=\"auto\" controls></audio>\n\
         <button id=\"play\">Play</button> <p id=\"status\">stopped</p>\n\
         <script>\n\
         document.getElementById('play').onclick = () => {\n\
           const status = document.getElementById('status');\n\
           document.getElementById('tone').play().then(\n\
             () => { status.textContent = 'status: playing'; },\n\
             e => { status.textContent = 'status: refused: ' + e; });\n\
         };\n\
         </script>\n\
         </body></html>\n",
    )
    .unwrap();
    dir
}

/// Polls the `<audio>` element (each poll a WebDriver round trip, bounded)
/// until it has played past `seconds`; returns its state as text.
fn await_playback(b: &Browser, seconds: f64) -> String {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let state = b
            .execute(
                "const a = document.getElementById('tone');\n\
                 return {t: a.currentTime, ready: a.readyState, paused: a.paused,\n\
                         error: a.error ? a.error.code + ' ' + a.error.message : null,\n\
                         duration: a.duration};",
                json!([]),
            )
            .expect("read the audio element's state");
        if let Some(error) = state["error"].as_str() {
            panic!("the audio element failed: {error} ({state})");
        }
        if state["t"].as_f64().unwrap_or(0.0) >= seconds {
            return state.to_string();
        }
        assert!(
            Instant::now() < deadline,
            "no playback past {seconds} s within {TIMEOUT:?}: {state}"
        );
    }
}

#[test]
fn chromium_browses_the_listing_and_plays_media() {
    let Some(b) = Browser::start_or_skip("chromium_browses_the_listing_and_plays_media") else {
        return;
    };
    let dir = site();
    let mut server = start(dir.path());

    // The listing of the served directory.
    b.goto(&server.url("/")).expect("open the listing");
    let text = b
        .wait_for_text("Directory listing for /")
        .expect("the listing");
    assert!(
        text.contains("README.txt") && text.contains("media/"),
        "{text}"
    );

    // Follow the link into the subdirectory, as a user clicks it.
    b.find("a[href='media/']")
        .expect("a link to media/")
        .click()
        .expect("click media/");
    let text = b
        .wait_for_text("Directory listing for /media/")
        .expect("the subdirectory's listing");
    assert!(
        text.contains("notes.txt") && text.contains("tone.webm"),
        "{text}"
    );
    assert_eq!(b.current_url().unwrap(), server.url("/media/"));

    // Open the text file from its link.
    b.find("a[href='notes.txt']")
        .expect("a link to notes.txt")
        .click()
        .expect("click notes.txt");
    b.wait_for_text("These notes came from basehttp.")
        .expect("the text file");
    server.wait_for_log("\"GET /media/notes.txt HTTP/1.1\" 200", TIMEOUT);

    // Play the media file with the page's Play button: a click through
    // WebDriver is a user gesture, so Chromium's autoplay policy allows it
    // (the harness does not pass --autoplay-policy=no-user-gesture-required).
    b.goto(&server.url("/media/player.html"))
        .expect("open the player");
    b.wait_for_text("Player").expect("the player page");
    b.find("#play")
        .expect("the Play button")
        .click()
        .expect("click Play");
    let text = b.wait_for_text("status: ").expect("a playback status");
    assert!(text.contains("status: playing"), "{text}");
    let state = await_playback(&b, 0.5);
    println!("audio element: {state}");

    // The media element itself asked for a range: Chromium sends
    // `Range: bytes=0-`, which the server answers 206.
    let line = server.wait_for_log("\"GET /media/tone.webm HTTP/1.1\" 206", TIMEOUT);
    println!("server log: {line}");
}

/// The names in a listing page, top to bottom.
fn listed(b: &Browser) -> Vec<String> {
    let v = b
        .execute(
            "return Array.from(document.querySelectorAll('tbody td:first-child a'))\
             .map(a => a.textContent);",
            json!([]),
        )
        .expect("the listing's names");
    v.as_array()
        .expect("an array")
        .iter()
        .map(|n| n.as_str().unwrap_or_default().to_owned())
        .collect()
}

#[test]
fn chromium_sorts_the_listing_by_size_and_renders_it() {
    let Some(b) = Browser::start_or_skip("chromium_sorts_the_listing_by_size_and_renders_it")
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a-large.txt"), vec![b'x'; 50_000]).unwrap();
    std::fs::write(dir.path().join("b-small.txt"), b"1").unwrap();
    std::fs::write(dir.path().join("c-medium.txt"), vec![b'x'; 5_000]).unwrap();
    std::fs::create_dir(dir.path().join("z-dir")).unwrap();
    let server = start(dir.path());

    b.goto(&server.url("/")).expect("open the listing");
    b.wait_for_text("Directory listing for /")
        .expect("the listing");
    assert_eq!(
        listed(&b),
        ["z-dir/", "a-large.txt", "b-small.txt", "c-medium.txt"]
    );

    // Click the Size header, as a user would: largest first.
    b.find("a[href='?sort=size&order=desc']")
        .expect("the Size header's link")
        .click()
        .expect("click Size");
    b.wait_for_text("Size ▼")
        .expect("the listing sorted by size");
    assert_eq!(
        listed(&b),
        ["z-dir/", "a-large.txt", "c-medium.txt", "b-small.txt"]
    );
    assert_eq!(
        b.current_url().unwrap(),
        server.url("/?sort=size&order=desc")
    );

    // It renders: numbers right-aligned, the table laid out across the
    // page, the size shown for people, and a real screenshot (kept in a
    // temporary directory, out of the repository).
    let align = b
        .execute(
            "return getComputedStyle(document.querySelector('td.num')).textAlign;",
            json!([]),
        )
        .unwrap();
    assert_eq!(align, "right");
    let width = b
        .execute(
            "return document.querySelector('table').getBoundingClientRect().width;",
            json!([]),
        )
        .unwrap();
    assert!(width.as_f64().unwrap_or(0.0) > 200.0, "table width {width}");
    assert!(b.body_text().unwrap().contains("48.8 KiB"));
    let png = b.screenshot().expect("a screenshot");
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    assert!(
        png.len() > 2_000,
        "a near-empty screenshot: {} bytes",
        png.len()
    );
    let shots = tempfile::tempdir().unwrap();
    std::fs::write(shots.path().join("listing.png"), &png).unwrap();
}
