# SPDX-License-Identifier: MIT
"""A threaded HTTP server (http.server.ThreadingHTTPServer, one thread per request) whose
handler sleeps 200 ms before it answers. Prints "PORT n". GET /big answers 4 MiB at once,
GET /threads the OS thread count of the process; GET /quit stops it. Runs unmodified
natively and under greenrun."""
import http.server
import sys
import threading
import time


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def do_GET(self):
        if self.path == "/threads":
            with open("/proc/self/status") as f:
                body = [l for l in f if l.startswith("Threads:")][0].split()[1].encode() + b"\n"
        elif self.path == "/big":
            body = BIG
        elif self.path == "/quit":
            body = b"bye\n"
        else:
            time.sleep(0.2)
            body = b"slow answer for %s\n" % self.path.encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()
        if self.path == "/quit":
            threading.Thread(target=self.server.shutdown).start()

    def log_message(self, *args):
        pass


BIG = bytes((i * 7 + (i >> 10)) & 0xFF for i in range(4 << 20))


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024


def main():
    server = Server(("127.0.0.1", 0), Handler)
    print("PORT", server.server_address[1], flush=True)
    server.serve_forever(poll_interval=0.1)
    server.server_close()
    print("stopped", flush=True)


if __name__ == "__main__":
    sys.exit(main())
