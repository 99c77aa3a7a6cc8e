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
"""
TIMEOUT = 60_000


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
def app(tmp_path_factory, browser):
    """`assistant serve` on a free port; the first start builds the index."""
    root = tmp_path_factory.mktemp("app")
    corpus = root / "corpus"
    shutil.copytree(DATA / "corpus", corpus)
    (corpus / "documents" / "kapsalon.md").write_text(XSS_DOC, encoding="utf-8")
    port = free_port()
    env = {**os.environ, "ASSISTANT_CORPUS_DIR": str(corpus), "ASSISTANT_INDEX_DIR": str(root / "index"),
           "ASSISTANT_ADMIN_PASSWORD": PASSWORD, "ASSISTANT_FEEDBACK_PATH": str(root / "feedback.jsonl"),
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
    page.locator("#ww-open-btn").click()
    selected = page.locator("#ww-doc-view #ww-selected")
    selected.wait_for()
    assert selected.is_visible() and "10.000 euro" in selected.locator("mark").first.inner_text()
    assert "Stimuleringsregeling voor het mkb" in page.locator("#ww-doc-view h2").inner_text()
    assert "Inhoud" in page.locator("#ww-doc-view").inner_text()  # the heading outline
    page.screenshot(path=str(_artifacts(tmp_path_factory) / "document.png"), full_page=True)


def test_like_is_stored_in_the_feedback_log(page, app):
    ask(page, "Wat deed de chef-bakker?")
    page.locator("#ww-chat").get_by_text("coach in plaats van controleur").first.wait_for()
    page.locator("#ww-chat").get_by_role("button", name="Vind ik leuk").last.click()
    log = app["root"] / "feedback.jsonl"
    page.get_by_text("je feedback is opgeslagen").first.wait_for()
    rows = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    row = next(r for r in rows if r["question"] == "Wat deed de chef-bakker?")
    assert row["liked"] is True and row["build_id"] and row["citations"][0]["title"]
    assert "coach in plaats van controleur" in row["answer"]


def test_out_of_scope_question_shows_the_refusal(page):
    ask(page, "Wat is de hoofdstad van Frankrijk?")
    page.locator("#ww-chat").get_by_text("Daar kan ik geen antwoord op geven").first.wait_for()
    assert "Nog geen bronnen" in page.locator("#ww-sources").inner_text()


def test_corpus_html_is_shown_as_text_not_run(page):
    ask(page, "Wanneer is het werkoverleg in de kapsalon?")
    card = page.locator("#ww-sources .ww-card", has_text="Werkoverleg in de kapsalon").first
    card.wait_for()
    assert "<script>window.__wwXss = 1</script>" in card.inner_text()
    assert page.evaluate("window.__wwXss") is None


def test_admin_tab_refuses_a_wrong_password_and_accepts_the_right_one(page):
    page.get_by_role("tab", name="Beheer").click()
    page.locator("#ww-admin-pw input").fill("fout")
    page.locator("#ww-admin-login").click()
    page.get_by_text("Onjuist wachtwoord.").wait_for()
    assert not page.locator("#ww-admin-update").is_visible()
    page.locator("#ww-admin-pw input").fill(PASSWORD)
    page.locator("#ww-admin-login").click()
    page.locator("#ww-admin-update").wait_for()
    assert "passages" in page.locator("#ww-admin-status").inner_text()


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
