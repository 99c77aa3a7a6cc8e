"""The app in a real browser: Debian's Chromium driven by Playwright, against `assistant serve`.

The app runs as a subprocess on a free loopback port with a copy of the fixture corpus (plus a
document that tries to inject a script). Screenshots go to $ASSISTANT_TEST_ARTIFACTS (set by
.ci/run) or the test's temporary folder. Without /usr/bin/chromium the tests skip, unless
ASSISTANT_REQUIRE_BROWSER=1 (CI) makes that a failure.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import DATA, REPO, free_port, stop_process, wait_for_port

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
PASSWORD = "juist-wachtwoord"
XSS_DOC = """---
title: Werkoverleg in de kapsalon
kind: artikel
---

## Werkoverleg

De kapsalon houdt elke maandag werkoverleg <script>window.__wwXss = 1</script> met alle stylisten <img src=x onerror="window.__wwXss = 2">.

## Rooster

Het rooster van de kapsalon hangt in de kantine [![rooster](LEAK/img.png)](LEAK/klik). De planning van de kapsalon staat in [de map](LEAK/link) bij de kassa.
"""
MARKDOWN_DOC = """---
title: Glasfabriek Helder werkt in cellen
kind: artikel
date: 2020-06
publisher: Testkrant
---

## Werkwijze

**Glasfabriek Helder** werkt sinds 2020 in productiecellen volgens *Quick Response Manufacturing*. Elke cel plant & bewaakt haar eigen orders.
"""
TIMEOUT = 60_000
MONTH_TIME = r"\d{1,2} (jan|feb|mrt|apr|mei|jun|jul|aug|sep|okt|nov|dec) \d{4} \d\d:\d\d"


def _artifacts(tmp_path_factory) -> Path:
    folder = os.environ.get("ASSISTANT_TEST_ARTIFACTS")
    path = Path(folder) if folder else tmp_path_factory.mktemp("artifacts")
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        if os.environ.get("ASSISTANT_REQUIRE_BROWSER") == "1":
            pytest.fail(f"{CHROMIUM} is missing; install it with `apt-get install chromium`")
        pytest.skip(f"browser tests need Debian's chromium at {CHROMIUM} (`apt-get install chromium`)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def leak_server():
    """A loopback web server standing in for an outside site: it records every request it gets."""
    import http.server
    import threading

    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's name)
            hits.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield {"url": f"http://127.0.0.1:{server.server_address[1]}", "hits": hits}
    server.shutdown()


@pytest.fixture(scope="module")
def app(tmp_path_factory, browser, leak_server):
    """`assistant serve` on a free port; the first start builds the index."""
    root = tmp_path_factory.mktemp("app")
    corpus = root / "corpus"
    shutil.copytree(DATA / "corpus", corpus)
    # Protocol-relative addresses ("//host/…"): the answer step skips sentences with "http://" as reading
    # tips, so this is the form that reaches an extractive answer.
    leak = leak_server["url"].removeprefix("http:")
    (corpus / "documents" / "kapsalon.md").write_text(XSS_DOC.replace("LEAK", leak), encoding="utf-8")
    # Skipped with a warning that quotes the kind: the Beheer status must not make it a live link.
    (corpus / "documents" / "foute-soort.md").write_text(
        f'---\ntitle: Foute soort\nkind: "[Klik hier]({leak_server["url"]}/phish)"\n---\n\nTekst.\n', encoding="utf-8")
    (corpus / "documents" / "glasfabriek.md").write_text(MARKDOWN_DOC, encoding="utf-8")
    (corpus / "themes").mkdir()
    shutil.copy(DATA / "themes" / "theme-zelfsturing.md", corpus / "themes")
    port = free_port()
    env = {**os.environ, "ASSISTANT_CORPUS_DIR": str(corpus), "ASSISTANT_INDEX_DIR": str(root / "index"),
           "ASSISTANT_ADMIN_PASSWORD": PASSWORD, "ASSISTANT_FEEDBACK_DB_PATH": str(root / "feedback.sqlite3"),
           "GRADIO_ANALYTICS_ENABLED": "False"}
    log = open(root / "serve.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "assistant", "serve", "--port", str(port)], env=env, cwd=REPO,
                            stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for_port(port, proc, seconds=180)
        yield {"url": f"http://127.0.0.1:{port}/", "root": root, "corpus": corpus}
    finally:
        stop_process(proc)
        log.close()


@pytest.fixture
def page(browser, app):
    context = browser.new_context(locale="nl-NL", viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT)
    page.goto(app["url"])
    page.locator("#ww-question textarea").wait_for()
    yield page
    context.close()


def ask(page, question: str) -> None:
    page.locator("#ww-question textarea").fill(question)
    page.locator("#ww-send").click()


def test_question_gets_a_cited_answer_with_source_cards(page, tmp_path_factory):
    ask(page, "Hoeveel subsidie kan een bedrijf per traject krijgen?")
    chat = page.locator("#ww-chat")
    chat.get_by_text("ten hoogste 10.000 euro").first.wait_for()
    assert "[1]" in chat.inner_text()
    card = page.locator("#ww-sources .ww-card").first
    assert "Stimuleringsregeling voor het mkb" in card.inner_text()
    assert "10.000 euro" in card.locator("mark").first.inner_text()  # the used sentence is highlighted
    page.screenshot(path=str(_artifacts(tmp_path_factory) / "chat.png"), full_page=True)


def test_open_source_shows_the_highlighted_passage_in_its_document(page, tmp_path_factory):
    ask(page, "Hoeveel subsidie kan een bedrijf per traject krijgen?")
    page.locator("#ww-sources .ww-card").first.wait_for()
    page.locator("#ww-sources .ww-card").first.get_by_role("button", name="Open in document").click()
    selected = page.locator("#ww-doc-view #ww-selected")
    selected.wait_for()
    assert selected.is_visible() and "10.000 euro" in selected.locator("mark").first.inner_text()
    assert "Stimuleringsregeling voor het mkb" in page.locator("#ww-doc-view h2").inner_text()
    assert "Inhoud" in page.locator("#ww-doc-view").inner_text()  # the heading outline
    page.screenshot(path=str(_artifacts(tmp_path_factory) / "document.png"), full_page=True)


def test_a_theme_question_leads_with_the_theme_and_opens_it_and_its_source(page, tmp_path_factory):
    ask(page, "Hoe voer ik zelfsturende ploegen in?")
    answer = page.locator("#ww-chat .message.bot").first
    answer.get_by_text("door ons geschreven, geen citaat").first.wait_for()
    assert "De eigenaar begon klein" in answer.inner_text()
    button = page.locator("#ww-open-theme")
    button.wait_for()
    assert "Zelfsturende ploegen invoeren" in button.inner_text()
    page.screenshot(path=str(_artifacts(tmp_path_factory) / "chat-theme.png"), full_page=True)
    button.click()
    view = page.locator("#ww-theme-view .ww-theme")
    view.get_by_text("Samenvatting — door ons geschreven").wait_for()
    assert page.locator("#ww-theme-view h2").inner_text() == "Zelfsturende ploegen invoeren"
    assert view.locator(".ww-theme-point").count() == 4
    assert "De chef-bakker werd coach in plaats van controleur." in view.inner_text()
    assert "Praktijkvoorbeeld: De Korenschoof" in view.inner_text()
    page.screenshot(path=str(_artifacts(tmp_path_factory) / "themas.png"), full_page=True)
    # The second point's quote opens in its document, marked.
    view.locator(".ww-theme-point").nth(1).get_by_role("button", name="Open in document").click()
    selected = page.locator("#ww-doc-view #ww-selected")
    selected.wait_for()
    assert "De chef-bakker werd coach in plaats van controleur." in selected.locator("mark").first.inner_text()
    assert "Zelfsturende teams in de bakkerij" in page.locator("#ww-doc-view h2").inner_text()


def test_the_themes_tab_lists_the_guides_on_a_phone(browser, app, tmp_path_factory):
    context = browser.new_context(locale="nl-NL", viewport={"width": 390, "height": 844}, is_mobile=True)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT)
    page.goto(app["url"])
    page.locator("#ww-question textarea").wait_for()
    tab = page.get_by_role("tab", name="Thema's")
    if not tab.is_visible():  # on a phone Gradio folds the last tabs into its "more tabs" menu
        page.locator('button[aria-label="More tabs"]').click()
        page.locator(".overflow-dropdown").get_by_text("Thema's").click()
    else:
        tab.click()
    page.get_by_label("Zelfsturende ploegen invoeren").check()
    view = page.locator("#ww-theme-view .ww-theme")
    view.locator(".ww-point-lead").get_by_text("Begin met één ploeg").wait_for()
    box = view.bounding_box()
    assert box is not None and box["width"] <= 390
    page.screenshot(path=str(_artifacts(tmp_path_factory) / "themas-phone.png"), full_page=True)
    context.close()


def test_like_is_stored_once_and_shown_only_to_the_admin(page, app, browser):
    import sqlite3

    ask(page, "Wat deed de chef-bakker?")
    page.locator("#ww-chat").get_by_text("coach in plaats van controleur").first.wait_for()
    # Dislike, then like the same answer: one vote, the last one (votes are not multiplied by clicking).
    for button in ("Vind ik niet leuk", "Vind ik leuk"):
        page.locator("#ww-chat").get_by_role("button", name=button, exact=True).last.click()
        page.get_by_text("je feedback is opgeslagen").last.wait_for()
        page.wait_for_timeout(500)
    with sqlite3.connect(app["root"] / "feedback.sqlite3") as db:
        rows = db.execute("SELECT question, liked, answer, build_id, citations FROM feedback "
                          "WHERE question = 'Wat deed de chef-bakker?'").fetchall()
    assert len(rows) == 1
    question, liked, answer, build_id, citations = rows[0]
    assert liked and build_id and "coach in plaats van controleur" in answer and json.loads(citations)[0]["title"]
    # A new anonymous visitor's page holds none of it; the admin sees it after logging in.
    other = browser.new_context(locale="nl-NL").new_page()
    other.goto(app["url"])
    other.locator("#ww-question textarea").wait_for()
    other.wait_for_timeout(1000)
    assert "Wat deed de chef-bakker?" not in other.content()
    other.context.close()
    page.get_by_role("tab", name="Beheer").click()
    page.locator("#ww-admin-pw input").fill(PASSWORD)
    page.locator("#ww-admin-login").click()
    page.wait_for_function("() => (document.querySelector('#ww-feedback')?.innerText || '')"
                           ".includes('Wat deed de chef-bakker?')")


def test_out_of_scope_question_shows_the_refusal(page):
    ask(page, "Wat is de hoofdstad van Frankrijk?")
    page.locator("#ww-chat").get_by_text("Daar kan ik geen antwoord op geven").first.wait_for()
    assert "Geen bronnen bij dit antwoord" in page.locator("#ww-sources").inner_text()


def test_corpus_html_is_shown_as_text_not_run(page):
    ask(page, "Wanneer is het werkoverleg in de kapsalon?")
    card = page.locator("#ww-sources .ww-card", has_text="Werkoverleg in de kapsalon").first
    card.wait_for()
    assert "<script>window.__wwXss = 1</script>" in card.inner_text()
    assert page.evaluate("window.__wwXss") is None


def test_corpus_markdown_loads_nothing_from_outside_and_links_nowhere(page, leak_server):
    ask(page, "Waar hangt het rooster van de kapsalon?")
    chat = page.locator("#ww-chat")
    chat.get_by_text("hangt in de kantine").first.wait_for()
    page.wait_for_timeout(1500)  # time for an image to load, if one were live
    assert leak_server["hits"] == []
    assert chat.locator(f'img[src^="{leak_server["url"]}"]').count() == 0
    assert chat.locator(f'a[href^="{leak_server["url"]}"]').count() == 0
    # CSP is the second line: even an outside image placed in the page does not load.
    page.evaluate(f"() => {{ const i = new Image(); i.src = '{leak_server['url']}/csp.png'; document.body.appendChild(i); }}")
    page.wait_for_timeout(1000)
    assert leak_server["hits"] == []


def _http(app, path: str, method: str = "GET", body: bytes | None = None, headers: dict | None = None,
          source: str = "127.0.0.1"):
    """A plain HTTP request to the app from a chosen loopback address (the server sees that address)."""
    import http.client

    port = int(app["url"].rstrip("/").rsplit(":", 1)[1])
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30, source_address=(source, 0))
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, dict((k.lower(), v) for k, v in response.getheaders()), response.read()
    finally:
        conn.close()


def test_every_response_has_security_headers_and_dev_reload_is_closed(app):
    status, headers, body = _http(app, "/")
    assert status == 200 and b"gradio" in body.lower()
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert headers["x-frame-options"] == "DENY" and headers["referrer-policy"] == "no-referrer"
    assert _http(app, "/gradio_api/dev/reload")[0] == 404


def test_anonymous_upload_through_gradios_route_is_refused(app):
    boundary = "wwboundary"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"x.md\"\r\n"
            f"Content-Type: text/markdown\r\n\r\n{'x' * 1000}\r\n--{boundary}--\r\n").encode()
    headers = {"Content-Type": f"multipart/form-data; boundary={boundary}", "Content-Length": str(len(body))}
    # From an address that never logged in (the admin tests log in from 127.0.0.1).
    status, _, answer = _http(app, "/gradio_api/upload", "POST", body, headers, source="127.0.0.2")
    assert status == 403 and b"admin" in answer


def test_feedback_is_not_sent_to_anonymous_visitors(page):
    assert page.locator("#ww-feedback").count() == 0 or not page.locator("#ww-feedback").is_visible()
    page.get_by_role("tab", name="Bronnen").click()
    assert page.get_by_role("tab", name="Feedback").count() == 0


def test_admin_tab_refuses_a_wrong_password_and_accepts_the_right_one(page):
    page.get_by_role("tab", name="Beheer").click()
    page.locator("#ww-admin-pw input").fill("fout")
    page.locator("#ww-admin-login").click()
    page.get_by_text("Onjuist wachtwoord.").wait_for()
    assert not page.locator("#ww-admin-update").is_visible()
    page.locator("#ww-admin-pw input").fill(PASSWORD)
    page.locator("#ww-admin-login").click()
    page.locator("#ww-admin-update").wait_for()
    status = page.locator("#ww-admin-status")
    assert "passages" in status.inner_text() and "phish" in status.inner_text()
    assert status.locator("a").count() == 0  # the quoted front matter is text, not a link


def test_upload_adds_a_document_and_indexes_it(page, app):
    page.get_by_role("tab", name="Beheer").click()
    page.locator("#ww-admin-pw input").fill(PASSWORD)
    page.locator("#ww-admin-login").click()
    page.locator("#ww-admin-upload").wait_for()
    source = app["root"] / "Nieuwe aanpak ..-schoonmaak.md"
    source.write_text("---\ntitle: Schoonmaakbedrijf met teams\nkind: artikel\n---\n\n"
                      "Het schoonmaakbedrijf werkt met vaste teams per gebouw.\n", encoding="utf-8")
    page.locator("#ww-admin-file input[type=file]").set_input_files(str(source))
    page.locator("#ww-admin-upload").click()
    page.locator("#ww-admin-out").get_by_text("toegevoegd").wait_for(timeout=120_000)
    saved = app["corpus"] / "documents" / "nieuwe-aanpak-schoonmaak.md"
    assert saved.is_file()  # a safe name, inside corpus/documents/
    page.get_by_role("tab", name="Chat").click()
    ask(page, "Werkt het schoonmaakbedrijf met teams?")
    page.locator("#ww-sources .ww-card", has_text="Schoonmaakbedrijf met teams").first.wait_for()
    # The maintainer deletes it again: chosen, confirmed, removed from the corpus and the index.
    page.get_by_role("tab", name="Beheer").click()
    page.locator("#ww-admin-delete-choice input").click()
    page.get_by_role("option", name="Schoonmaakbedrijf met teams (documents/nieuwe-aanpak-schoonmaak.md)").click()
    page.locator("#ww-admin-delete").click()
    page.get_by_text("Vink eerst aan dat je het document echt wilt verwijderen.").first.wait_for()
    assert saved.is_file()
    page.locator("#ww-admin-sure input").check()
    page.locator("#ww-admin-delete").click()
    page.locator("#ww-admin-out").get_by_text("nieuwe-aanpak-schoonmaak.md verwijderd").wait_for(timeout=120_000)
    assert not saved.exists() and "1 verwijderd" in page.locator("#ww-admin-out").inner_text()


@pytest.mark.parametrize("company, figure", [("Van Houten", "twee procent"), ("De Korenschoof", "4 procent")])
def test_a_follow_up_in_the_chat_answers_about_the_company_asked_before(page, company, figure, tmp_path_factory):
    """Gradio 6 sends earlier turns as lists of message parts: the follow-up must still see them."""
    ask(page, f"Wat doet {company}?")
    bot = page.locator("#ww-chat .message.bot")
    bot.first.get_by_text(company).first.wait_for()  # the first answer is complete (the placeholder names nobody)
    ask(page, "Welk percentage noemen ze daar?")
    page.wait_for_function("() => document.querySelectorAll('#ww-chat .message.bot').length === 2")
    last = bot.nth(1)
    last.get_by_text(figure).first.wait_for()
    first_excerpt = last.locator("li").first.inner_text()
    assert company in first_excerpt and figure in first_excerpt
    assert "Daar kan ik geen antwoord op geven" not in last.inner_text()
    page.screenshot(path=str(_artifacts(tmp_path_factory) / f"follow-up-{company.split()[-1].lower()}.png"),
                    full_page=True)



@pytest.mark.server
def test_two_app_processes_on_one_chroma_server_and_postgres_share_documents_and_feedback(
        browser, chroma_server, postgres_server, tmp_path):
    """The scale path across machines: the second app process has its own corpus folder without the new
    document (another machine), yet shows it in its document viewer (documents travel with the build),
    and an advisor logged in there sees the vote given on the first process (one PostgreSQL)."""
    import uuid

    db_url = postgres_server.create_database(f"two_apps_{uuid.uuid4().hex[:8]}")
    corpora = [tmp_path / "machine-1" / "corpus", tmp_path / "machine-2" / "corpus"]
    for corpus in corpora:
        shutil.copytree(DATA / "corpus", corpus)
    (corpora[0] / "documents" / "glazenwasser.md").write_text(
        "---\ntitle: Glazenwassers plannen zelf\nkind: artikel\n---\n\n## Planning\n\n"
        "Het glazenwassersbedrijf laat de ploegen zelf hun route voor de week plannen.\n", encoding="utf-8")
    env = {**os.environ, "ASSISTANT_CHROMA_URL": chroma_server, "ASSISTANT_DATABASE_URL": db_url,
           "ASSISTANT_ADMIN_PASSWORD": PASSWORD, "GRADIO_ANALYTICS_ENABLED": "False"}
    envs = [{**env, "ASSISTANT_CORPUS_DIR": str(c), "ASSISTANT_INDEX_DIR": str(c.parent / "index")} for c in corpora]
    index = subprocess.run([sys.executable, "-m", "assistant", "index"], env=envs[0], cwd=REPO, capture_output=True,
                           text=True, timeout=300)
    assert index.returncode == 0, index.stderr
    procs, ports = [], [free_port(), free_port()]
    try:
        for n, port in enumerate(ports):
            log = open(tmp_path / f"serve-{n}.log", "w")
            procs.append(subprocess.Popen([sys.executable, "-m", "assistant", "serve", "--port", str(port)],
                                          env=envs[n], cwd=REPO, stdout=log, stderr=subprocess.STDOUT))
        for proc, port in zip(procs, ports):
            wait_for_port(port, proc, seconds=180)
        first, second = (browser.new_context(locale="nl-NL", viewport={"width": 1280, "height": 1000}).new_page()
                         for _ in ports)
        for page, port in ((first, ports[0]), (second, ports[1])):
            page.set_default_timeout(TIMEOUT)
            page.goto(f"http://127.0.0.1:{port}/")
            page.locator("#ww-question textarea").wait_for()
        # Machine 2 shows the document only machine 1's corpus folder holds.
        second.get_by_role("tab", name="Bronnen").click()
        second.get_by_role("tab", name="Document").click()
        second.locator("#ww-doc-select input").click()
        second.get_by_role("option", name="Glazenwassers plannen zelf").click()
        second.locator("#ww-doc-view").get_by_text("zelf hun route voor de week").wait_for()
        # A vote on machine 1 is in the feedback an advisor reads on machine 2.
        ask(first, "Wat deed de chef-bakker?")
        first.locator("#ww-chat").get_by_text("coach in plaats van controleur").first.wait_for()
        first.locator("#ww-chat").get_by_role("button", name="Vind ik niet leuk", exact=True).last.click()
        first.get_by_text("je feedback is opgeslagen").first.wait_for()
        second.get_by_role("tab", name="Beheer").click()
        second.locator("#ww-admin-pw input").fill(PASSWORD)
        second.locator("#ww-admin-login").click()
        second.wait_for_function("() => (document.querySelector('#ww-feedback')?.innerText || '')"
                                 ".includes('Wat deed de chef-bakker?')")
        # Both answer from the server's index; neither wrote an index of its own.
        second.get_by_role("tab", name="Chat").click()
        ask(second, "Hoeveel subsidie kan een bedrijf krijgen?")
        second.locator("#ww-chat").get_by_text("10.000 euro").first.wait_for()
        assert not any((c.parent / "index").exists() for c in corpora)
        for page in (first, second):
            page.context.close()
    finally:
        for proc in procs:
            stop_process(proc)


def test_cards_render_corpus_markdown_and_say_what_kind_of_text_and_when(page):
    ask(page, "Hoe werkt Glasfabriek Helder?")
    card = page.locator("#ww-sources .ww-card", has_text="Glasfabriek Helder werkt in cellen").first
    card.wait_for()
    assert card.locator("strong", has_text="Glasfabriek Helder").count() == 1
    assert card.locator("em", has_text="Quick Response Manufacturing").count() == 1
    assert "**" not in card.inner_text() and "*Quick" not in card.inner_text()
    assert "artikel · 2020 · Testkrant" in card.inner_text()
    assert "plant & bewaakt" in card.inner_text() and "&amp;" not in card.inner_text()


def test_a_case_is_one_card_without_unknown_size_and_opens_its_report_section(page):
    ask(page, "Hoe daalde het verzuim bij De Korenschoof?")
    sources = page.locator("#ww-sources")
    sources.locator(".ww-case").first.wait_for()
    heads = [h for h in sources.locator(".ww-card-head").all_inner_texts() if "De Korenschoof:" in h]
    assert len(heads) == 1 and "onbekend" not in sources.inner_text()
    assert "praktijkvoorbeeld · voeding · Zwolle" in sources.locator(".ww-case").first.inner_text()
    sources.locator(".ww-case").first.get_by_role("button", name="Open het verslag in het rapport").click()
    selected = page.locator("#ww-doc-view #ww-selected")
    selected.wait_for()
    assert "daalde het verzuim van 8 procent naar 4 procent" in selected.inner_text()
    assert "Zelfsturende teams in de bakkerij" in page.locator("#ww-doc-view h2").inner_text()


def test_a_refusals_suggestions_are_questions_to_click(page):
    ask(page, "Wat is de hoofdstad van Frankrijk?")
    chat = page.locator("#ww-chat")
    suggestion = chat.get_by_role("button", name="Waar moet ik beginnen met sociale innovatie?")
    suggestion.wait_for()
    suggestion.click()
    page.wait_for_function("() => document.querySelectorAll('#ww-chat .message.user').length === 2")
    assert "Waar moet ik beginnen met sociale innovatie?" in chat.locator(".message.user").last.inner_text()
    page.wait_for_function("() => document.querySelectorAll('#ww-chat .message.bot').length === 2")


def test_clearing_the_conversation_clears_its_sources_and_export_and_export_covers_every_turn(page):
    ask(page, "Wat deed de chef-bakker?")
    page.locator("#ww-sources .ww-card").first.wait_for()
    ask(page, "Hoeveel subsidie kan een bedrijf per traject krijgen?")
    page.wait_for_function("() => document.querySelectorAll('#ww-chat .message.bot').length === 2 && "
                           "(document.querySelector('#ww-sources')?.innerText || '').includes('Stimuleringsregeling')")
    page.locator("#ww-export").click()
    box = page.locator("#ww-export-box textarea")
    box.wait_for()
    page.wait_for_function("() => (document.querySelector('#ww-export-box textarea')?.value || '').includes('subsidie')")
    exported = box.input_value()
    assert exported.count("**Vraag:**") == 2 and "[^1.1]:" in exported and "[^2.1]:" in exported
    page.locator("#ww-clear").click()
    page.locator("#ww-sources").get_by_text("Nog geen bronnen").wait_for()
    assert page.locator("#ww-chat .message").count() == 0
    assert not page.locator("#ww-export-box").is_visible()


def test_a_dislike_can_say_why_and_the_copy_button_copies_the_text_as_shown(browser, app):
    import sqlite3

    context = browser.new_context(locale="nl-NL", viewport={"width": 1280, "height": 1000})
    context.grant_permissions(["clipboard-read", "clipboard-write"])
    page = context.new_page()
    page.set_default_timeout(TIMEOUT)
    page.goto(app["url"])
    page.locator("#ww-question textarea").wait_for()
    ask(page, "Wanneer is het werkoverleg in de kapsalon?")
    bot = page.locator("#ww-chat .message.bot").last
    bot.get_by_text("elke maandag werkoverleg").first.wait_for()
    chat = page.locator("#ww-chat")
    assert chat.locator('button[aria-label="Copy message"]').count() == 0  # Gradio's words, in Dutch
    chat.get_by_role("button", name="Kopieer antwoord").last.click()
    page.wait_for_timeout(800)
    copied = page.evaluate("navigator.clipboard.readText()")
    assert "<script>window." in copied and "</script>" in copied and "&lt;" not in copied and "&#" not in copied
    chat.get_by_role("button", name="Wat was er mis?").last.click()
    page.get_by_role("button", name="Te lang").click()
    page.get_by_text("je feedback is opgeslagen").last.wait_for()
    page.wait_for_timeout(500)
    with sqlite3.connect(app["root"] / "feedback.sqlite3") as db:
        rows = db.execute("SELECT liked, reason FROM feedback WHERE question = "
                          "'Wanneer is het werkoverleg in de kapsalon?'").fetchall()
    assert rows == [(0, "Te lang")]
    context.close()


def test_on_a_phone_the_question_box_is_on_the_first_screen_and_every_tab_shows(browser, app, tmp_path_factory):
    context = browser.new_context(locale="nl-NL", viewport={"width": 390, "height": 844}, is_mobile=True)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT)
    page.goto(app["url"])
    box = page.locator("#ww-question textarea")
    box.wait_for()
    assert box.bounding_box()["y"] + box.bounding_box()["height"] < 844
    for name in ("Chat", "Waar begin ik?", "Thema's", "Bronnen", "Beheer"):
        assert page.get_by_role("tab", name=name).is_visible(), name
    assert page.locator('button[aria-label="More tabs"]').count() == 0
    page.screenshot(path=str(_artifacts(tmp_path_factory) / "chat-phone.png"))
    context.close()


def test_search_results_are_readable_cards_that_open_in_the_document(page):
    page.get_by_role("tab", name="Bronnen").click()
    page.locator("#ww-search input, #ww-search textarea").first.fill("verzuim ploegen")
    page.locator("#ww-search-go").click()
    results = page.locator("#ww-search-results .ww-result")
    results.first.wait_for()
    first = results.first
    assert first.locator("mark").count() >= 1 and "treffer" in first.inner_text()
    first.get_by_role("button", name="Open in document").click()
    page.locator("#ww-doc-view #ww-selected").wait_for()


def test_the_document_viewer_shows_date_publisher_address_and_an_outline_that_jumps(page):
    page.get_by_role("tab", name="Bronnen").click()
    page.get_by_role("tab", name="Document").click()
    page.locator("#ww-doc-select input").click()
    page.get_by_role("option", name="Stimuleringsregeling voor het mkb").click()
    view = page.locator("#ww-doc-view")
    view.locator(".ww-doc-meta").wait_for()
    meta = view.locator(".ww-doc-meta").inner_text()
    assert "advies · gepubliceerd 2022-01 · uitgever: Testministerie" in meta and "example.org/regeling" in meta
    assert view.locator(".ww-doc-meta a").count() == 0  # an address to copy, not a link
    link = view.locator(".ww-outline a").last
    target = link.get_attribute("href").lstrip("#")
    link.click()
    page.wait_for_timeout(500)
    heading = view.locator(f"#{target}")
    top = heading.bounding_box()["y"]
    container = view.locator(".ww-doc-text").bounding_box()
    assert container["y"] - 1 <= top <= container["y"] + container["height"]


def test_the_intake_starts_empty_asks_for_a_challenge_and_numbers_its_sources_once(page):
    page.get_by_role("tab", name="Waar begin ik?").click()
    for field in ("#ww-intake-sector", "#ww-intake-size", "#ww-intake-challenge"):
        assert page.locator(f"{field} input").input_value() == "", field
    page.locator("#ww-intake-go").click()
    page.get_by_text("Kies eerst je belangrijkste uitdaging.").first.wait_for()
    page.locator("#ww-intake-challenge input").click()
    page.get_by_role("option", name="verzuim/werkdruk").click()
    page.locator("#ww-intake-go").click()
    page.locator("#ww-plan-sources .ww-card").first.wait_for()
    heads = page.locator("#ww-plan-sources .ww-card-head").all_inner_texts()
    numbers = [h.split("]")[0] for h in heads if h.startswith("[")]
    assert numbers and len(numbers) == len(set(numbers))


def test_admin_login_clears_the_password_offers_logout_and_refuses_a_readme_upload(page, app):
    import re

    page.get_by_role("tab", name="Beheer").click()
    page.locator("#ww-admin-pw input").fill(PASSWORD)
    page.locator("#ww-admin-login").click()
    page.locator("#ww-admin-logout").wait_for()
    assert not page.locator("#ww-admin-login").is_visible() and not page.locator("#ww-admin-pw").is_visible()
    status = page.locator("#ww-admin-status").inner_text()
    assert re.search(r"\d+ documenten, \d+ praktijkvoorbeelden", status)
    assert re.search(MONTH_TIME, status)  # built at, in local time
    # A file type the form does not take: Gradio's own refusal, in Dutch.
    image = app["root"] / "foto.png"
    image.write_bytes(b"\x89PNG\r\n\x1a\n")
    page.locator("#ww-admin-file input[type=file]").set_input_files(str(image))
    page.get_by_text("Ongeldig bestandstype: foto.png").first.wait_for()
    assert page.get_by_text("Invalid file type").count() == 0
    before = sorted(p.name for p in (app["corpus"] / "documents").iterdir())
    readme = app["root"] / "README.md"
    readme.write_text("# Uitleg\n\nDeze map bevat documenten.\n", encoding="utf-8")
    page.locator("#ww-admin-file input[type=file]").set_input_files(str(readme))
    page.locator("#ww-admin-upload").click()
    page.get_by_text("README").last.wait_for()
    assert sorted(p.name for p in (app["corpus"] / "documents").iterdir()) == before
    page.locator("#ww-admin-logout").click()
    page.locator("#ww-admin-login").wait_for()
    assert page.locator("#ww-admin-pw input").input_value() == ""  # the password was not kept in the page
    assert not page.locator("#ww-admin-update").is_visible()


# Keep this test last in the module: it locks 127.0.0.1 out of the admin login of this server.
def test_repeated_wrong_passwords_lock_the_login_out_even_for_the_right_one(page):
    page.get_by_role("tab", name="Beheer").click()
    for _ in range(5):
        page.locator("#ww-admin-pw input").fill("geraden")
        page.locator("#ww-admin-login").click()
        page.wait_for_timeout(300)
    page.locator("#ww-admin-msg").get_by_text("Te veel mislukte pogingen").wait_for()
    page.locator("#ww-admin-pw input").fill(PASSWORD)
    page.locator("#ww-admin-login").click()
    page.wait_for_timeout(1000)
    assert "Te veel mislukte pogingen" in page.locator("#ww-admin-msg").inner_text()
    assert not page.locator("#ww-admin-update").is_visible()


@pytest.mark.parametrize("viewport", [{"width": 390, "height": 844}, {"width": 1280, "height": 1000}], ids=["phone", "desktop"])
def test_after_an_answer_the_chat_shows_the_newest_question(browser, app, viewport, tmp_path_factory):
    """After a second question the chat scrolls to it (its answer reads from the start), on a phone,
    where the chat box itself scrolls and the page is scrolled down to the question box, and on a
    desktop, where Gradio would show the answer's end; the question is in the window."""
    context = browser.new_context(locale="nl-NL", viewport=viewport, is_mobile=viewport["width"] < 500)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT)
    page.goto(app["url"])
    page.locator("#ww-question textarea").wait_for()
    for n, question in enumerate(("Hoe werken zelfsturende teams bij Buurtzorg?", "Hoe begin ik met sociale innovatie?"), 1):
        ask(page, question)
        page.wait_for_function(f"document.querySelectorAll('#ww-chat .message-row.bot-row').length >= {n} && "
                               "!document.querySelector('#ww-chat .message-row.bot-row:last-of-type .message-content')"
                               "?.innerText.trim().startsWith('…')")
    newest = page.locator("#ww-chat .message-row.user-row").last
    # At the chat's top, or as near as it goes when what follows is shorter than the chat box.
    page.wait_for_function("""() => { const chat = document.getElementById('ww-chat');
        const rows = chat.querySelectorAll('.message-row.user-row'), last = rows[rows.length - 1];
        const r = last.getBoundingClientRect(), c = chat.getBoundingClientRect();
        let end = true;
        for (let el = last.parentElement; el && el !== chat.parentElement; el = el.parentElement)
            if (el.scrollHeight > el.clientHeight + 1 && ['auto', 'scroll'].includes(getComputedStyle(el).overflowY))
                end = end && el.scrollTop >= el.scrollHeight - el.clientHeight - 2;
        return r.top >= c.top - 2 && (r.top < c.top + 60 || (end && r.bottom < c.bottom))
            && r.top >= 0 && r.bottom <= window.innerHeight; }""")
    assert "Hoe begin ik" in newest.inner_text()
    page.screenshot(path=str(_artifacts(tmp_path_factory) / f"chat-newest-{'phone' if viewport['width'] < 500 else 'desktop'}.png"))
    context.close()
