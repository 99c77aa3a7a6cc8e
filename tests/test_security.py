"""The app's own defences: Markdown that must not go live, request text, the login lockout, the
security middleware (headers, closed development routes, the guarded upload route).

The end-to-end versions of these attacks run against `assistant serve` in tests/test_browser.py.
"""

from __future__ import annotations

import re

import pytest

from assistant.models import Answer
from assistant.render import answer_markdown, safe_markdown
from assistant.security import SECURITY_HEADERS, LoginGuard, RateLimit, SecurityMiddleware, clean_text

ATTACKS = [
    "Zie ![x](http://evil.example/a.png) hier.",
    "Een [klik hier](http://evil.example/) link.",
    "Genest: [![foto](http://evil.example/a.png)](http://evil.example/b).",
    "Referentie: ![x][1] en [tekst][ref].\n\n[1]: http://evil.example/c.png\n[ref]: http://evil.example/d",
    "Kaal: http://evil.example/e en www.evil.example en mail@evil.example.",
]


def _render_markdown(text: str) -> str:
    """The chat's Markdown rendered to HTML by a real CommonMark renderer with autolinks (markdown-it, the
    renderer Gradio's Python side ships), to see which constructs would become live."""
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"linkify": False}).enable(["table", "strikethrough"]).render(text)


@pytest.mark.parametrize("attack", ATTACKS)
def test_corpus_markdown_in_an_answer_renders_no_image_or_link(attack):
    answer = Answer(text=f"- **Bron**: “{attack}” [1]", citations=[], cases=[], refused=False, mode="extractive")
    shown = answer_markdown(answer)
    html = _render_markdown(shown)
    assert "<img" not in html and "<a " not in html, html
    assert not re.search(r"https?://", shown), shown  # no URL a linkifier could pick up
    assert "[1]" in shown and "<strong>Bron</strong>" in html  # our own citation marker and emphasis still work


def test_the_same_markdown_unescaped_would_have_been_live():
    """The check above can fail: rendered as it was, the attack makes an image and links."""
    html = _render_markdown(" ".join(ATTACKS[:3]))
    assert "<img" in html and "<a " in html


def test_safe_markdown_keeps_the_visible_text():
    assert safe_markdown("[klik](http://x.nl)") == "&#91;klik&#93;(http&#58;//x.nl)"
    assert safe_markdown("Zie [3] en [12].") == "Zie [3] en [12]."
    assert safe_markdown("<b>vet</b> & co") == "&lt;b&gt;vet&lt;/b&gt; &amp; co"


def test_clean_text_removes_lone_surrogates_and_nul():
    text = "vraag \ud800 met \x00 nul"
    cleaned = clean_text(text)
    cleaned.encode("utf-8")  # a lone surrogate would raise here
    assert "\x00" not in cleaned and cleaned.startswith("vraag ")
    assert clean_text("a" * 5000, 2000) == "a" * 2000
    assert clean_text(None) == ""


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_login_guard_locks_a_client_out_after_repeated_failures_even_for_the_right_password():
    clock = Clock()
    guard = LoginGuard(max_failures=5, window=900, lockout=900, clock=clock)
    for _ in range(5):
        assert guard.attempt("10.0.0.1", ok=False) is None
    assert guard.locked("10.0.0.1") == pytest.approx(900)
    assert guard.attempt("10.0.0.1", ok=True) is None  # locked: the right password does not help
    assert guard.attempt("10.0.0.2", ok=True) is not None  # another client is not affected
    clock.now += 901
    session = guard.attempt("10.0.0.1", ok=True)
    assert session is not None and guard.valid(session, "10.0.0.1")


def test_login_guard_forgets_failures_outside_its_window():
    clock = Clock()
    guard = LoginGuard(max_failures=3, window=60, lockout=600, clock=clock)
    for _ in range(10):
        guard.attempt("c", ok=False)
        clock.now += 31  # never three within a minute
    assert guard.locked("c") == 0


def test_admin_session_expires_and_belongs_to_its_client():
    clock = Clock()
    guard = LoginGuard(session_seconds=60, clock=clock)
    session = guard.attempt("10.0.0.1", ok=True)
    assert guard.valid(session, "10.0.0.1") and guard.client_is_admin("10.0.0.1")
    assert not guard.valid(session, "10.0.0.9")  # a stolen session id from another address
    assert not guard.valid(True, "10.0.0.1") and not guard.valid(None, "10.0.0.1")
    clock.now += 61
    assert not guard.valid(session, "10.0.0.1") and not guard.client_is_admin("10.0.0.1")


def test_failed_logins_are_logged_without_the_password(caplog):
    guard = LoginGuard()
    with caplog.at_level("WARNING", logger="assistant.security"):
        guard.attempt("10.1.2.3", ok=False)
    assert "10.1.2.3" in caplog.text and "failed admin login" in caplog.text


def test_rate_limit():
    clock = Clock()
    limit = RateLimit(count=2, seconds=10, clock=clock)
    assert limit.allow("a") and limit.allow("a") and not limit.allow("a") and limit.allow("b")
    clock.now += 11
    assert limit.allow("a")


# --- the middleware around a real Starlette app --------------------------------------------------

def _client(guard, max_bytes=1000):
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route
    from starlette.testclient import TestClient

    async def ok(request):
        await request.body()
        return PlainTextResponse("ok")

    inner = Starlette(routes=[Route("/", ok, methods=["GET", "POST"]), Route("/gradio_api/upload", ok, methods=["POST"]),
                              Route("/gradio_api/dev/reload", ok)])
    return TestClient(SecurityMiddleware(inner, guard=guard, max_upload_bytes=max_bytes,
                                         uploads=RateLimit(count=3, seconds=600)), client=("10.0.0.5", 5000))


def test_every_response_carries_the_security_headers():
    response = _client(LoginGuard()).get("/")
    assert response.text == "ok"
    for name, value in SECURITY_HEADERS.items():
        assert response.headers[name] == value
    csp = response.headers["content-security-policy"]
    assert "img-src 'self' data: blob:" in csp and "frame-ancestors 'none'" in csp


def test_development_reload_route_is_closed():
    assert _client(LoginGuard()).get("/gradio_api/dev/reload").status_code == 404


def test_upload_route_needs_an_admin_session_of_that_client_and_is_bounded():
    guard = LoginGuard()
    client = _client(guard)
    files = {"files": ("a.md", b"tekst", "text/markdown")}
    assert client.post("/gradio_api/upload", files=files).status_code == 403
    guard.attempt("10.0.0.99", ok=True)  # an admin elsewhere does not open the route for this client
    assert client.post("/gradio_api/upload", files=files).status_code == 403
    guard.attempt("10.0.0.5", ok=True)
    assert client.post("/gradio_api/upload", files=files).status_code == 200
    big = {"files": ("b.md", b"x" * 200_000, "text/markdown")}
    assert client.post("/gradio_api/upload", files=big).status_code == 413
    statuses = [client.post("/gradio_api/upload", files=files).status_code for _ in range(4)]
    assert statuses.count(429) >= 2  # 3 per 10 minutes, one used above


def test_upload_route_is_closed_without_an_admin_password():
    client = _client(None)
    assert client.post("/gradio_api/upload", files={"files": ("a.md", b"x", "text/plain")}).status_code == 403


def test_routes_that_read_unbounded_bodies_without_login_are_closed():
    client = _client(LoginGuard())
    for path in ("/gradio_api/component_server", "/gradio_api/component_server/", "/gradio_api/process_recording",
                 "/monitoring", "/monitoring/summary"):
        assert client.post(path, content=b"x").status_code == 404, path


def test_request_bodies_outside_the_upload_route_are_bounded():
    from assistant.security import MAX_BODY_BYTES

    client = _client(LoginGuard())
    assert client.post("/", content=b"x" * 100).status_code != 413
    assert client.post("/", content=b"x" * (MAX_BODY_BYTES + 1)).status_code == 413

    def chunks():
        yield b"x" * 10

    assert client.post("/", content=chunks()).status_code == 411  # no stated size: refused
