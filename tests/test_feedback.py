"""The feedback database: SQLite files in tmp_path and a real PostgreSQL server (tests/pg.py).

Round trip and order, bounds and cleaning, one vote per answer per session (enforced by the
database), several stores (app processes) on one PostgreSQL, thread safety, the one-time import of
the old JSON Lines log with every kind of bad line, the CLI command, and clear errors that never
show a database password.
"""

from __future__ import annotations

import json
import logging
import random
import sqlite3
import threading
import traceback
import uuid
from datetime import datetime
from pathlib import Path

import pytest

from assistant import feedback
from assistant.cli import main
from assistant.config import PACKAGE_ROOT, Settings, load_settings
from assistant.errors import ConfigError, StoreError
from assistant.feedback import (
    CUT_MARKER, MAX_ANSWER_CHARS, MAX_CITATIONS, MAX_QUESTION_CHARS, ROW_KEYS, FeedbackStore, open_feedback, read_jsonl,
)
from assistant.models import Answer, Citation

BACKENDS = ["sqlite", "postgresql"]


def make_answer(text: str = "Begin klein [1].", n_citations: int = 1, title: str = "Titel", build_id: str = "b1",
                refused: bool = False) -> Answer:
    citations = [Citation(i + 1, f"doc:{i:04d}:abc", "doc", title, "1 Kop › 1.1", "artikel", "tekst", 0, 5)
                 for i in range(n_citations)]
    return Answer(text=text, citations=citations, cases=[], refused=refused, mode="extractive", build_id=build_id)


@pytest.fixture
def make_settings(request, tmp_path):
    """make_settings(backend) -> Settings: an SQLite file in tmp_path, or a fresh database on the test PostgreSQL."""

    def make(backend: str) -> Settings:
        legacy = tmp_path / "legacy" / "feedback.jsonl"
        if backend == "sqlite":
            return Settings(feedback_db_path=tmp_path / "fb" / "feedback.sqlite3", feedback_path=legacy)
        server = request.getfixturevalue("postgres_server")
        url = server.create_database("fb_" + uuid.uuid4().hex[:12])
        return Settings(database_url=url, feedback_path=legacy,
                        feedback_db_path=tmp_path / "must-not-be-used" / "feedback.sqlite3")
    return make


@pytest.fixture(params=BACKENDS)
def settings_fb(request, make_settings) -> Settings:
    return make_settings(request.param)


@pytest.fixture
def store(settings_fb):
    with open_feedback(settings_fb) as s:
        yield s


# --- round trip --------------------------------------------------------------------------------

def test_round_trip_disliked_first_then_newest(settings_fb, tmp_path):
    store = open_feedback(settings_fb)
    assert store.backend == ("postgresql" if settings_fb.database_url else "sqlite")
    first = store.record(liked=True, question="eerste", answer=make_answer(), session_id="s1", answer_key="a1")
    store.record(liked=False, question="tweede", answer=make_answer(refused=True, build_id="b2"),
                 session_id="s1", answer_key="a2")
    store.record(liked=True, question="derde", answer=make_answer(), session_id="s2", answer_key="a1")
    store.close()
    with pytest.raises(StoreError, match="closed"):
        store.rows()

    with open_feedback(settings_fb) as again:  # a new store (another process) reads what was stored
        rows = again.rows()
    assert [r["question"] for r in rows] == ["tweede", "derde", "eerste"]
    assert all(tuple(r) == ROW_KEYS for r in rows)
    assert rows[2] == first
    assert rows[0]["liked"] is False and rows[0]["refused"] is True and rows[0]["build_id"] == "b2"
    assert rows[1]["liked"] is True and rows[1]["refused"] is False and rows[1]["mode"] == "extractive"
    assert rows[2]["citations"] == [{"n": 1, "chunk_id": "doc:0000:abc", "title": "Titel", "section": "1 Kop › 1.1"}]
    assert datetime.fromisoformat(rows[0]["time"]).utcoffset().total_seconds() == 0
    assert not (tmp_path / "must-not-be-used").exists()  # PostgreSQL configured: no SQLite file on the side
    if not settings_fb.database_url:  # the file holds what visitors asked: its owner only
        assert settings_fb.feedback_db_path.stat().st_mode & 0o777 == 0o600


def test_rows_limit(store):
    for i in range(5):
        store.record(liked=i % 2 == 0, question=f"v{i}", answer=make_answer(), session_id="s", answer_key=f"a{i}")
    assert store.count() == 5
    assert [r["question"] for r in store.rows(limit=3)] == ["v3", "v1", "v4"]
    assert len(store.rows(limit=0)) == 1  # clamped, never an error


def test_sqlite_is_the_default_beside_the_package(tmp_path):
    settings = Settings()
    assert settings.database_url is None
    assert settings.feedback_db_path == PACKAGE_ROOT / "feedback" / "feedback.sqlite3"
    assert settings.feedback_path == PACKAGE_ROOT / "feedback" / "feedback.jsonl"


# --- bounds and cleaning ---------------------------------------------------------------------------

def test_long_and_broken_text_is_stored_cut_and_cleaned(store):
    question = "Waar begin ik? " + "x" * 2_000_000  # 2 MB
    answer = make_answer(text="A\x00B\ud800C " + "y" * 100_000, n_citations=80, title="Kop\x00\udfff" + "t" * 5000)
    returned = store.record(liked=False, question=question, answer=answer, session_id="s\x00\ud800",
                            answer_key="k" * 5000)
    [row] = store.rows()
    assert row == returned
    assert len(row["question"]) == MAX_QUESTION_CHARS and row["question"].startswith("Waar begin ik? xxx")
    kept = row["question"].index(" … [")
    assert row["question"][kept:] == CUT_MARKER.format(n=f"{len(question) - kept:,}".replace(",", "."))
    assert len(row["answer"]) == MAX_ANSWER_CHARS and row["answer"].startswith("A\ufffdB\ufffdC yyy")
    assert "ingekort" in row["answer"]
    assert len(row["citations"]) == MAX_CITATIONS
    assert row["citations"][-1]["title"] == f"[{80 - MAX_CITATIONS + 1} bronnen weggelaten]"
    assert row["citations"][0]["title"].startswith("Kop\ufffd\ufffdttt") and len(row["citations"][0]["title"]) <= 500
    assert "\x00" not in json.dumps(row)


def test_long_keys_stay_distinct(store):
    prefix = "session-" + "z" * 1000
    for suffix in ("a", "b"):
        store.record(liked=True, question="q", answer=make_answer(), session_id=prefix + suffix, answer_key="a")
    assert store.count() == 2
    with pytest.raises(ValueError, match="session_id"):
        store.record(liked=True, question="q", answer=make_answer(), session_id="  ", answer_key="a")


# --- one vote per answer per session -------------------------------------------------------------

def test_one_vote_per_answer_per_session(store):
    answer = make_answer()
    store.record(liked=True, question="q", answer=answer, session_id="s1", answer_key="a1")
    store.record(liked=True, question="q", answer=answer, session_id="s1", answer_key="a1")
    assert store.count() == 1
    store.record(liked=False, question="q", answer=answer, session_id="s1", answer_key="a1")  # changed their mind
    assert [r["liked"] for r in store.rows()] == [False]
    store.record(liked=True, question="q", answer=answer, session_id="s2", answer_key="a1")
    assert store.count() == 2
    store.record(liked=True, question="q2", answer=answer, session_id="s1", answer_key="a2")
    assert store.count() == 3


def _raw_insert_twice(settings: Settings) -> None:
    """Bypass the store: insert the same (session_id, answer_key) twice with plain SQL."""
    values = ("s", "a", None, True, "q", "a", False, "extractive", "b", "[]")
    statement = ("INSERT INTO feedback (session_id, answer_key, time, liked, question, answer, refused, mode, "
                 "build_id, citations) VALUES ({0})")
    if settings.database_url:
        import psycopg

        with psycopg.connect(settings.database_url) as conn:
            for _ in range(2):
                conn.execute(statement.format(", ".join(["%s"] * 10)), values)
    else:
        with sqlite3.connect(settings.feedback_db_path) as conn:
            for _ in range(2):
                conn.execute(statement.format(", ".join("?" * 10)), values)


def test_the_database_itself_refuses_a_second_vote(settings_fb):
    open_feedback(settings_fb).close()
    import psycopg

    with pytest.raises((sqlite3.IntegrityError, psycopg.errors.UniqueViolation)):
        _raw_insert_twice(settings_fb)


def test_threads_share_one_store(store):
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def vote(worker: int) -> None:
        try:
            start.wait()
            for i in range(10):
                store.record(liked=True, question=f"{worker}-{i}", answer=make_answer(), session_id=f"s{worker}",
                             answer_key=f"a{i}")
                store.record(liked=i % 2 == 0, question="same", answer=make_answer(), session_id="shared",
                             answer_key="same")
                store.rows(limit=5)
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=vote, args=(w,)) for w in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert store.count() == 8 * 10 + 1


# --- several app processes -----------------------------------------------------------------------

def test_two_stores_on_one_postgres_see_the_same_rows(make_settings):
    settings = make_settings("postgresql")
    one, two = open_feedback(settings), open_feedback(settings)
    try:
        one.record(liked=True, question="van proces 1", answer=make_answer(), session_id="s1", answer_key="a1")
        assert [r["question"] for r in two.rows()] == ["van proces 1"]
        two.record(liked=False, question="van proces 1", answer=make_answer(), session_id="s1", answer_key="a1")
        two.record(liked=True, question="van proces 2", answer=make_answer(), session_id="s2", answer_key="a1")
        assert [(r["question"], r["liked"]) for r in one.rows()] == [("van proces 1", False), ("van proces 2", True)]
    finally:
        one.close()
        two.close()


@pytest.mark.parametrize("backend", BACKENDS)
def test_stores_opening_at_once_create_the_tables_and_import_once(backend, make_settings, caplog):
    """Six stores open a fresh database at the same moment (like app processes starting together)."""
    caplog.set_level(logging.WARNING, logger="assistant.feedback")
    for round_ in range(3):
        caplog.clear()
        settings = make_settings(backend)
        if backend == "sqlite":
            settings = settings.model_copy(update={"feedback_db_path": settings.feedback_db_path.with_name(f"r{round_}.db")})
        settings.feedback_path.parent.mkdir(parents=True, exist_ok=True)
        settings.feedback_path.write_text("".join(  # long enough that the stores read it at the same time
            json.dumps({"time": "2024-05-01T10:00:00+00:00", "liked": bool(i % 2), "question": f"oud {i}"}) + "\n"
            for i in range(2000)), encoding="utf-8")
        start = threading.Barrier(6)
        stores: list[FeedbackStore] = []
        errors: list[BaseException] = []

        def open_one() -> None:
            try:
                start.wait()
                stores.append(open_feedback(settings))
            except BaseException as e:  # noqa: BLE001 - reported below
                errors.append(e)

        threads = [threading.Thread(target=open_one) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        try:
            assert errors == [] and len(stores) == 6
            assert stores[0].count() == 2000
            imports = [r for r in caplog.records if r.getMessage().startswith("Imported the old feedback log")]
            assert len(imports) == 1, [r.getMessage() for r in imports]  # one store imported, the others saw it done
        finally:
            for s in stores:
                s.close()


def test_a_dropped_postgres_connection_is_reopened(make_settings):
    import psycopg

    settings = make_settings("postgresql")
    with open_feedback(settings) as store:
        store.record(liked=True, question="voor", answer=make_answer(), session_id="s", answer_key="a1")
        with psycopg.connect(settings.database_url, autocommit=True) as admin:  # like a server restart
            killed = admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                   "WHERE datname = current_database() AND application_name = 'wegwijzer-feedback'").fetchall()
        assert killed == [(True,)]
        store.record(liked=True, question="na", answer=make_answer(), session_id="s", answer_key="a2")
        assert store.count() == 2


# --- the old JSON Lines log ----------------------------------------------------------------------

GOOD_1 = {"time": "2024-03-01T09:00:00+00:00", "liked": False, "question": "Wat kost het?", "answer": "Geen bedrag.",
          "refused": True, "mode": "extractive", "build_id": "old1",
          "citations": [{"n": 1, "chunk_id": "d:0001:x", "title": "T", "section": "S"}]}
GOOD_2 = {"time": "2024-03-02T09:00:00+00:00", "liked": True, "question": "Nul\u0000 en \ud800 los", "answer": "Ja [1].",
          "refused": False, "mode": "extractive", "build_id": "old1", "citations": []}


def write_legacy(path: Path) -> dict[int, str]:
    """A legacy log with two good rows and every kind of bad line; returns {bad line number: word of its reason}."""
    lines = [
        json.dumps(GOOD_1, ensure_ascii=False).encode("utf-8"),       # 1 good
        b'{"liked": true, "question": "caf\xe9"}',                     # 2 Latin-1, not UTF-8
        b'{"liked": true, "question": ',                               # 3 invalid JSON
        b"[" * 50_000 + b"]" * 50_000,                                  # 4 nested too deeply (RecursionError)
        b'["a", "list"]',                                               # 5 not an object
        b"",                                                             # 6 blank: ignored
        json.dumps(GOOD_2).encode("ascii"),                            # 7 good (NUL and a lone surrogate, escaped)
        b'{"question": "no vote"}',                                     # 8 no 'liked'
        b'{"time": "2024-03-03T09:00:00+00:00", "liked": tr',           # 9 half-written, no newline
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\n".join(lines))
    return {2: "UTF-8", 3: "invalid JSON", 4: "nested", 5: "not a JSON object", 8: "liked", 9: "half-written"}


def test_read_jsonl_skips_and_reports_every_bad_line(tmp_path):
    bad = write_legacy(tmp_path / "f.jsonl")
    report = read_jsonl(tmp_path / "f.jsonl")
    assert [n for n, _ in report.rows] == [1, 7]
    assert {s.line for s in report.skipped} == set(bad)
    for s in report.skipped:
        assert bad[s.line] in s.reason, s


def test_read_jsonl_never_raises_on_garbage(tmp_path):
    rng = random.Random(4711)
    path = tmp_path / "garbage.jsonl"
    path.write_bytes(b"\n".join(rng.randbytes(rng.randint(0, 200)) for _ in range(500)) + b'\n{"liked": true}\n')
    report = read_jsonl(path)
    assert report.rows[-1][1] == {"liked": True}
    assert len(report.skipped) > 400


def test_the_old_log_is_imported_once(settings_fb, caplog):
    bad = write_legacy(settings_fb.feedback_path)
    with open_feedback(settings_fb, import_legacy=False) as store:
        assert store.count() == 0
        result = store.import_legacy(settings_fb.feedback_path)
        assert (result.imported, result.duplicates, result.already_imported) == (2, 0, False)
        assert {s.line: s.reason for s in result.skipped}.keys() == bad.keys()
        rows = store.rows()
        assert [r["question"] for r in rows] == ["Wat kost het?", "Nul\ufffd en \ufffd los"]
        assert rows[0]["time"] == "2024-03-01T09:00:00+00:00" and rows[0]["refused"] is True
        assert rows[0]["citations"] == GOOD_1["citations"]
        assert store.import_legacy(settings_fb.feedback_path).already_imported
        again = store.import_jsonl(settings_fb.feedback_path)  # by hand: nothing new either
        assert (again.imported, again.duplicates) == (0, 2)
        assert store.count() == 2

    # The app's start imports nothing twice; a row appended to the old log later is imported once.
    with settings_fb.feedback_path.open("ab") as f:
        f.write(b"\n" + json.dumps({**GOOD_1, "time": "2024-04-01T09:00:00+00:00", "question": "later"}).encode() + b"\n")
    caplog.set_level(logging.WARNING, logger="assistant.feedback")
    caplog.clear()
    for _ in range(2):
        with open_feedback(settings_fb) as store:
            assert store.count() == 3
    messages = [r.getMessage() for r in caplog.records if r.name == "assistant.feedback"]
    assert len(messages) == 1 and "1 new row(s), 2 already there" in messages[0] and "line 2: invalid UTF-8" in messages[0]


def test_the_app_start_imports_the_old_log(settings_fb):
    write_legacy(settings_fb.feedback_path)
    with open_feedback(settings_fb) as store:
        assert store.count() == 2
        store.record(liked=True, question="nieuw", answer=make_answer(), session_id="s", answer_key="a")
        assert [r["question"] for r in store.rows()][:1] == ["Wat kost het?"]
        assert store.count() == 3


def test_an_unreadable_old_log_does_not_stop_the_app(settings_fb, caplog):
    settings_fb.feedback_path.mkdir(parents=True)  # a folder where the file should be
    with open_feedback(settings_fb) as store:
        assert store.count() == 0


# --- the CLI -------------------------------------------------------------------------------------

@pytest.mark.parametrize("backend", BACKENDS)
def test_cli_feedback_import(backend, make_settings, monkeypatch, capsys, tmp_path):
    settings = make_settings(backend)
    password = settings.database_url.split(":")[2].split("@")[0] if settings.database_url else "no password"
    if settings.database_url:
        monkeypatch.setenv("ASSISTANT_DATABASE_URL", settings.database_url)
    else:
        monkeypatch.setenv("ASSISTANT_FEEDBACK_DB_PATH", str(settings.feedback_db_path))
    monkeypatch.setenv("ASSISTANT_FEEDBACK_PATH", str(tmp_path / "none.jsonl"))
    bad = write_legacy(tmp_path / "old.jsonl")

    assert main(["feedback", "import", str(tmp_path / "old.jsonl")]) == 0
    out = capsys.readouterr().out
    assert "Imported 2 feedback row(s)" in out and "(0 already there)" in out and f"Skipped {len(bad)} line(s)" in out
    for number, word in bad.items():
        assert f"line {number}: " in out and word in out
    assert password not in out

    assert main(["feedback", "import", str(tmp_path / "old.jsonl"), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert (data["imported"], data["duplicates"]) == (0, 2)
    assert [s["line"] for s in data["skipped"]] == sorted(bad)
    assert password not in data["database"]
    with open_feedback(settings) as store:
        assert store.count() == 2

    assert main(["feedback", "import", str(tmp_path / "missing.jsonl")]) == 1
    assert "Cannot read the feedback file" in capsys.readouterr().err


# --- errors ---------------------------------------------------------------------------------------

def _closed_port() -> int:
    import socket

    with socket.socket() as s:  # bound and closed again: nothing listens there
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _everything_said(error: BaseException | None, caplog) -> str:
    """The messages a traceback of `error` would print (its whole shown chain), and the captured log."""
    said = [caplog.text]
    while error is not None:
        said += traceback.format_exception_only(error)
        error = error.__cause__ or (None if error.__suppress_context__ else error.__context__)
    return "\n".join(said)


@pytest.mark.parametrize("secret", ["Sup3r-Secret", "p%40ss%2Fw0rd"])
def test_unreachable_postgres_is_a_clear_error_without_the_password(secret, caplog, monkeypatch):
    port = _closed_port()
    monkeypatch.setenv("ASSISTANT_DATABASE_URL", f"postgresql://advisor:{secret}@127.0.0.1:{port}/wegwijzer")
    with pytest.raises(StoreError) as caught:
        open_feedback(load_settings())
    message = str(caught.value)
    assert message.startswith(f"Cannot connect to the feedback database at postgresql://advisor:***@127.0.0.1:{port}/wegwijzer (")
    assert "check ASSISTANT_DATABASE_URL and that PostgreSQL is running." in message
    said = _everything_said(caught.value, caplog)
    assert secret not in said and "p@ss/w0rd" not in said


def test_wrong_password_and_missing_database_on_a_real_server(postgres_server, caplog):
    wrong = postgres_server.url("postgres", password="Wrong-Secret-99")
    with pytest.raises(StoreError, match="check the user name and password in ASSISTANT_DATABASE_URL") as caught:
        open_feedback(Settings(database_url=wrong))
    assert "Wrong-Secret-99" not in _everything_said(caught.value, caplog)

    missing = postgres_server.url("no_such_db")
    with pytest.raises(StoreError, match=r"createdb") as caught:
        open_feedback(Settings(database_url=missing))
    assert postgres_server.password not in _everything_said(caught.value, caplog) and ":***@" in str(caught.value)


def test_a_url_that_libpq_cannot_parse_does_not_leak_its_password(caplog):
    with pytest.raises(StoreError) as caught:
        open_feedback(Settings(database_url="postgresql://u:bad%zzSecret@127.0.0.1:1/db"))
    assert "bad%zzSecret" not in _everything_said(caught.value, caplog)


def test_database_url_setting_is_validated_and_masked(monkeypatch):
    monkeypatch.setenv("ASSISTANT_DATABASE_URL", "mysql://u:Hidden-Pass@db.example/wegwijzer")
    with pytest.raises(ConfigError, match="must start with postgresql:// or postgres://") as caught:
        load_settings()
    assert "Hidden-Pass" not in str(caught.value) and "u:***@db.example" in str(caught.value)
    monkeypatch.setenv("ASSISTANT_DATABASE_URL", " postgres://u:Hidden-Pass@db.example/wegwijzer ")
    settings = load_settings()
    assert settings.database_url == "postgres://u:Hidden-Pass@db.example/wegwijzer"
    assert "Hidden-Pass" not in repr(settings)
    monkeypatch.setenv("ASSISTANT_DATABASE_URL", "")
    assert load_settings().database_url is None


def test_mask_url():
    assert feedback.mask_url("postgresql://u:pw@h:5432/db") == "postgresql://u:***@h:5432/db"
    assert feedback.mask_url("postgresql://u@h/db?password=pw&sslmode=require") == \
        "postgresql://u@h/db?password=***&sslmode=require"
    assert feedback.mask_url("postgresql://h/db") == "postgresql://h/db"


def test_unusable_sqlite_file_is_a_clear_error(tmp_path):
    not_a_db = tmp_path / "feedback.sqlite3"
    not_a_db.write_bytes(b"this is not an SQLite database, it is text " * 100)
    with pytest.raises(StoreError, match="not an SQLite database.*ASSISTANT_FEEDBACK_DB_PATH"):
        open_feedback(Settings(feedback_db_path=not_a_db, feedback_path=tmp_path / "none.jsonl"))
    folder = tmp_path / "a-folder"
    folder.mkdir()
    with pytest.raises(StoreError, match=f"{folder}.*ASSISTANT_FEEDBACK_DB_PATH"):
        open_feedback(Settings(feedback_db_path=folder, feedback_path=tmp_path / "none.jsonl"))
