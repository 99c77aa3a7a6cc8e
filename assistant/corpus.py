"""Load the corpus: files under corpus/, YAML front matter, cleaning of conversion debris.

A bad file (empty, not UTF-8, broken front matter, unknown extension, too large) is skipped with
a warning that names it; everything else is loaded. Two files with the same document id are a
conflict: neither is loaded and the report names both (never resolved by file order).
"""

from __future__ import annotations

import hashlib
import html
import re
import unicodedata
from datetime import date, datetime
from pathlib import Path, PurePosixPath

import yaml

from assistant.config import ChunkingSettings
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
    """A corpus file that cannot be used; the message says why and how to fix it."""


def split_front_matter(raw: str, name: str) -> tuple[dict, str]:
    """Return (front matter, body). A file without front matter gets an empty mapping."""
    if not raw.startswith("---"):
        return {}, raw
    match = _FRONT_MATTER.match(raw)
    if match is None:
        raise SkipFile(f"{name}: front matter starts with '---' but has no closing '---' line; add it or remove the block")
    try:
        meta = yaml.safe_load(match.group(1))
    except yaml.YAMLError as e:
        where = getattr(e, "problem_mark", None)
        line = f" (line {where.line + 2})" if where is not None else ""
        raise SkipFile(f"{name}: front matter is not valid YAML{line}; fix the YAML between the '---' lines") from e
    if meta is None:
        meta = {}
    if not isinstance(meta, dict):
        raise SkipFile(f"{name}: front matter must be 'key: value' lines, found a {type(meta).__name__}")
    return meta, raw[match.end():]


def _first_heading(body: str) -> str | None:
    match = re.search(r"^#{1,6}\s+(.+?)\s*#*$", body, re.MULTILINE)
    return match.group(1).strip() if match else None


def _bounded(value, rel: str, field: str, limit: int | None, notes: list[str]):
    """A front-matter value checked and cut to its bounds, with a note naming file and field per cut.

    Values are text, numbers, dates or flat lists of those; anything nested is refused (SkipFile)
    before it is walked, so YAML aliases cannot make a small file expand into an enormous value.
    """
    if value is None or isinstance(value, _SCALARS):
        items, is_list = [value], False
    elif isinstance(value, list) and all(v is None or isinstance(v, _SCALARS) for v in value):
        items, is_list = value, True
    else:
        raise SkipFile(f"{rel}: front matter field {field!r} must be text, a number, a date or a list of those, "
                       f"found a {type(value).__name__} (nested or binary); write it as one line or a simple list")
    if len(items) > MAX_LIST_ITEMS:
        notes.append(f"{rel}: {field} has {len(items):,} items; kept the first {MAX_LIST_ITEMS} (shorten the list)")
        items = items[:MAX_LIST_ITEMS]
    out = []
    for item in items:
        if isinstance(item, str) and limit is not None and len(item) > limit:
            notes.append(f"{rel}: {field} is {len(item):,} characters; cut to {limit:,} (shorten it in the front matter)")
            item = item[:limit].rstrip()
        out.append(item)
    return out if is_list else out[0]


def load_file(path: Path, corpus_dir: Path, warnings: list[str] | None = None) -> Document:
    """Load one corpus file into a Document, or raise SkipFile naming the problem.

    Front-matter texts longer than their bound are cut; `warnings` (if given) gets one line per cut
    (only when the file loads).
    """
    rel = path.relative_to(corpus_dir).as_posix()
    if path.suffix.lower() not in SUPPORTED_EXTENSIONS:
        raise SkipFile(
            f"{rel}: unsupported file type '{path.suffix or '(none)'}'; use one of {', '.join(SUPPORTED_EXTENSIONS)}"
        )
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise SkipFile(f"{rel}: file is {size / 1e6:.1f} MB, more than the {MAX_FILE_BYTES / 1e6:.0f} MB a corpus "
                       "file may have; split it into smaller documents")
    return parse_document(path.read_bytes(), rel, warnings)


def parse_document(data: bytes, rel: str, warnings: list[str] | None = None) -> Document:
    """A Document from a file's bytes, as if it were the corpus file `rel` (e.g. "documents/x.md").

    The same checks as loading (raises SkipFile naming the problem); the id defaults to the file name.
    """
    stem = PurePosixPath(rel).stem
    notes: list[str] = []
    if not data.strip():
        raise SkipFile(f"{rel}: file is empty; add text or delete it")
    try:
        raw = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise SkipFile(f"{rel}: not UTF-8 text (bad byte at position {e.start}); re-save the file as UTF-8") from e
    meta, body = split_front_matter(raw, rel)
    text = clean_text(body)
    if not text.strip():
        raise SkipFile(f"{rel}: has front matter but no text; add the document text below the front matter")

    long_keys = [k for k in meta if len(str(k)) > MAX_KEY_CHARS]
    if long_keys:
        raise SkipFile(f"{rel}: a front matter key is {len(str(long_keys[0])):,} characters long; "
                       f"use keys of at most {MAX_KEY_CHARS} characters")
    limits = {"id": None, "title": MAX_TITLE_CHARS}  # an id is never cut (refused below when too long)
    meta = {str(k): _bounded(v, rel, str(k), limits.get(str(k), MAX_FIELD_CHARS), notes) for k, v in meta.items()}
    for key in ("id", "title", "kind"):
        if isinstance(meta.get(key), list):
            raise SkipFile(f"{rel}: front matter field {key!r} must be one value, found a list")
    doc_id = str(meta.pop("id", "") or slugify(stem))
    if len(doc_id) > MAX_ID_CHARS:
        raise SkipFile(f"{rel}: id is {len(doc_id):,} characters long; use at most {MAX_ID_CHARS}")
    if not re.fullmatch(r"[a-z0-9][a-z0-9._-]*", doc_id):
        raise SkipFile(f"{rel}: id {doc_id!r} must be lower-case letters, digits, '.', '_' or '-'")
    title = str(meta.pop("title", "") or _bounded(_first_heading(text), rel, "title", MAX_TITLE_CHARS, notes)
                or stem.replace("-", " ").replace("_", " "))
    default_kind = "case" if rel.startswith("cases/") else "overig"
    kind = str(meta.pop("kind", default_kind)).strip().lower()
    if kind not in DOCUMENT_KINDS:
        raise SkipFile(f"{rel}: kind {kind!r} is unknown; use one of {', '.join(DOCUMENT_KINDS)}")
    meta = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in meta.items()}
    if kind == "case":
        meta = _check_case(meta, rel)
    if warnings is not None:
        warnings.extend(notes)
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
        raise SkipFile(f"{rel}: case front matter lacks {', '.join(missing)}; add them (see corpus/cases/README.md)")
    themes = meta["themes"]
    if isinstance(themes, str):
        themes = [themes]
    checks = [("sector", [meta["sector"]], SECTORS), ("size_class", [meta["size_class"]], SIZE_CLASSES),
              ("themes", themes, THEMES)]
    for field, values, allowed in checks:
        wrong = [str(v) for v in values if v not in allowed]
        if wrong:
            raise SkipFile(f"{rel}: {field} {', '.join(map(repr, wrong))} is not allowed; use one of {', '.join(allowed)}")
    meta = dict(meta, themes=[str(t) for t in themes])
    if "employees" in meta:
        meta["employees"] = str(meta["employees"])
    return meta


def corpus_files(corpus_dir: Path) -> list[Path]:
    """All candidate files under the corpus folder, sorted, hidden files and READMEs left out."""
    return sorted(
        p
        for p in corpus_dir.rglob("*")
        if p.is_file()
        and p.name.lower() not in IGNORED_NAMES
        and not any(part.startswith(".") for part in p.relative_to(corpus_dir).parts)
        and p.relative_to(corpus_dir).parts[0] != THEMES_FOLDER
    )


def passage_count_problem(doc: Document, chunking: ChunkingSettings, max_passages: int) -> str | None:
    """Why a document gives too many passages to index (English), or None when it is within the bound."""
    from assistant.chunking import chunk_document

    count = len(chunk_document(doc, chunking))
    if count <= max_passages:
        return None
    return (f"{doc.source}: would give {count:,} passages, more than the {max_passages:,} one document may give "
            "(ASSISTANT_MAX_DOCUMENT_PASSAGES); split it into smaller documents or raise that setting")


def load_corpus(
    corpus_dir: Path, *, chunking: ChunkingSettings | None = None, max_passages: int | None = None
) -> LoadReport:
    """Load every usable file under `corpus_dir`; bad files become warnings, not failures.

    Files that share a document id are all left out and listed in `conflicts` (never resolved by
    file order: a later upload must not replace a genuine source). With `max_passages`, a document
    that would give more passages (cut with `chunking`) is skipped with a warning.
    """
    loaded: list[Document] = []
    warnings: list[str] = []
    for path in corpus_files(corpus_dir):
        try:
            doc = load_file(path, corpus_dir, warnings)
        except SkipFile as e:
            warnings.append(f"skipped {e}")
            continue
        except OSError as e:
            warnings.append(f"skipped {path.relative_to(corpus_dir).as_posix()}: cannot read it ({e.strerror})")
            continue
        if max_passages is not None:
            problem = passage_count_problem(doc, chunking or ChunkingSettings(), max_passages)
            if problem:
                warnings.append(f"skipped {problem}")
                continue
        loaded.append(doc)
    by_id: dict[str, list[str]] = {}
    for doc in loaded:
        by_id.setdefault(doc.id, []).append(doc.source)
    conflicts = {doc_id: sources for doc_id, sources in by_id.items() if len(sources) > 1}
    documents = [d for d in loaded if d.id not in conflicts]
    return LoadReport(documents=documents, warnings=warnings, conflicts=conflicts)


def corpus_sources(corpus_dir: Path) -> set[str]:
    """Paths (relative to the corpus folder) of every candidate file, loadable or not."""
    return {p.relative_to(corpus_dir).as_posix() for p in corpus_files(corpus_dir)}
