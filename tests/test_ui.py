"""`assistant serve`: first start builds the index, then the chat answers through Gradio's real API."""

import os
import subprocess
import sys

from assistant.models import Hit
from assistant.ui import render_hits
from tests.conftest import REPO, free_port, stop_process, wait_for_port


def test_render_hits_escapes_corpus_text():
    hit = Hit("c1", "d", "Titel <b>", "artikel", "1 Kop", "Tekst met <script>alert(1)</script>.", 0.9, 0, 10)
    out = render_hits("vraag", [hit])
    assert "<script>" not in out and "&lt;script&gt;" in out and "Titel &lt;b&gt;" in out
    assert "[1]" in out


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
        assert "Stel gerust een vraag" in client.predict("   ", api_name="/chat")
    finally:
        stop_process(proc)
        log.close()
