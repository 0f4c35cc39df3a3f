"""Test support (not a test module): a hostile chat server on 127.0.0.1, and a recorder.

`Hostile` is a real http.server whose behaviour is chosen by the first part of the request path
(the client is given a full '.../MODE/v1/chat/completions' URL):

  redirect302, redirect307   a redirect to the recorder's chat URL (another port: another origin)
  huge                       200, Content-Length 500 MB, and megabytes of body until the client leaves
  endless                    200, chunked, a body that never ends
  drip                       200 headers, then a valid answer one byte every `drip` seconds
  driphead                   the status line and headers themselves one byte every `drip` seconds
  long-N                     a valid answer whose text is N bytes (written in pieces)
  labels-N                   a valid answer naming N distinct emotion words (written in pieces)
  gzip                       a gzip-encoded body (a bomb in small: 10 MB of zeros)

Run as a script (`python -m tests.hostile_http REDIRECT_ROOT`), it serves in a process of its
own and prints its root URL, so a test measures the client's memory apart from the server's.

`Recorder` answers every request with a good reply and records method, path and headers, so a
test sees whether a request (and its Authorization header) reached it.
"""
from __future__ import annotations

import gzip
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def reply_body(text: str) -> bytes:
    return json.dumps({"choices": [{"message": {"role": "assistant", "content": text}}]}).encode()


class LocalServer:
    """A threading http.server on a free port of 127.0.0.1, served from a daemon thread; `root` is its URL."""

    def __init__(self, handler: type[BaseHTTPRequestHandler]):
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.root = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


class Recorder(LocalServer):
    """Answers 200 to anything; `seen` holds (method, path, headers) of each request."""

    def __init__(self):
        self.seen: list[tuple[str, str, dict]] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def answer(self):
                owner.seen.append((self.command, self.path, dict(self.headers)))
                body = reply_body("Emotions: stolen")
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = answer

        super().__init__(Handler)


class Hostile(LocalServer):
    def __init__(self, redirect_to: str = "", drip: float = 0.5):
        owner = self
        self.redirect_to = redirect_to
        self.drip = drip

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                self.do_POST()

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                mode = self.path.strip("/").split("/")[0]
                try:
                    self.behave(mode)
                except (BrokenPipeError, ConnectionResetError, TimeoutError):
                    pass  # the client gave up, as the tests intend
                self.close_connection = True

            def plain(self, body: bytes, status: int = 200, **headers):
                self.send_response(status)
                for key, value in {"Content-Length": str(len(body)), **headers}.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(body)

            def streamed(self, size: int, pieces, prefix: str = ""):
                """A reply whose text (prefix + pieces, `size` bytes after the prefix) is written
                piece by piece, so the server never holds it whole."""
                head, tail = reply_body(prefix + "@").split(b"@")
                self.send_response(200)
                self.send_header("Content-Length", str(len(head) + size + len(tail)))
                self.end_headers()
                self.wfile.write(head)
                for piece in pieces:
                    self.wfile.write(piece)
                self.wfile.write(tail)

            def behave(self, mode: str):
                if mode.startswith("redirect"):
                    self.plain(b"", int(mode[-3:]), Location=f"{owner.redirect_to}/v1/chat/completions")
                elif mode == "huge":
                    self.send_response(200)
                    self.send_header("Content-Length", str(500_000_000))
                    self.end_headers()
                    block = b"x" * (1 << 20)
                    for _ in range(500):
                        self.wfile.write(block)
                elif mode == "endless":
                    self.send_response(200)
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    block = b"x" * (1 << 16)
                    chunk = b"%x\r\n" % len(block) + block + b"\r\n"
                    while True:
                        self.wfile.write(chunk)
                elif mode == "drip":
                    body = reply_body("Emotions: patient")
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.flush()
                    for byte in body:
                        time.sleep(owner.drip)
                        self.wfile.write(bytes([byte]))
                        self.wfile.flush()
                elif mode == "driphead":
                    body = reply_body("Emotions: patient")
                    head = f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\n" + "X-Pad: a\r\n" * 100 + "\r\n"
                    for byte in head.encode() + body:
                        time.sleep(owner.drip)
                        self.wfile.write(bytes([byte]))
                        self.wfile.flush()
                elif mode.startswith("long-"):
                    size = int(mode[5:])
                    self.streamed(size, (b"a" * min(1 << 20, size - done) for done in range(0, size, 1 << 20)))
                elif mode.startswith("labels-"):
                    count = int(mode[7:])
                    pieces = [", ".join(f"w{i}" for i in range(start, min(count, start + 10_000))).encode()
                              for start in range(0, count, 10_000)]
                    self.streamed(sum(map(len, pieces)) + 2 * (len(pieces) - 1),
                                  (b", " * bool(i) + piece for i, piece in enumerate(pieces)),
                                  prefix="A description.\nEmotions: ")
                elif mode == "gzip":
                    self.plain(gzip.compress(b"0" * 10_000_000), **{"Content-Encoding": "gzip"})
                else:
                    self.plain(b"unknown mode", 404)

        super().__init__(Handler)

    def url(self, mode: str) -> str:
        """The chat URL that makes the server behave as `mode`."""
        return f"{self.root}/{mode}/v1/chat/completions"


def main() -> None:
    import sys

    with Hostile(redirect_to=sys.argv[1] if len(sys.argv) > 1 else "") as server:
        print(server.root, flush=True)
        sys.stdin.read()  # until the test closes our stdin


if __name__ == "__main__":
    main()
