"""`assistant serve`: first start builds the index, then the chat answers through Gradio's real API."""

import os
import subprocess
import sys

from assistant.models import Answer, Citation
from assistant.ui import render_answer
from tests.conftest import REPO, free_port, stop_process, wait_for_port


def test_render_answer_escapes_corpus_text():
    citation = Citation(1, "c1", "d", "Titel <b>", "1 Kop", "artikel", "Tekst met <script>alert(1)</script>.", 0, 10)
    answer = Answer(text="- “Tekst met <script>alert(1)</script>.” [1]", citations=[citation], cases=[],
                    refused=False, mode="extractive", notices=["<i>let op</i>"])
    out = render_answer(answer)
    assert "<script>" not in out and "&lt;script&gt;" in out and "Titel &lt;b&gt;" in out
    assert "<i>" not in out and "- [1] Titel &lt;b&gt; › 1 Kop" in out


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
        answer = client.predict("Hoeveel subsidie kan een bedrijf krijgen?", api_name="/chat")
        assert "[1] Stimuleringsregeling voor het mkb" in answer and "10.000 euro" in answer
        assert "Daar kan ik geen antwoord op geven" in client.predict("Wat is de hoofdstad van Frankrijk?", api_name="/chat")
        assert "Stel gerust een vraag" in client.predict("   ", api_name="/chat")
    finally:
        stop_process(proc)
        log.close()
