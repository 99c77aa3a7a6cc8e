"""`assistant serve`: first start builds the index, then the chat answers through Gradio's real API."""

import os
import subprocess
import sys
import urllib.error
import urllib.request

import pytest

from assistant.models import Answer, Citation
from assistant.render import answer_markdown, sources_panel
from tests.conftest import REPO, free_port, stop_process, wait_for_port


def test_render_answer_escapes_corpus_text():
    citation = Citation(1, "c1", "d", "Titel <b>", "1 Kop", "artikel", "Tekst met <script>alert(1)</script>.", 0, 10)
    answer = Answer(text="- “Tekst met <script>alert(1)</script>.” [1]", citations=[citation], cases=[],
                    refused=False, mode="extractive", notices=["<i>let op</i>"])
    message = answer_markdown(answer)
    assert "<script>" not in message and "&lt;script&gt;" in message and "<i>" not in message
    panel = sources_panel(answer)
    assert "<script>" not in panel and "&lt;script&gt;" in panel and "[1] Titel &lt;b&gt; › 1 Kop" in panel


def test_serve_builds_index_on_first_start_and_answers(settings, tmp_path):
    from gradio_client import Client

    port = free_port()
    env = {**os.environ, "ASSISTANT_CORPUS_DIR": str(settings.corpus_dir),
           "ASSISTANT_INDEX_DIR": str(settings.index_dir), "GRADIO_ANALYTICS_ENABLED": "False"}
    log = open(tmp_path / "serve.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "assistant", "serve", "--port", str(port)], env=env, cwd=REPO,
                            stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for_port(port, proc, seconds=120)
        assert (settings.index_dir / "CURRENT").is_file()  # built on first start
        client = Client(f"http://127.0.0.1:{port}/", verbose=False)
        chat, sources, _ = client.predict("Hoeveel subsidie kan een bedrijf krijgen?", [], api_name="/chat")
        assert "10.000 euro" in _text(chat[-1]) and "[1] Stimuleringsregeling voor het mkb" in sources
        chat, _, _ = client.predict("Wat is de hoofdstad van Frankrijk?", [], api_name="/chat")
        assert "Daar kan ik geen antwoord op geven" in _text(chat[-1])
        chat, _, _ = client.predict("   ", [], api_name="/chat")
        assert "Stel gerust een vraag" in _text(chat[-1])
        # The intake: a first-steps plan from the sources plus cases chosen by sector and size.
        plan, cards = client.predict("voeding", "klein", "verzuim/werkdruk", api_name="/intake")
        assert plan.startswith("### Je startplan: verzuim/werkdruk (voeding)") and "#### 2. Bij jouw uitdaging" in plan
        assert "De Korenschoof: minder verzuim met zelfsturende ploegen" in cards  # the one voeding case
        # Advisors' search: result cards with the query's words marked, and a filter on kind.
        results = client.predict("lassers opleiden", "case", "alle", "alle", api_name="/search")
        cards = results.split('class="ww-card ww-result"')[1:]
        assert cards and all("praktijkvoorbeeld ·" in card for card in cards) and "<mark>" in results
        # The app serves no files it does not have to: not system files, not the corpus or the code.
        for path in ("/etc/passwd", str(settings.corpus_dir / "documents" / "subsidie-regeling.md"),
                     str(REPO / "assistant" / "config.py")):
            with pytest.raises(urllib.error.HTTPError) as refused:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/gradio_api/file={path}", timeout=10)
            assert refused.value.code in (403, 404), path
    finally:
        stop_process(proc)
        log.close()


def _text(message: dict) -> str:
    content = message["content"]
    return content if isinstance(content, str) else " ".join(part.get("text", "") for part in content)
