"""A push service on 127.0.0.1 for the tests (what FCM, Mozilla's or Apple's would be):
over https with a self-signed certificate, it takes a push to one of its phones, checks
its VAPID Authorization (RFC 8292) with the app's public key, decrypts the body with that
phone's private key and auth secret (RFC 8291, aes128gcm) and keeps what it read.

Each phone is made here as a browser makes one (a P-256 key pair and a 16-byte secret),
and its subscription is what ``PushSubscription.toJSON()`` gives."""

from __future__ import annotations

import base64
import json
import os
import ssl
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import http_ece
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid import jwt as vapid_jwt

from tests.mailserver import self_signed_certificate


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@dataclass
class Phone:
    name: str
    private_key: ec.EllipticCurvePrivateKey
    auth: bytes
    # The status the service answers pushes to this phone with (201: delivered).
    answer: int = 201


@dataclass
class Push:
    phone: str
    headers: dict[str, str]  # by lower-case name
    claims: dict
    # The decrypted body, read as JSON.
    message: dict


@dataclass
class PushService:
    folder: Path
    # The app's VAPID public key (base64url) a push must be signed with; None: any.
    app_key: str | None = None
    phones: dict[str, Phone] = field(default_factory=dict)
    received: list[Push] = field(default_factory=list)
    # Pushes answered with an error status, and pushes it could not read (the test fails).
    refused: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.cert, key = self_signed_certificate(self.folder)
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                service.take(self)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert, key)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.origin = f"https://127.0.0.1:{self.server.server_address[1]}"
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def phone(self, name: str) -> dict:
        """A new phone's subscription, as the browser's ``toJSON()`` gives it."""
        private = ec.generate_private_key(ec.SECP256R1())
        self.phones[name] = Phone(name, private, os.urandom(16))
        public = private.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return {
            "endpoint": f"{self.origin}/push/{name}",
            "expirationTime": None,
            "keys": {"p256dh": b64url(public), "auth": b64url(self.phones[name].auth)},
        }

    def to(self, name: str) -> list[Push]:
        return [push for push in self.received if push.phone == name]

    def take(self, request: BaseHTTPRequestHandler) -> None:
        body = request.rfile.read(int(request.headers.get("Content-Length") or 0))
        name = request.path.removeprefix("/push/")
        phone = self.phones.get(name)
        try:
            if phone is None:
                raise AssertionError(f"no phone at {request.path}")
            if phone.answer >= 300:
                with self.lock:
                    self.refused.append(name)
                request.send_response(phone.answer)
                request.end_headers()
                return
            claims = self.check_vapid(request.headers.get("Authorization", ""))
            if request.headers.get("Content-Encoding") != "aes128gcm":
                raise AssertionError(f"Content-Encoding {request.headers.get('Content-Encoding')}")
            plain = http_ece.decrypt(
                body, private_key=phone.private_key, auth_secret=phone.auth, version="aes128gcm"
            )
            headers = {key.lower(): value for key, value in request.headers.items()}
            push = Push(name, headers, claims, json.loads(plain))
        except Exception as exc:  # told to the test, answered as a push service would
            with self.lock:
                self.problems.append(f"{request.path}: {type(exc).__name__}: {exc}")
            request.send_response(400)
            request.end_headers()
            return
        with self.lock:
            self.received.append(push)
        request.send_response(201)
        request.send_header("Location", f"{self.origin}/message/{len(self.received)}")
        request.end_headers()

    def check_vapid(self, header: str) -> dict:
        """The claims of a valid ``vapid t=…, k=…`` Authorization (RFC 8292)."""
        scheme, _, rest = header.partition(" ")
        if scheme.lower() != "vapid":
            raise AssertionError(f"Authorization scheme {scheme!r}")
        parts = dict(part.strip().split("=", 1) for part in rest.split(","))
        if self.app_key is not None and parts["k"] != self.app_key:
            raise AssertionError("signed with another key than the app's")
        claims = vapid_jwt.decode(parts["t"], parts["k"])  # raises on a bad signature
        if claims.get("aud") != self.origin:
            raise AssertionError(f"aud {claims.get('aud')!r}, not {self.origin}")
        if not str(claims.get("sub", "")).startswith(("mailto:", "https:")):
            raise AssertionError(f"sub {claims.get('sub')!r}")
        if not time.time() < claims["exp"] <= time.time() + 24 * 3600:
            raise AssertionError(f"exp {claims['exp']} not within the next 24 hours")
        return claims
