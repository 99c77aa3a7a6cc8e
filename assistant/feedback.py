"""The feedback store: likes and dislikes of answers, with what an advisor needs to review them.

Stored in a database: SQLite by default (`ASSISTANT_FEEDBACK_DB_PATH`, default
`feedback/feedback.sqlite3`), PostgreSQL when `ASSISTANT_DATABASE_URL` is set, so several app
processes share one log. One vote per answer per session: the table has UNIQUE (session_id,
answer_key) and a second vote replaces the first. Text is bounded and cleaned before it is
stored. The old JSON Lines log (`ASSISTANT_FEEDBACK_PATH`) is imported once, automatically, when
the store opens; `assistant feedback import FILE` imports any such file by hand.

    store = open_feedback(settings)
    store.record(liked=True, question=q, answer=answer, session_id=sid, answer_key=key)
    store.rows(limit=500)   # disliked first, newest first within each group
    store.close()
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import sqlite3
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable
from urllib.parse import unquote, urlsplit

from assistant.errors import AssistantError, StoreError
from assistant.models import Answer
from assistant.security import clean_text as security_clean_text

if TYPE_CHECKING:
    from assistant.config import Settings

log = logging.getLogger(__name__)

# Bounds of what one row stores. Longer text is cut and ends with CUT_MARKER.
MAX_QUESTION_CHARS = 2_000
MAX_ANSWER_CHARS = 20_000
MAX_CITATIONS = 50
MAX_KEY_CHARS = 200  # session_id and answer_key
MAX_MODE_CHARS = 40
MAX_REASON_CHARS = 300  # why a visitor disliked an answer (a chosen reason or a short text)
MAX_BUILD_ID_CHARS = 200
MAX_CHUNK_ID_CHARS = 300
MAX_TITLE_CHARS = 500
MAX_SECTION_CHARS = 1_000
CUT_MARKER = " … [ingekort: {n} tekens weggelaten]"  # shown to advisors in the (Dutch) feedback table
DEFAULT_ROWS = 500
MAX_ROWS = 10_000

ROW_KEYS = ("time", "liked", "question", "answer", "refused", "mode", "build_id", "citations", "reason")
LEGACY_SESSION = "legacy-jsonl"  # session_id of rows imported from the old JSON Lines log
_PG_LOCK_KEY = 0x5765_6777_6A7A  # pg_advisory_xact_lock key: schema creation and imports, one process at a time
_PG_CONNECT_TIMEOUT = 5
_PG_STATEMENT_TIMEOUT_MS = 60_000
_SQLITE_BUSY_SECONDS = 30.0


_COLUMNS = ("session_id", "answer_key", "time", "liked", "question", "answer", "refused", "mode", "build_id", "citations",
            "reason")
_UPDATED = ("time", "liked", "question", "answer", "refused", "mode", "build_id", "citations", "reason")


# --- cleaning and bounds ----------------------------------------------------------------------

def clean_text(value: Any, limit: int) -> str:
    """`value` as text of at most `limit` characters: cut with CUT_MARKER, NUL and lone surrogates replaced."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    if len(text) > limit:
        keep = limit
        while True:  # the marker holds the number of characters left out, which depends on what is kept
            marker = CUT_MARKER.format(n=f"{len(text) - keep:,}".replace(",", "."))
            if keep + len(marker) <= limit or keep == 0:
                break
            keep = max(0, limit - len(marker))
        text = text[:keep] + marker
        text = text[:limit]
    return security_clean_text(text)


def _clean_key(value: Any, what: str) -> str:
    """A session id or answer key: non-empty, cleaned; a long one keeps its uniqueness through a hash."""
    text = clean_text(value, 10**9).strip() if isinstance(value, str) else ""
    if not text:
        raise ValueError(f"{what} must be a non-empty string (got {value!r:.60}).")
    if len(text) > MAX_KEY_CHARS:
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
        text = text[: MAX_KEY_CHARS - len(digest) - 1] + "#" + digest
    return text


def _clean_citations(citations: Any) -> list[dict[str, Any]]:
    """At most MAX_CITATIONS citations as {n, chunk_id, title, section}; the last says how many were left out."""
    if not isinstance(citations, (list, tuple)):
        return []
    out = []
    for c in citations:
        get = c.get if isinstance(c, dict) else (lambda name, _c=c: getattr(_c, name, None))
        n = get("n")
        out.append({
            "n": n if isinstance(n, int) and not isinstance(n, bool) else None,
            "chunk_id": clean_text(get("chunk_id"), MAX_CHUNK_ID_CHARS),
            "title": clean_text(get("title"), MAX_TITLE_CHARS),
            "section": clean_text(get("section"), MAX_SECTION_CHARS),
        })
    if len(out) > MAX_CITATIONS:
        left_out = len(out) - (MAX_CITATIONS - 1)
        out = out[: MAX_CITATIONS - 1] + [
            {"n": None, "chunk_id": "", "title": f"[{left_out} bronnen weggelaten]", "section": ""}]
    return out


def _utc_seconds(value: datetime) -> datetime:
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).replace(microsecond=0)


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return _utc_seconds(datetime.fromisoformat(value.strip().replace("Z", "+00:00")))
    except ValueError:
        return None


def _time_text(value: datetime | str | None) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return _utc_seconds(value).isoformat(timespec="seconds")


# --- database URLs: never show a password ----------------------------------------------------

def mask_url(url: str) -> str:
    """The URL with its password (user:PASSWORD@ and ?password=…) replaced by ***."""
    masked = re.sub(r"(?i)([?&]password=)[^&#]*", r"\1***", url)
    try:
        parts = urlsplit(masked)
        netloc = parts.netloc
    except ValueError:
        return masked.split("://", 1)[0] + "://***"
    userinfo, at, hosts = netloc.rpartition("@")
    if at and ":" in userinfo:
        user = userinfo.split(":", 1)[0]
        masked = masked.replace(netloc, f"{user}:***@{hosts}", 1)
    return masked


def _secrets(url: str) -> list[str]:
    """Every spelling of the URL's password that an error message could repeat."""
    found: list[str] = []
    try:
        netloc = urlsplit(url).netloc
    except ValueError:
        netloc = url.split("://", 1)[-1].split("/", 1)[0]
    userinfo, at, _ = netloc.rpartition("@")
    if at and ":" in userinfo:
        found.append(userinfo.split(":", 1)[1])
    found += re.findall(r"(?i)[?&]password=([^&#]*)", url)
    found += [unquote(s) for s in found]
    return sorted({s for s in found if s}, key=len, reverse=True)


def _scrub(text: str, url: str | None) -> str:
    """`text` on one line, at most 300 characters, with the URL's password (in any spelling) masked."""
    if url:
        for secret in _secrets(url):
            text = text.replace(secret, "***")
    text = " ".join(text.split())
    return text if len(text) <= 300 else text[:299] + "…"


# --- the old JSON Lines log ------------------------------------------------------------------

@dataclass
class SkippedLine:
    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


@dataclass
class JsonlReport:
    """What reading a JSON Lines feedback file produced: the good rows (with line numbers) and the skipped lines."""

    path: Path
    rows: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    skipped: list[SkippedLine] = field(default_factory=list)
    size: int = 0
    sha256: str = ""


def read_jsonl(path: Path) -> JsonlReport:
    """Read a JSON Lines file line by line. Never raises on content: invalid UTF-8, invalid or too
    deeply nested JSON, a line that is not an object and a half-written last line are skipped and
    reported with their line number. Blank lines are ignored. Raises OSError if the file cannot be read."""
    report = JsonlReport(path=Path(path))
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        number = 0
        for raw in f:
            number += 1
            digest.update(raw)
            report.size += len(raw)
            complete = raw.endswith(b"\n")
            body = raw.rstrip(b"\r\n")
            if not body.strip():
                continue
            try:
                text = body.decode("utf-8")
            except UnicodeDecodeError as e:
                report.skipped.append(SkippedLine(number, f"invalid UTF-8 (byte 0x{body[e.start]:02x} at column {e.start + 1})"))
                continue
            try:
                value = json.loads(text)
            except RecursionError:
                report.skipped.append(SkippedLine(number, "JSON nested too deeply"))
                continue
            except ValueError as e:  # JSONDecodeError, and ints longer than Python converts
                if not complete:
                    reason = "half-written last line (no newline at the end and incomplete JSON; the writer was interrupted)"
                else:
                    reason = f"invalid JSON ({_scrub(str(e), None)[:120]})"
                report.skipped.append(SkippedLine(number, reason))
                continue
            if not isinstance(value, dict):
                report.skipped.append(SkippedLine(number, f"not a JSON object but {_json_kind(value)}"))
                continue
            if not isinstance(value.get("liked"), bool):
                report.skipped.append(SkippedLine(number, "no 'liked' field with true or false"))
                continue
            report.rows.append((number, value))
    report.sha256 = digest.hexdigest()
    return report


def _json_kind(value: Any) -> str:
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "a string"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    return "a number"


def _file_digest(path: Path) -> tuple[int, str]:
    digest, size = hashlib.sha256(), 0
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


@dataclass
class ImportResult:
    """The outcome of importing a JSON Lines feedback file."""

    path: Path
    imported: int = 0  # new rows in the database
    duplicates: int = 0  # good lines whose row was already in the database
    skipped: list[SkippedLine] = field(default_factory=list)
    already_imported: bool = False  # the automatic import found this exact file recorded as imported

    def to_dict(self) -> dict[str, Any]:
        return {"path": str(self.path), "imported": self.imported, "duplicates": self.duplicates,
                "skipped": [{"line": s.line, "reason": s.reason} for s in self.skipped],
                "already_imported": self.already_imported}


def _legacy_row(value: dict[str, Any]) -> dict[str, Any]:
    """A row of the old log, bounded and cleaned like a new vote; its answer_key is a hash of its content,
    so importing the same row twice (from the same or another file) stores it once."""
    row = {
        "time": _parse_time(value.get("time")),
        "liked": value["liked"],
        "question": clean_text(value.get("question"), MAX_QUESTION_CHARS),
        "answer": clean_text(value.get("answer"), MAX_ANSWER_CHARS),
        "refused": value.get("refused") is True,
        "mode": clean_text(value.get("mode") if isinstance(value.get("mode"), str) else "", MAX_MODE_CHARS),
        "build_id": clean_text(value.get("build_id") if isinstance(value.get("build_id"), str) else "", MAX_BUILD_ID_CHARS),
        "citations": _clean_citations(value.get("citations")),
    }
    content = json.dumps({**row, "time": _time_text(row["time"])}, sort_keys=True, ensure_ascii=True)
    return {"session_id": LEGACY_SESSION, "answer_key": "sha256:" + hashlib.sha256(content.encode()).hexdigest(), **row}


# --- backends --------------------------------------------------------------------------------

class _SQLite:
    name = "sqlite"
    errors: tuple[type[BaseException], ...] = (sqlite3.Error,)

    def __init__(self, path: Path) -> None:
        self.path = Path(path).expanduser().absolute()
        self.location = str(self.path)

    def connect(self):
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if not self.path.exists():  # it holds what visitors asked: readable by its owner only
                os.close(os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600))
            conn = sqlite3.connect(self.path, timeout=_SQLITE_BUSY_SECONDS, isolation_level=None, check_same_thread=False)
        except (OSError, sqlite3.Error) as e:
            raise StoreError(f"Cannot open the feedback database {self.path} ({_scrub(str(e), None)}); set "
                             "ASSISTANT_FEEDBACK_DB_PATH to a writable file.") from e
        conn.execute(f"PRAGMA busy_timeout = {int(_SQLITE_BUSY_SECONDS * 1000)}")
        return conn

    def sql(self, text: str) -> str:
        return text

    def begin(self, conn, cur, write: bool) -> Callable[[bool], None]:
        # IMMEDIATE takes the write lock at once: one writer at a time, across processes, waiting up to busy_timeout
        cur.execute("BEGIN IMMEDIATE" if write else "BEGIN")

        def end(ok: bool) -> None:
            cur.execute("COMMIT" if ok else "ROLLBACK")
        return end

    def lock(self, cur) -> None:
        pass  # BEGIN IMMEDIATE already serialises

    def add_reason_column(self, cur) -> None:
        """A database made before dislikes had reasons gets the column (empty for its rows)."""
        cur.execute("PRAGMA table_info(feedback)")
        if "reason" not in {row[1] for row in cur.fetchall()}:
            cur.execute(f"ALTER TABLE feedback ADD COLUMN reason TEXT NOT NULL DEFAULT '' "
                        f"CHECK (length(reason) <= {MAX_REASON_CHARS})")

    schema = (
        f"""CREATE TABLE IF NOT EXISTS feedback (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            session_id TEXT NOT NULL CHECK (length(session_id) BETWEEN 1 AND {MAX_KEY_CHARS}),
            answer_key TEXT NOT NULL CHECK (length(answer_key) BETWEEN 1 AND {MAX_KEY_CHARS}),
            time TEXT,
            liked INTEGER NOT NULL CHECK (liked IN (0, 1)),
            question TEXT NOT NULL CHECK (length(question) <= {MAX_QUESTION_CHARS}),
            answer TEXT NOT NULL CHECK (length(answer) <= {MAX_ANSWER_CHARS}),
            refused INTEGER NOT NULL CHECK (refused IN (0, 1)),
            mode TEXT NOT NULL,
            build_id TEXT NOT NULL,
            citations TEXT NOT NULL,
            reason TEXT NOT NULL DEFAULT '' CHECK (length(reason) <= {MAX_REASON_CHARS}),
            CONSTRAINT feedback_one_vote UNIQUE (session_id, answer_key))""",
        "CREATE INDEX IF NOT EXISTS feedback_review ON feedback (liked, time DESC)",
        """CREATE TABLE IF NOT EXISTS feedback_imports (
            source TEXT PRIMARY KEY, path TEXT NOT NULL, size INTEGER NOT NULL, sha256 TEXT NOT NULL,
            imported_at TEXT NOT NULL, imported INTEGER NOT NULL, duplicates INTEGER NOT NULL, skipped INTEGER NOT NULL)""",
    )

    def to_db(self, row: dict[str, Any]) -> tuple:
        return (row["session_id"], row["answer_key"], _time_text(row["time"]), int(row["liked"]), row["question"],
                row["answer"], int(row["refused"]), row["mode"], row["build_id"],
                json.dumps(row["citations"], ensure_ascii=False), row.get("reason", ""))

    def from_db(self, values: tuple) -> dict[str, Any]:
        row = dict(zip(ROW_KEYS, values))
        row["liked"], row["refused"] = bool(row["liked"]), bool(row["refused"])
        row["citations"] = json.loads(row["citations"])
        return row

    def now(self) -> str:
        return datetime.now(timezone.utc).isoformat(timespec="seconds")

    def problem(self, e: BaseException, doing: str) -> StoreError:
        reason = _scrub(str(e), None)
        if "not a database" in reason:
            fix = "move the file away (it is not an SQLite database) or set ASSISTANT_FEEDBACK_DB_PATH to another file"
        elif "locked" in reason:
            fix = (f"another process kept it locked for over {_SQLITE_BUSY_SECONDS:.0f} s; try again, or use "
                   "PostgreSQL (ASSISTANT_DATABASE_URL) for several app processes")
        else:
            fix = ("check that the disk is not full and the file and its folder are writable, or set "
                   "ASSISTANT_FEEDBACK_DB_PATH to another file")
        return StoreError(f"The feedback database {self.path} failed while {doing} ({reason}); {fix}.")

    def broken(self, conn, e: BaseException) -> bool:
        return False


class _Postgres:
    name = "postgresql"

    def __init__(self, url: str) -> None:
        try:
            import psycopg
        except ImportError as e:
            raise StoreError("ASSISTANT_DATABASE_URL is set but the PostgreSQL driver is missing; install it with "
                             "`pip install 'psycopg[binary]'`.") from e
        self.psycopg = psycopg
        self.url = url
        self.location = mask_url(url)
        self.errors = (psycopg.Error,)

    def connect(self):
        psycopg = self.psycopg
        kwargs: dict[str, Any] = {"autocommit": False, "application_name": "wegwijzer-feedback"}
        if "connect_timeout" not in self.url:
            kwargs["connect_timeout"] = _PG_CONNECT_TIMEOUT
        if "options" not in self.url:  # a hung server or a held lock ends in an error, not a stuck app thread
            kwargs["options"] = f"-c statement_timeout={_PG_STATEMENT_TIMEOUT_MS}"
        try:
            return psycopg.connect(self.url, **kwargs)
        except psycopg.Error as e:
            reason = _scrub(str(e), self.url)
            if "password authentication failed" in reason or "no password supplied" in reason:
                fix = "check the user name and password in ASSISTANT_DATABASE_URL"
            elif "does not exist" in reason and "database" in reason:
                fix = "create the database (createdb NAME) or correct its name in ASSISTANT_DATABASE_URL"
            else:
                fix = "check ASSISTANT_DATABASE_URL and that PostgreSQL is running"
            # `from None`: the driver's own exception may repeat the URL with its password.
            raise StoreError(f"Cannot connect to the feedback database at {self.location} ({reason}); {fix}.") from None

    def sql(self, text: str) -> str:
        return text.replace("?", "%s")

    def begin(self, conn, cur, write: bool) -> Callable[[bool], None]:
        # not autocommit: the first statement opens a transaction, end() closes it
        def end(ok: bool) -> None:
            conn.commit() if ok else conn.rollback()
        return end

    def lock(self, cur) -> None:
        cur.execute("SELECT pg_advisory_xact_lock(%s)", (_PG_LOCK_KEY,))

    def add_reason_column(self, cur) -> None:
        """A database made before dislikes had reasons gets the column (empty for its rows)."""
        cur.execute(f"ALTER TABLE feedback ADD COLUMN IF NOT EXISTS reason TEXT NOT NULL DEFAULT '' "
                    f"CHECK (length(reason) <= {MAX_REASON_CHARS})")

    schema = (
        f"""CREATE TABLE IF NOT EXISTS feedback (
            id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
            session_id TEXT NOT NULL CHECK (char_length(session_id) BETWEEN 1 AND {MAX_KEY_CHARS}),
            answer_key TEXT NOT NULL CHECK (char_length(answer_key) BETWEEN 1 AND {MAX_KEY_CHARS}),
            time TIMESTAMPTZ,
            liked BOOLEAN NOT NULL,
            question TEXT NOT NULL CHECK (char_length(question) <= {MAX_QUESTION_CHARS}),
            answer TEXT NOT NULL CHECK (char_length(answer) <= {MAX_ANSWER_CHARS}),
            refused BOOLEAN NOT NULL,
            mode TEXT NOT NULL,
            build_id TEXT NOT NULL,
            citations JSONB NOT NULL,
            reason TEXT NOT NULL DEFAULT '' CHECK (length(reason) <= {MAX_REASON_CHARS}),
            CONSTRAINT feedback_one_vote UNIQUE (session_id, answer_key))""",
        "CREATE INDEX IF NOT EXISTS feedback_review ON feedback (liked, time DESC)",
        """CREATE TABLE IF NOT EXISTS feedback_imports (
            source TEXT PRIMARY KEY, path TEXT NOT NULL, size BIGINT NOT NULL, sha256 TEXT NOT NULL,
            imported_at TIMESTAMPTZ NOT NULL, imported INTEGER NOT NULL, duplicates INTEGER NOT NULL,
            skipped INTEGER NOT NULL)""",
    )

    def to_db(self, row: dict[str, Any]) -> tuple:
        from psycopg.types.json import Jsonb

        time = row["time"]
        if isinstance(time, str):
            time = datetime.fromisoformat(time)
        return (row["session_id"], row["answer_key"], time, row["liked"], row["question"], row["answer"],
                row["refused"], row["mode"], row["build_id"], Jsonb(row["citations"]), row.get("reason", ""))

    def from_db(self, values: tuple) -> dict[str, Any]:
        row = dict(zip(ROW_KEYS, values))
        row["time"] = _time_text(row["time"])
        return row

    def now(self) -> datetime:
        return datetime.now(timezone.utc)

    def problem(self, e: BaseException, doing: str) -> StoreError:
        return StoreError(f"The feedback database at {self.location} failed while {doing} ({_scrub(str(e), self.url)}); "
                          "check that PostgreSQL is running and ASSISTANT_DATABASE_URL is right.")

    def broken(self, conn, e: BaseException) -> bool:
        return isinstance(e, self.psycopg.OperationalError) or conn.closed or conn.broken


# --- the store -------------------------------------------------------------------------------

class FeedbackStore:
    """Likes and dislikes in SQLite or PostgreSQL. Thread-safe: one connection, used under a lock.

    A PostgreSQL connection that breaks (server restart) is opened again once per call."""

    def __init__(self, backend: _SQLite | _Postgres) -> None:
        self._backend = backend
        self._lock = threading.RLock()
        self._conn = None
        self._closed = False
        with self._lock:
            self._conn = backend.connect()
            try:
                self._transaction(self._create_schema, "creating its tables")
            except BaseException:
                self.close()
                raise

    @property
    def backend(self) -> str:
        """'sqlite' or 'postgresql'."""
        return self._backend.name

    @property
    def location(self) -> str:
        """Where the rows live: the SQLite file, or the database URL with its password masked."""
        return self._backend.location

    def __repr__(self) -> str:
        return f"FeedbackStore({self.backend}, {self.location})"

    def __enter__(self) -> "FeedbackStore":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            if self._conn is not None:
                try:
                    self._conn.close()
                except Exception:  # closing a broken connection must not hide the real problem
                    pass
                self._conn = None

    # -- public API --

    def record(self, *, liked: bool, question: str, answer: Answer, session_id: str, answer_key: str,
               reason: str = "") -> dict[str, Any]:
        """Store one vote and return the stored row (keys ROW_KEYS). A second vote of the same session
        for the same answer replaces the first. `reason`: why a dislike (short). Long text is cut, NUL and
        lone surrogates replaced."""
        row = {
            "session_id": _clean_key(session_id, "session_id"),
            "answer_key": _clean_key(answer_key, "answer_key"),
            "time": datetime.now(timezone.utc).replace(microsecond=0),
            "liked": bool(liked),
            "question": clean_text(question, MAX_QUESTION_CHARS),
            "answer": clean_text(getattr(answer, "text", ""), MAX_ANSWER_CHARS),
            "refused": bool(getattr(answer, "refused", False)),
            "mode": clean_text(getattr(answer, "mode", ""), MAX_MODE_CHARS),
            "build_id": clean_text(getattr(answer, "build_id", ""), MAX_BUILD_ID_CHARS),
            "citations": _clean_citations(getattr(answer, "citations", [])),
            "reason": clean_text(reason, MAX_REASON_CHARS),
        }
        values = self._backend.to_db(row)
        # A plain dislike after a dislike with a reason keeps the reason (Gradio sends both when a visitor
        # flags a reason and then clicks the thumb); any other new vote replaces the old one whole.
        updates = ", ".join(f"{c} = excluded.{c}" for c in _UPDATED if c != "reason")
        updates += (", reason = CASE WHEN excluded.reason = '' AND feedback.liked = excluded.liked "
                    "THEN feedback.reason ELSE excluded.reason END")
        statement = self._backend.sql(
            f"INSERT INTO feedback ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))}) "
            f"ON CONFLICT (session_id, answer_key) DO UPDATE SET {updates}")
        self._transaction(lambda cur: cur.execute(statement, values), "storing a vote")
        return {key: _time_text(row[key]) if key == "time" else row[key] for key in ROW_KEYS}

    def rows(self, limit: int = DEFAULT_ROWS) -> list[dict[str, Any]]:
        """The newest `limit` rows of each kind, disliked first, newest first within each group."""
        limit = max(1, min(int(limit), MAX_ROWS))
        statement = self._backend.sql(
            f"SELECT {', '.join(ROW_KEYS)} FROM feedback ORDER BY liked ASC, time DESC NULLS LAST, id DESC LIMIT ?")

        def read(cur):
            cur.execute(statement, (limit,))
            return [self._backend.from_db(tuple(v)) for v in cur.fetchall()]
        return self._transaction(read, "reading the feedback", write=False)

    def count(self) -> int:
        """Number of stored votes."""
        def read(cur):
            cur.execute("SELECT COUNT(*) FROM feedback")
            return int(cur.fetchone()[0])
        return self._transaction(read, "counting the feedback", write=False)

    def import_jsonl(self, path: Path) -> ImportResult:
        """Import a JSON Lines file of the old log; bad lines are skipped and reported. Rows already in
        the database (same content) are counted as duplicates, so importing twice adds nothing.
        Raises AssistantError if the file cannot be read."""
        path = Path(path)
        try:
            report = read_jsonl(path)
        except OSError as e:
            raise AssistantError(f"Cannot read the feedback file {path} ({e.strerror or e}); give the path of a "
                                 "feedback.jsonl file.") from e
        return self._transaction(lambda cur: self._import(cur, report, only_once=False), f"importing {path}")

    def import_legacy(self, path: Path) -> ImportResult | None:
        """The automatic one-time import of the old log at `path` (ASSISTANT_FEEDBACK_PATH): None when
        there is no such file; already_imported when this exact file (path, size, sha256) was imported."""
        path = Path(path)
        if not path.is_file():
            return None
        try:
            size, sha = _file_digest(path)
            if self._transaction(lambda cur: self._imported(cur, _source(path, size, sha)), "checking its imports",
                                 write=False):
                return ImportResult(path=path, already_imported=True)
            report = read_jsonl(path)
        except OSError as e:
            log.warning("Cannot read the old feedback log %s (%s); it is not imported. Fix its permissions or run "
                        "`assistant feedback import %s` later.", path, e.strerror or e, path)
            return None
        result = self._transaction(lambda cur: self._import(cur, report, only_once=True), f"importing {path}")
        if not result.already_imported:
            log.warning("Imported the old feedback log %s into %s: %d new row(s), %d already there, %d line(s) skipped%s",
                        path, self.location, result.imported, result.duplicates, len(result.skipped),
                        "".join(f"; {s}" for s in result.skipped[:20]))
        return result

    # -- internals --

    def _create_schema(self, cur) -> None:
        self._backend.lock(cur)
        for statement in self._backend.schema:
            cur.execute(statement)
        self._backend.add_reason_column(cur)

    def _imported(self, cur, source: str) -> bool:
        cur.execute(self._backend.sql("SELECT 1 FROM feedback_imports WHERE source = ?"), (source,))
        return cur.fetchone() is not None

    def _import(self, cur, report: JsonlReport, *, only_once: bool) -> ImportResult:
        self._backend.lock(cur)  # one importer at a time: two app processes starting together import once
        source = _source(report.path, report.size, report.sha256)
        result = ImportResult(path=report.path, skipped=list(report.skipped))
        if only_once and self._imported(cur, source):
            result.already_imported = True
            result.skipped = []
            return result
        insert = self._backend.sql(
            f"INSERT INTO feedback ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))}) "
            "ON CONFLICT (session_id, answer_key) DO NOTHING")
        for _, value in report.rows:
            cur.execute(insert, self._backend.to_db(_legacy_row(value)))
            if cur.rowcount == 1:
                result.imported += 1
            else:
                result.duplicates += 1
        names = ("source", "path", "size", "sha256", "imported_at", "imported", "duplicates", "skipped")
        cur.execute(self._backend.sql(
            f"INSERT INTO feedback_imports ({', '.join(names)}) VALUES ({', '.join('?' * len(names))}) "
            "ON CONFLICT (source) DO UPDATE SET imported_at = excluded.imported_at, imported = excluded.imported, "
            "duplicates = excluded.duplicates, skipped = excluded.skipped"),
            (source, str(report.path.resolve()), report.size, report.sha256, self._backend.now(), result.imported,
             result.duplicates, len(result.skipped)))
        return result

    def _transaction(self, work: Callable[[Any], Any], doing: str, write: bool = True) -> Any:
        """Run `work(cursor)` in one transaction under the lock; a broken PostgreSQL connection is
        reopened and the work retried once (every piece of work here is idempotent)."""
        with self._lock:
            for attempt in (1, 2):
                if self._closed:
                    raise StoreError("The feedback store is closed; open it again with open_feedback(settings).")
                if self._conn is None:
                    self._conn = self._backend.connect()
                conn = self._conn
                try:
                    cur = conn.cursor()
                    end = self._backend.begin(conn, cur, write)
                    try:
                        out = work(cur)
                    except BaseException:
                        try:
                            end(False)
                        except self._backend.errors:
                            pass
                        raise
                    end(True)
                    return out
                except self._backend.errors as e:
                    if attempt == 1 and self._backend.broken(conn, e):
                        log.warning("The feedback database connection to %s broke (%s); reconnecting.",
                                    self.location, _scrub(str(e), getattr(self._backend, "url", None)))
                        self.close_connection()
                        continue
                    raise self._backend.problem(e, doing) from None
        raise AssertionError("unreachable")

    def close_connection(self) -> None:
        with self._lock:
            conn, self._conn = self._conn, None
            if conn is not None:
                try:
                    conn.close()
                except Exception:
                    pass


def _source(path: Path, size: int, sha256: str) -> str:
    return f"{Path(path).resolve()}|{size}|{sha256}"


def open_feedback(settings: "Settings", *, import_legacy: bool = True) -> FeedbackStore:
    """The feedback store the settings name: PostgreSQL at `database_url` if set, else the SQLite file
    `feedback_db_path`. Creates the tables if needed and, with `import_legacy`, imports the old JSON
    Lines log at `feedback_path` once. Raises StoreError when the database cannot be used."""
    url = getattr(settings, "database_url", None)
    backend = _Postgres(url) if url else _SQLite(settings.feedback_db_path)
    store = FeedbackStore(backend)
    if import_legacy:
        try:
            store.import_legacy(settings.feedback_path)
        except BaseException:
            store.close()
            raise
    return store
