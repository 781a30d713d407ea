//! A keep-alive request costs the server no heap allocation: a counting
//! global allocator watches a thousand requests, one at a time and
//! pipelined, in the sequential and the pool servers. (A worker's first
//! response fills its per-thread caches, the `Server` and `Date` lines,
//! which allocates a few times; in a pool, a worker that served none of the
//! warm-up requests may do so during the count. The count starts once
//! every worker has started, and the pool may not grow: a new thread's
//! allocations are not a request's.)
//!
//! The only test in its binary, so nothing else allocates meanwhile: the
//! client below writes from and reads into buffers made beforehand.

mod common;

use basehttp::server::{Concurrency, Pool, Sequential};
use basehttp::{Handler, HandlerResult, Request, StatusCode};
use common::TestServer;
use std::alloc::{GlobalAlloc, Layout, System};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicU64, Ordering};

struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

// SAFETY: every call is passed on to the system allocator unchanged; the
// counter is the only addition.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: the caller's contract for `alloc` is passed on.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract for `dealloc` is passed on.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: the caller's contract for `realloc` is passed on.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// examples/hello's handler.
struct Hello;

impl Handler for Hello {
    fn do_get(&self, r: &mut Request<'_>) -> HandlerResult {
        r.send_response(200)?;
        r.send_header("Content-Type", "text/plain")?;
        r.end_headers()?;
        r.wfile.write_all(b"Hello, World!")?;
        Ok(())
    }

    fn log_request(&self, _: &Request<'_>, _: StatusCode, _: Option<u64>) {}
}

/// Sends `requests` GETs, `depth` at a time, and reads every response,
/// without allocating.
fn exchange(s: &mut TcpStream, batch: &[u8], depth: usize, requests: usize, buf: &mut [u8]) {
    const BODY: &[u8] = b"Hello, World!";
    for _ in 0..requests / depth {
        s.write_all(batch).unwrap();
        let (mut seen, mut filled) = (0, 0);
        while seen < depth {
            let n = s.read(&mut buf[filled..]).unwrap();
            assert!(n > 0, "the server closed the connection");
            filled += n;
            // Every response ends with the body; count them as they complete.
            let mut at = 0;
            while let Some(i) = buf[at..filled].windows(BODY.len()).position(|w| w == BODY) {
                seen += 1;
                at += i + BODY.len();
            }
            buf.copy_within(at..filled, 0);
            filled -= at;
        }
        assert_eq!(filled, 0, "more bytes than {depth} responses");
    }
}

/// `pool`: whether `C` is a pool, whose workers are counted in.
fn allocations_per_thousand<C: Concurrency>(depth: usize, pool: bool) -> u64 {
    // The pool keeps its size: a worker started while the count runs (the
    // monitor may take a worker descheduled on a loaded machine for a
    // blocked one) allocates its thread, which is not a request's cost.
    let config_workers = common::config().workers;
    let config = basehttp::ServerConfig {
        max_workers: config_workers,
        ..common::config()
    };
    let server = TestServer::<Hello, C>::start(Hello, config);
    let mut s = TcpStream::connect(server.addr()).unwrap();
    s.set_read_timeout(Some(common::TIMEOUT)).unwrap();
    s.set_nodelay(true).unwrap();
    let batch = b"GET / HTTP/1.1\r\nHost: test\r\n\r\n".repeat(depth);
    let mut buf = vec![0u8; 64 * 1024];
    // Warm up: the connection's and the worker's buffers reach their size,
    // and every worker has started (on a loaded machine a thread the pool
    // spawned may start late, and its start allocates).
    exchange(&mut s, &batch, depth, 200, &mut buf);
    let workers = if pool { config_workers } else { 1 };
    common::eventually("every worker has started", common::TIMEOUT, || {
        server.server().worker_count() == workers
    });
    let before = ALLOCATIONS.load(Ordering::SeqCst);
    exchange(&mut s, &batch, depth, 1000, &mut buf);
    let after = ALLOCATIONS.load(Ordering::SeqCst);
    drop(s);
    server.stop().expect("serve_forever");
    after - before
}

#[test]
fn keep_alive_requests_allocate_nothing() {
    let counts = [
        (
            "sequential, one at a time",
            allocations_per_thousand::<Sequential>(1, false),
        ),
        (
            "sequential, pipelined 16 deep",
            allocations_per_thousand::<Sequential>(16, false),
        ),
        (
            "pool, one at a time",
            allocations_per_thousand::<Pool>(1, true),
        ),
        (
            "pool, pipelined 16 deep",
            allocations_per_thousand::<Pool>(16, true),
        ),
    ];
    for (what, n) in counts {
        assert!(n <= 20, "{what}: {n} allocations in 1,000 requests");
    }
    // The sequential server has one thread, warmed up: not a single one.
    assert_eq!(counts[0].1 + counts[1].1, 0, "{counts:?}");
}
