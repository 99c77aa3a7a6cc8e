"""What the web app does against attackers and unlucky input, independent of Gradio's own checks.

- `clean_text`: text from a request made safe to store and send back (no lone surrogates, no NUL).
- `LoginGuard`: the admin login's per-client lockout after repeated wrong passwords, failed logins
  logged (never the password), and admin sessions that expire and belong to one client address.
- `SecurityMiddleware`: a plain ASGI middleware around the Gradio app that adds security headers to
  every response (Content-Security-Policy, X-Frame-Options, Referrer-Policy, …), closes Gradio's
  development routes, and lets only a logged-in admin's client use the upload route, within a size
  and rate bound.

The app belongs behind HTTPS (a reverse proxy) when it is reachable from other machines: the admin
password and the session travel with every request.
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass

log = logging.getLogger("assistant.security")

# Images, fonts, scripts and connections only from the app itself; no framing by other sites.
# Gradio's page needs inline scripts and styles (its config is an inline script).
CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self' 'unsafe-inline' 'unsafe-eval'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self' data:",
    "connect-src 'self'",
    "media-src 'self' data: blob:",
    "worker-src 'self' blob:",
    "frame-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])
SECURITY_HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "x-content-type-options": "nosniff",
    "permissions-policy": "camera=(), microphone=(), geolocation=()",
}
_HEADER_PAIRS = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in SECURITY_HEADERS.items()]
# Gradio routes this app never needs: live reload for developers, component server functions and audio
# recording (both read multipart bodies of any size into memory, without login), monitoring.
CLOSED_PATHS = ("/gradio_api/dev/reload", "/dev/reload", "/gradio_api/component_server", "/component_server",
                "/gradio_api/process_recording", "/process_recording", "/monitoring", "/gradio_api/monitoring")
# Largest request body outside the upload route (a question with its bounded conversation is far smaller).
MAX_BODY_BYTES = 2 * 1024 * 1024
UPLOAD_PATHS = ("/gradio_api/upload",)


def clean_text(text: object, limit: int | None = None) -> str:
    """Request text safe to store, search and send back as JSON: lone surrogates (which break the
    stream's JSON encoder) and NUL characters become U+FFFD; cut to `limit` characters when given."""
    value = text if isinstance(text, str) else ("" if text is None else str(text))
    value = value.encode("utf-16", "surrogatepass").decode("utf-16", "replace").replace("\x00", "\ufffd")
    return value[:limit] if limit is not None else value


@dataclass
class AdminSession:
    client: str
    expires: float
    token: str = ""  # live until the session expires or logs out (LoginGuard keeps the live tokens)


class LoginGuard:
    """Per-client lockout of the admin login and the admin sessions it grants.

    After `max_failures` wrong passwords within `window` seconds a client is locked out for
    `lockout` seconds: every attempt is refused without looking at the password, the right one too.
    """

    def __init__(self, *, max_failures: int = 5, window: float = 900.0, lockout: float = 900.0,
                 session_seconds: float = 3600.0, clock=time.monotonic) -> None:
        self.max_failures, self.window, self.lockout = max_failures, window, lockout
        self.session_seconds = session_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._failures: dict[str, deque[float]] = {}
        self._locked_until: dict[str, float] = {}
        self._sessions: dict[str, float] = {}  # client address -> newest session's expiry
        self._tokens: dict[str, tuple[str, float]] = {}  # live session token -> (client address, expiry)

    def locked(self, client: str) -> float:
        """Seconds this client must still wait before it may try again (0: it may try)."""
        with self._lock:
            return max(0.0, self._locked_until.get(client, 0.0) - self._clock())

    def attempt(self, client: str, ok: bool) -> AdminSession | None:
        """Record a login attempt whose password check gave `ok`; a session when it is granted.
        A locked-out client gets None whatever the password was."""
        now = self._clock()
        with self._lock:
            if self._locked_until.get(client, 0.0) > now:
                log.warning("admin login refused for %s: locked out after repeated wrong passwords", client)
                return None
            if ok:
                self._failures.pop(client, None)
                expires = now + self.session_seconds
                self._sessions[client] = expires
                token = secrets.token_hex(16)
                self._tokens = {t: v for t, v in self._tokens.items() if v[1] > now}  # expired ones go
                self._tokens[token] = (client, expires)
                log.info("admin login from %s", client)
                return AdminSession(client, expires, token)
            failures = self._failures.setdefault(client, deque())
            failures.append(now)
            while failures and failures[0] < now - self.window:
                failures.popleft()
            log.warning("failed admin login from %s (%d within %d min)", client, len(failures), self.window // 60)
            if len(failures) >= self.max_failures:
                self._locked_until[client] = now + self.lockout
                failures.clear()
                log.warning("admin login locked for %s for %d min", client, self.lockout // 60)
            return None

    def valid(self, session: object, client: str) -> bool:
        """Whether a session (the value kept in the page's state) is live and belongs to this client."""
        if not isinstance(session, AdminSession):
            return False
        with self._lock:
            live = self._tokens.get(session.token, ("", 0.0))[0] == client
        return live and session.client == client and session.expires > self._clock()

    def client_is_admin(self, client: str) -> bool:
        """Whether this address holds a live admin session (the upload route is open to it only)."""
        with self._lock:
            return self._sessions.get(client, 0.0) > self._clock()

    def logout(self, client: str, session: object = None) -> None:
        """End a session (its token no longer counts); the client's upload route closes when it holds
        no other live session. Without a session: every session of the client ends."""
        with self._lock:
            if isinstance(session, AdminSession):
                self._tokens.pop(session.token, None)
            else:
                self._tokens = {t: v for t, v in self._tokens.items() if v[0] != client}
            if all(c != client for c, _ in self._tokens.values()):
                self._sessions.pop(client, None)
            log.info("admin logout from %s", client)


class RateLimit:
    """At most `count` events per `seconds` per key."""

    def __init__(self, count: int, seconds: float, clock=time.monotonic) -> None:
        self.count, self.seconds, self._clock = count, seconds, clock
        self._lock = threading.Lock()
        self._events: dict[str, deque[float]] = {}

    def allow(self, key: str) -> bool:
        now = self._clock()
        with self._lock:
            events = self._events.setdefault(key, deque())
            while events and events[0] < now - self.seconds:
                events.popleft()
            if len(events) >= self.count:
                return False
            events.append(now)
            return True


class SecurityMiddleware:
    """ASGI middleware: security headers on every response, development routes closed, and the
    upload route open only to a client with a live admin session, bounded in size and rate.

    A plain ASGI middleware (not Starlette's BaseHTTPMiddleware), so streamed answers stay streamed."""

    def __init__(self, app, *, guard: LoginGuard | None, max_upload_bytes: int,
                 uploads: RateLimit | None = None) -> None:
        self.app = app
        self.guard = guard
        self.max_upload_bytes = max_upload_bytes
        self.uploads = uploads or RateLimit(count=20, seconds=600.0)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        path = scope.get("path", "")
        client = (scope.get("client") or ("?", 0))[0]
        clean = path.rstrip("/")
        if clean in CLOSED_PATHS or any(clean.startswith(p + "/") for p in CLOSED_PATHS):
            return await _refuse(send, 404, "Not found.")
        if clean in UPLOAD_PATHS:
            refusal = self._upload_refusal(scope, client)
            if refusal is not None:
                log.warning("upload refused for %s: %s", client, refusal[1])
                return await _refuse(send, *refusal)
        elif scope.get("method") in ("POST", "PUT", "PATCH"):
            refusal = _body_refusal(scope)
            if refusal is not None:
                log.warning("request to %s refused for %s: %s", path, client, refusal[1])
                return await _refuse(send, *refusal)

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", [])
                           if k.decode("latin-1").lower() not in SECURITY_HEADERS]
                headers += _HEADER_PAIRS
                message = {**message, "headers": headers}
            await send(message)

        return await self.app(scope, receive, send_with_headers)

    def _upload_refusal(self, scope, client: str) -> tuple[int, str] | None:
        if self.guard is None:
            return 403, "Uploads are not available in this app (no admin password is set)."
        if not self.guard.client_is_admin(client):
            return 403, "Uploading needs an admin login (Beheer tab)."
        try:
            size = _content_length(dict(scope.get("headers") or []))
        except ValueError:
            size = None
        if size is None:
            return 411, "An upload must state its size (Content-Length)."
        # The multipart envelope adds a little to the file itself.
        if size > self.max_upload_bytes + 64 * 1024:
            return 413, f"The file is larger than the upload limit of {self.max_upload_bytes} bytes."
        if not self.uploads.allow(client):
            return 429, "Too many uploads; wait a few minutes."
        return None


def _body_refusal(scope) -> tuple[int, str] | None:
    """Bodies outside the upload route: a stated size within MAX_BODY_BYTES (no unbounded chunked bodies)."""
    headers = dict(scope.get("headers") or [])
    try:
        size = _content_length(headers)
    except ValueError:
        return 400, "Invalid Content-Length."
    if size is None:
        if b"chunked" in headers.get(b"transfer-encoding", b"").lower():
            return 411, "A request body must state its size (Content-Length)."
        return None
    if size > MAX_BODY_BYTES:
        return 413, f"The request is larger than {MAX_BODY_BYTES} bytes."
    return None


def _content_length(headers: dict[bytes, bytes]) -> int | None:
    """The stated body size, None when not stated; ValueError when it is not a number."""
    length = headers.get(b"content-length")
    return None if length is None else int(length)


async def _refuse(send, status: int, message: str) -> None:
    body = json.dumps({"error": message}).encode("utf-8")
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    headers += _HEADER_PAIRS
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
