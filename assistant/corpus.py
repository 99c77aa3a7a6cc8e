"""Load the corpus: files under corpus/, YAML front matter, cleaning of conversion debris.

A bad file (empty, not UTF-8, broken front matter, unknown extension, too large) is skipped with
a warning that names it; everything else is loaded. Warnings are `Message`s (assistant/messages.py:
English for the CLI, Dutch for the app); the English texts are kept as plain strings beside them. Two files with the same document id are a
conflict: neither is loaded and the report names both (never resolved by file order).
"""

from __future__ import annotations

import hashlib
import html
import re
import unicodedata
from datetime import date, datetime
from pathlib import Path, PurePosixPath
from typing import Callable

import yaml

from assistant.config import ChunkingSettings
from assistant.messages import Message, msg
from assistant.models import CASE_REQUIRED, DOCUMENT_KINDS, SECTORS, SIZE_CLASSES, THEMES, Document, LoadReport

TEXT_EXTENSIONS = (".md", ".markdown", ".txt")
SUPPORTED_EXTENSIONS = TEXT_EXTENSIONS
# Files that describe the corpus folder rather than belong to it.
IGNORED_NAMES = {"readme.md", "readme.txt", ".gitkeep", ".ds_store"}
# Curated topic guides (assistant/themes.py): checked against the corpus, never indexed as passages.
THEMES_FOLDER = "themes"

# Bounds on one file. The largest real document is 80 KB with a 95-character title; these are far
# above anything real and keep a forged or broken file from costing minutes of cleaning and embedding.
MAX_FILE_BYTES = 20_000_000
MAX_ID_CHARS = 120
MAX_TITLE_CHARS = 300  # a longer title is cut, with a warning
MAX_FIELD_CHARS = 1_000  # any other front-matter text (publisher, url, source_section, ...), cut with a warning
MAX_LIST_ITEMS = 100  # items of a front-matter list (themes, ...), cut with a warning
MAX_KEY_CHARS = 100
_SCALARS = (str, int, float, bool, date, datetime)

_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.DOTALL)
_SLUG_CHARS = re.compile(r"[^a-z0-9]+")


def slugify(text: str) -> str:
    """Lower-case ASCII id: "Zicht op — Sociale innovatie" -> "zicht-op-sociale-innovatie"."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return _SLUG_CHARS.sub("-", ascii_text.lower()).strip("-")


# --- cleaning -----------------------------------------------------------------------------

_SUP = re.compile(r"<sup>\s*[^<]{0,12}?\s*</sup>", re.IGNORECASE)
_INLINE_TAGS = re.compile(r"</?(?:b|strong|i|em|u|span|font)(?:\s[^>]*)?>", re.IGNORECASE)
_BR = re.compile(r"<br\s*/?>", re.IGNORECASE)
_LIST_BLOCK = re.compile(r"<ul[^>]*>(.*?)</ul>", re.IGNORECASE | re.DOTALL)
_LIST_ITEM = re.compile(r"<li[^>]*>(.*?)</li>", re.IGNORECASE | re.DOTALL)
_DOT_LEADER = re.compile(r"[ \t]*(?:\.[ \t]?){4,}[ \t]*\d*[ \t]*$", re.MULTILINE)
_LONE_NUMBER = re.compile(r"^[ \t]*\d{1,3}[ \t]*$", re.MULTILINE)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_TRAILING_SPACE = re.compile(r"[ \t]+$", re.MULTILINE)
_MANY_BLANKS = re.compile(r"\n{3,}")
_BULLET = re.compile(r"^[ \t]*[•▪●◦][ \t]*", re.MULTILINE)


def _list_to_text(match: re.Match) -> str:
    items = [re.sub(r"\s+", " ", item).strip() for item in _LIST_ITEM.findall(match.group(1))]
    return "; ".join(item for item in items if item)


def clean_text(text: str) -> str:
    """Remove conversion debris, keep the wording. Idempotent: cleaning clean text changes nothing.

    Handles footnote markers (<sup>n</sup>), inline HTML (<b>, <i>, ...), HTML lists used as table
    cells (items joined with "; "), table-of-contents dot leaders, lone page numbers, bullets,
    control characters and runs of blank lines. HTML entities from converters (&amp;) are decoded;
    any other markup is left as text, to be escaped wherever it is shown.
    """
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))
    text = _CONTROL.sub("", text).replace("\u00a0", " ")
    text = _SUP.sub("", text)
    text = _LIST_BLOCK.sub(_list_to_text, text)
    text = _BR.sub("\n", text)
    text = _INLINE_TAGS.sub("", text)
    text = html.unescape(text) if "&" in text else text
    text = _DOT_LEADER.sub("", text)
    text = _LONE_NUMBER.sub("", text)
    text = _BULLET.sub("- ", text)
    text = _TRAILING_SPACE.sub("", text)
    text = _MANY_BLANKS.sub("\n\n", text)
    return text.strip() + "\n"


# --- loading ------------------------------------------------------------------------------


class SkipFile(Exception):
    """A corpus file that cannot be used; the message says why and how to fix it.

    `message` is the structured Message (its text in English or Dutch); str(error) is the English text.
    """

    def __init__(self, message: Message) -> None:
        super().__init__(str(message))
        self.message = message


def split_front_matter(raw: str, name: str) -> tuple[dict, str]:
    """Return (front matter, body). A file without front matter gets an empty mapping."""
    if not raw.startswith("---"):
        return {}, raw
    match = _FRONT_MATTER.match(raw)
    if match is None:
        raise SkipFile(msg("corpus.unclosed_front_matter", file=name))
    try:
        meta = yaml.safe_load(match.group(1))
    except yaml.YAMLError as e:
        where = getattr(e, "problem_mark", None)
        if where is None:
            raise SkipFile(msg("corpus.yaml_invalid", file=name)) from e
        raise SkipFile(msg("corpus.yaml_invalid_line", file=name, line=where.line + 2)) from e
    if meta is None:
        meta = {}
    if not isinstance(meta, dict):
        raise SkipFile(msg("corpus.front_matter_not_mapping", file=name, found=type(meta).__name__))
    return meta, raw[match.end():]


def _first_heading(body: str) -> str | None:
    match = re.search(r"^#{1,6}\s+(.+?)\s*#*$", body, re.MULTILINE)
    return match.group(1).strip() if match else None


def _bounded(value, rel: str, field: str, limit: int | None, notes: list[Message]):
    """A front-matter value checked and cut to its bounds, with a note naming file and field per cut.

    Values are text, numbers, dates or flat lists of those; anything nested is refused (SkipFile)
    before it is walked, so YAML aliases cannot make a small file expand into an enormous value.
    """
    if value is None or isinstance(value, _SCALARS):
        items, is_list = [value], False
    elif isinstance(value, list) and all(v is None or isinstance(v, _SCALARS) for v in value):
        items, is_list = value, True
    else:
        raise SkipFile(msg("corpus.field_nested", file=rel, field=field, found=type(value).__name__))
    if len(items) > MAX_LIST_ITEMS:
        notes.append(msg("corpus.list_cut", file=rel, field=field, count=len(items), limit=MAX_LIST_ITEMS))
        items = items[:MAX_LIST_ITEMS]
    out = []
    for item in items:
        if isinstance(item, str) and limit is not None and len(item) > limit:
            notes.append(msg("corpus.text_cut", file=rel, field=field, length=len(item), limit=limit))
            item = item[:limit].rstrip()
        out.append(item)
    return out if is_list else out[0]


def load_file(path: Path, corpus_dir: Path, warnings: list[str] | None = None, *,
              messages: list[Message] | None = None) -> Document:
    """Load one corpus file into a Document, or raise SkipFile naming the problem.

    Front-matter texts longer than their bound are cut; `warnings` (if given) gets one English line
    per cut, `messages` (if given) the same as Messages (only when the file loads).
    """
    rel = path.relative_to(corpus_dir).as_posix()
    if path.suffix.lower() not in SUPPORTED_EXTENSIONS:
        if not path.suffix:
            raise SkipFile(msg("corpus.no_extension", file=rel, allowed=list(SUPPORTED_EXTENSIONS)))
        raise SkipFile(msg("corpus.unsupported_type", file=rel, extension=path.suffix,
                           allowed=list(SUPPORTED_EXTENSIONS)))
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise SkipFile(msg("corpus.too_large", file=rel, mb=size / 1e6, limit_mb=MAX_FILE_BYTES / 1e6))
    return parse_document(path.read_bytes(), rel, warnings, messages=messages)


def parse_document(data: bytes, rel: str, warnings: list[str] | None = None, *,
                   messages: list[Message] | None = None) -> Document:
    """A Document from a file's bytes, as if it were the corpus file `rel` (e.g. "documents/x.md").

    The same checks as loading (raises SkipFile naming the problem); the id defaults to the file name.
    `warnings` and `messages` as for `load_file`.
    """
    stem = PurePosixPath(rel).stem
    notes: list[Message] = []
    if not data.strip():
        raise SkipFile(msg("corpus.empty", file=rel))
    try:
        raw = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise SkipFile(msg("corpus.not_utf8", file=rel, position=e.start)) from e
    meta, body = split_front_matter(raw, rel)
    text = clean_text(body)
    if not text.strip():
        raise SkipFile(msg("corpus.no_text", file=rel))

    long_keys = [k for k in meta if len(str(k)) > MAX_KEY_CHARS]
    if long_keys:
        raise SkipFile(msg("corpus.key_too_long", file=rel, length=len(str(long_keys[0])), limit=MAX_KEY_CHARS))
    limits = {"id": None, "title": MAX_TITLE_CHARS}  # an id is never cut (refused below when too long)
    meta = {str(k): _bounded(v, rel, str(k), limits.get(str(k), MAX_FIELD_CHARS), notes) for k, v in meta.items()}
    for key in ("id", "title", "kind"):
        if isinstance(meta.get(key), list):
            raise SkipFile(msg("corpus.field_is_list", file=rel, field=key))
    doc_id = str(meta.pop("id", "") or slugify(stem))
    if len(doc_id) > MAX_ID_CHARS:
        raise SkipFile(msg("corpus.id_too_long", file=rel, length=len(doc_id), limit=MAX_ID_CHARS))
    if not re.fullmatch(r"[a-z0-9][a-z0-9._-]*", doc_id):
        raise SkipFile(msg("corpus.id_invalid", file=rel, doc_id=doc_id))
    title = str(meta.pop("title", "") or _bounded(_first_heading(text), rel, "title", MAX_TITLE_CHARS, notes)
                or stem.replace("-", " ").replace("_", " "))
    default_kind = "case" if rel.startswith("cases/") else "overig"
    kind = str(meta.pop("kind", default_kind)).strip().lower()
    if kind not in DOCUMENT_KINDS:
        raise SkipFile(msg("corpus.kind_unknown", file=rel, kind=kind, allowed=list(DOCUMENT_KINDS)))
    meta = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in meta.items()}
    if kind == "case":
        meta = _check_case(meta, rel)
    if warnings is not None:
        warnings.extend(str(note) for note in notes)
    if messages is not None:
        messages.extend(notes)
    return Document(
        id=doc_id,
        title=title,
        kind=kind,
        text=text,
        source=rel,
        content_hash=hashlib.sha256(data).hexdigest(),
        meta=meta,
    )


def _check_case(meta: dict, rel: str) -> dict:
    """Validate a practice case's front matter against the controlled vocabularies."""
    # source_section may be "" (the text before a document's first heading); the rest must be filled in.
    missing = [k for k in CASE_REQUIRED if meta.get(k) in (None, "", []) and not (k == "source_section" and k in meta)]
    if missing:
        raise SkipFile(msg("corpus.case_missing", file=rel, fields=missing))
    themes = meta["themes"]
    if isinstance(themes, str):
        themes = [themes]
    checks = [("sector", [meta["sector"]], SECTORS), ("size_class", [meta["size_class"]], SIZE_CLASSES),
              ("themes", themes, THEMES)]
    for field, values, allowed in checks:
        wrong = [str(v) for v in values if v not in allowed]
        if wrong:
            raise SkipFile(msg("corpus.case_value_not_allowed", file=rel, field=field, values=", ".join(map(repr, wrong)),
                               allowed=list(allowed)))
    meta = dict(meta, themes=[str(t) for t in themes])
    if "employees" in meta:
        meta["employees"] = str(meta["employees"])
    return meta


def is_candidate(rel: str) -> bool:
    """Whether a file at `rel` (relative to the corpus folder, "documents/x.md") is one the index reads:
    not a README or other ignored name, not hidden or in a hidden folder, not a theme."""
    parts = PurePosixPath(rel).parts
    return (bool(parts) and parts[-1].lower() not in IGNORED_NAMES
            and not any(part.startswith(".") for part in parts) and parts[0] != THEMES_FOLDER)


def corpus_files(corpus_dir: Path) -> list[Path]:
    """All candidate files under the corpus folder, sorted, hidden files and READMEs left out."""
    return sorted(
        p for p in corpus_dir.rglob("*") if p.is_file() and is_candidate(p.relative_to(corpus_dir).as_posix())
    )


def passage_count_problem(doc: Document, chunking: ChunkingSettings, max_passages: int) -> Message | None:
    """Why a document gives too many passages to index, or None when it is within the bound."""
    from assistant.chunking import chunk_document

    count = len(chunk_document(doc, chunking))
    if count <= max_passages:
        return None
    return msg("corpus.too_many_passages", file=doc.source, count=count, limit=max_passages)


def load_corpus(
    corpus_dir: Path, *, chunking: ChunkingSettings | None = None, max_passages: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> LoadReport:
    """Load every usable file under `corpus_dir`; bad files become warnings, not failures.

    Files that share a document id are all left out and listed in `conflicts` (never resolved by
    file order: a later upload must not replace a genuine source). With `max_passages`, a document
    that would give more passages (cut with `chunking`) is skipped with a warning. `progress(done, total)`
    is called after each file (and once with 0 before the first).
    """
    loaded: list[Document] = []
    warnings: list[Message] = []
    paths = corpus_files(corpus_dir)
    if progress is not None:
        progress(0, len(paths))
    for done, path in enumerate(paths, 1):
        doc = _load_one(path, corpus_dir, warnings, chunking, max_passages)
        if doc is not None:
            loaded.append(doc)
        if progress is not None:
            progress(done, len(paths))
    by_id: dict[str, list[str]] = {}
    for doc in loaded:
        by_id.setdefault(doc.id, []).append(doc.source)
    conflicts = {doc_id: sources for doc_id, sources in by_id.items() if len(sources) > 1}
    documents = [d for d in loaded if d.id not in conflicts]
    return LoadReport(documents=documents, warnings=[str(w) for w in warnings], conflicts=conflicts,
                      warning_messages=warnings)


def _load_one(path: Path, corpus_dir: Path, warnings: list[Message], chunking: ChunkingSettings | None,
              max_passages: int | None) -> Document | None:
    """One file of load_corpus, or None (with a warning) when it is skipped."""
    try:
        doc = load_file(path, corpus_dir, messages=warnings)
    except SkipFile as e:
        warnings.append(msg("corpus.skipped", problem=e.message))
        return None
    except OSError as e:
        warnings.append(msg("corpus.unreadable", file=path.relative_to(corpus_dir).as_posix(), reason=e.strerror))
        return None
    if max_passages is not None:
        problem = passage_count_problem(doc, chunking or ChunkingSettings(), max_passages)
        if problem:
            warnings.append(msg("corpus.skipped", problem=problem))
            return None
    return doc


def corpus_sources(corpus_dir: Path) -> set[str]:
    """Paths (relative to the corpus folder) of every candidate file, loadable or not."""
    return {p.relative_to(corpus_dir).as_posix() for p in corpus_files(corpus_dir)}
