"""A partner's endpoint for tests: an HTTP server on 127.0.0.1 in a thread that records what it is sent.

`Receiver(status=500)` answers 500; `Receiver(hang=True)` never answers until the test ends (it waits on an event
that only closing the receiver sets), so a test that returns at all shows the sender gave up on its own.
"""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Receiver:
    def __init__(self, *, status: int = 200, body: bytes = b"thanks", hang: bool = False) -> None:
        self.status, self.body, self.hang = status, body, hang
        self.received: list[dict] = []
        self._release = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/hooks"

    def __enter__(self) -> "Receiver":
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._release.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                receiver.received.append({"headers": dict(self.headers), "body": self.rfile.read(length)})
                if receiver.hang:
                    receiver._release.wait()
                    return
                self.send_response(receiver.status)
                self.send_header("Content-Length", str(len(receiver.body)))
                self.end_headers()
                self.wfile.write(receiver.body)

            def log_message(self, *args: object) -> None:
                pass

        return Handler
