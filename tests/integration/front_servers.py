"""Loopback servers in front of the AWS stand-in, for the connection options users behind proxies need.

- ``make_certificates``: a private CA and a server certificate for 127.0.0.1 (what a
  TLS-inspecting proxy or a private endpoint presents), written as PEM files;
- ``tls_front``: an HTTPS endpoint that terminates TLS with that certificate and passes the bytes
  on to the plain-HTTP server behind it;
- ``auth_proxy``: an HTTP forward proxy that demands Basic proxy credentials and counts the requests
  it forwarded.

Both listen on 127.0.0.1 only, forward only to 127.0.0.1, and stop when their context ends.
"""

from __future__ import annotations

import base64
import datetime
import http.client
import ipaddress
import socket
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

LOOPBACK = "127.0.0.1"
IO_TIMEOUT = 30.0


@dataclass(frozen=True)
class Certificates:
    ca: Path  # the CA bundle a client must be given to trust the server
    cert: Path
    key: Path


def make_certificates(directory: Path) -> Certificates:
    """A CA and a server certificate for IP 127.0.0.1 signed by it (valid for one day)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.UTC)

    def build(subject: str, issuer: x509.Name | None, issuer_key, public_key, ca: bool):
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
        builder = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(issuer or name)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        if not ca:
            san = x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(LOOPBACK))])
            builder = builder.add_extension(san, critical=False)
        return builder.sign(issuer_key, hashes.SHA256())

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = build("keyless.aws test CA", None, ca_key, ca_key.public_key(), ca=True)
    server_key = ec.generate_private_key(ec.SECP256R1())
    server_cert = build(LOOPBACK, ca_cert.subject, ca_key, server_key.public_key(), ca=False)

    directory.mkdir(parents=True, exist_ok=True)
    paths = Certificates(directory / "ca.pem", directory / "server.pem", directory / "server.key")
    paths.ca.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    paths.cert.write_bytes(server_cert.public_bytes(serialization.Encoding.PEM))
    paths.key.write_bytes(
        server_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return paths


def _pump(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        for sock in (source, sink):
            with suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


@contextmanager
def tls_front(backend_port: int, certificates: Certificates) -> Iterator[str]:
    """``https://127.0.0.1:PORT`` in front of ``http://127.0.0.1:backend_port``."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certificates.cert, certificates.key)
    listener = socket.create_server((LOOPBACK, 0))
    listener.settimeout(0.5)
    stopping = threading.Event()
    connections: list[socket.socket] = []

    def serve_one(raw: socket.socket) -> None:
        try:
            raw.settimeout(IO_TIMEOUT)
            client = context.wrap_socket(raw, server_side=True)
        except (OSError, ssl.SSLError):  # a client that does not trust the certificate hangs up
            raw.close()
            return
        backend = socket.create_connection((LOOPBACK, backend_port), timeout=IO_TIMEOUT)
        connections.extend((client, backend))
        threading.Thread(target=_pump, args=(backend, client), daemon=True).start()
        _pump(client, backend)

    def accept() -> None:
        while not stopping.is_set():
            try:
                raw, _address = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=serve_one, args=(raw,), daemon=True).start()

    acceptor = threading.Thread(target=accept, daemon=True)
    acceptor.start()
    try:
        yield f"https://{LOOPBACK}:{listener.getsockname()[1]}"
    finally:
        stopping.set()
        acceptor.join(timeout=5)
        listener.close()
        for sock in connections:
            sock.close()


@dataclass
class ProxyLog:
    forwarded: list[str] = field(default_factory=list)  # "METHOD URL" of each forwarded request
    refused: int = 0  # requests without the right Proxy-Authorization


@contextmanager
def auth_proxy(user: str, password: str) -> Iterator[tuple[str, ProxyLog]]:
    """An HTTP forward proxy on 127.0.0.1 that needs ``user:password``; yields its URL and log."""
    expected = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
    log = ProxyLog()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            pass

        def forward(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.headers.get("Proxy-Authorization") != expected:
                log.refused += 1
                self.send_response(407)
                self.send_header("Proxy-Authenticate", 'Basic realm="test"')
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            target = urlsplit(self.path)
            if target.hostname != LOOPBACK or target.scheme != "http":
                self.send_error(403, "this proxy forwards only to http://127.0.0.1")
                return
            log.forwarded.append(f"{self.command} {self.path}")
            headers = {
                k: v
                for k, v in self.headers.items()
                if k.lower() not in ("proxy-authorization", "connection")
            }
            upstream = http.client.HTTPConnection(LOOPBACK, target.port, timeout=IO_TIMEOUT)
            try:
                upstream.request(self.command, target.path or "/", body=body, headers=headers)
                answer = upstream.getresponse()
                payload = answer.read()
            finally:
                upstream.close()
            self.send_response(answer.status)
            for key, value in answer.getheaders():
                if key.lower() not in ("transfer-encoding", "connection", "content-length"):
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = forward

    server = ThreadingHTTPServer((LOOPBACK, 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)
    thread.start()
    try:
        yield f"http://{LOOPBACK}:{server.server_address[1]}", log
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
