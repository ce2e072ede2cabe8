"""sandbox/awscalls.py: the requests it sends to the AWS stand-in's control endpoints."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import awscalls
import pytest

Request = tuple[str, str, str | None, bytes]


class Recorder(BaseHTTPRequestHandler):
    """Answers 200 to every POST and remembers (method, path, content type, body)."""

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.server.seen.append(("POST", self.path, self.headers.get("Content-Type"), body))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[tuple[str, list[Request]]]:
    """A loopback endpoint and the list of requests it received."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    httpd.seen = []
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_port}", httpd.seen
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_enforcement_on_leaves_moto_zero_unchecked_requests(server) -> None:
    endpoint, seen = server
    awscalls.set_enforcement(endpoint, on=True)
    assert seen == [("POST", "/moto-api/reset-auth", "text/plain", b"0")]


def test_enforcement_off_lets_every_request_through(server) -> None:
    endpoint, seen = server
    awscalls.set_enforcement(endpoint + "/", on=False)
    assert seen == [("POST", "/moto-api/reset-auth", "text/plain", b"inf")]


def test_reset_all_empties_moto_and_the_call_record(server) -> None:
    endpoint, seen = server
    awscalls.reset_all(endpoint)
    assert [(request[0], request[1]) for request in seen] == [
        ("POST", "/moto-api/reset"),
        ("POST", "/_keyless/calls/reset"),
    ]
