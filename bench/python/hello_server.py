"""Peer server for the throughput benchmark: Python's own http.server.

    python3 hello_server.py [--no-nodelay] [HOST:PORT]

ThreadingHTTPServer (a thread per connection) with a BaseHTTPRequestHandler
subclass speaking HTTP/1.1 (keep-alive, as the other servers): GET answers
"Hello, World!" as text/plain, POST echoes the request body. No per-request
log line, no traceback for each connection the load generator drops when it
stops. Accepted sockets get TCP_NODELAY, as the other servers' do, unless
--no-nodelay is given: http.server sends a response's head and body in two
writes, and with Nagle's algorithm on, the body waits for the client's
delayed ACK.

Prints "Serving HTTP on HOST port PORT ..." (as python -m http.server does)
once it listens, so the benchmark can learn the port it was given.
"""

import http.server
import socket
import sys

HELLO = b"Hello, World!"


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    nodelay = True

    def setup(self):
        super().setup()
        if self.nodelay:
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(HELLO)))
        self.end_headers()
        self.wfile.write(HELLO)

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):
        pass


class Server(http.server.ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        pass  # a client closing its connection mid-request is no news here


def main(argv):
    address = "127.0.0.1:8080"
    for arg in argv:
        if arg == "--no-nodelay":
            Handler.nodelay = False
        elif arg.startswith("-"):
            sys.exit(f"hello_server.py: unknown option {arg!r}; "
                     "usage: hello_server.py [--no-nodelay] [HOST:PORT]")
        else:
            address = arg
    host, _, port = address.rpartition(":")
    server = Server((host, int(port)), Handler)
    host, port = server.server_address[:2]
    print(f"Serving HTTP on {host} port {port} (http://{host}:{port}/) ...", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main(sys.argv[1:])
