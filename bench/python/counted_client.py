#!/usr/bin/env python3
"""A load of an exact size, for bench/profile.sh: sends N keep-alive
`GET /` requests over one connection, DEPTH at a time (pipelined when DEPTH
is over 1), and reads every response before sending the next batch.

    counted_client.py PORT N DEPTH

Responses are counted by their `Hello, World!` bodies (the servers under
test all answer that), so the client stays simple and cheap.
"""

import socket
import sys

BODY = b"Hello, World!"


def main():
    port, n, depth = (int(a) for a in sys.argv[1:4])
    s = socket.create_connection(("127.0.0.1", port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    batch = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" * depth
    done = 0
    pending = b""
    while done < n:
        s.sendall(batch)
        seen = 0
        while seen < depth:
            data = s.recv(65536)
            if not data:
                sys.exit(f"counted_client: the server closed after {done + seen} responses")
            pending += data
            seen += pending.count(BODY)
            cut = pending.rfind(BODY)
            if cut >= 0:
                pending = pending[cut + len(BODY):]
        done += depth
    print(done)


if __name__ == "__main__":
    main()
