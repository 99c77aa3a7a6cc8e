"""Load the corpus: files under corpus/, YAML front matter, cleaning of conversion debris.

A bad file (empty, not UTF-8, broken front matter, unknown extension) is skipped with a
warning that names it; everything else is loaded.
"""

from __future__ import annotations

import hashlib
import html
import re
import unicodedata
from pathlib import Path

import yaml

from assistant.models import CASE_REQUIRED, DOCUMENT_KINDS, SECTORS, SIZE_CLASSES, THEMES, Document, LoadReport

TEXT_EXTENSIONS = (".md", ".markdown", ".txt")
SUPPORTED_EXTENSIONS = TEXT_EXTENSIONS
# Files that describe the corpus folder rather than belong to it.
IGNORED_NAMES = {"readme.md", "readme.txt", ".gitkeep", ".ds_store"}

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


def load_file(path: Path, corpus_dir: Path) -> Document:
    """Load one corpus file into a Document, or raise SkipFile naming the problem."""
    rel = path.relative_to(corpus_dir).as_posix()
    if path.suffix.lower() not in SUPPORTED_EXTENSIONS:
        raise SkipFile(
            f"{rel}: unsupported file type '{path.suffix or '(none)'}'; use one of {', '.join(SUPPORTED_EXTENSIONS)}"
        )
    data = path.read_bytes()
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

    meta = {str(k): v for k, v in meta.items()}
    doc_id = str(meta.pop("id", "") or slugify(path.stem))
    if not re.fullmatch(r"[a-z0-9][a-z0-9._-]*", doc_id):
        raise SkipFile(f"{rel}: id {doc_id!r} must be lower-case letters, digits, '.', '_' or '-'")
    title = str(meta.pop("title", "") or _first_heading(text) or path.stem.replace("-", " ").replace("_", " "))
    default_kind = "case" if rel.startswith("cases/") else "overig"
    kind = str(meta.pop("kind", default_kind)).strip().lower()
    if kind not in DOCUMENT_KINDS:
        raise SkipFile(f"{rel}: kind {kind!r} is unknown; use one of {', '.join(DOCUMENT_KINDS)}")
    meta = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in meta.items()}
    if kind == "case":
        meta = _check_case(meta, rel)
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
    )


def load_corpus(corpus_dir: Path) -> LoadReport:
    """Load every usable file under `corpus_dir`; bad files become warnings, not failures."""
    documents: list[Document] = []
    warnings: list[str] = []
    seen: dict[str, str] = {}
    for path in corpus_files(corpus_dir):
        try:
            doc = load_file(path, corpus_dir)
        except SkipFile as e:
            warnings.append(f"skipped {e}")
            continue
        except OSError as e:
            warnings.append(f"skipped {path.relative_to(corpus_dir).as_posix()}: cannot read it ({e.strerror})")
            continue
        if doc.id in seen:
            warnings.append(f"skipped {doc.source}: id {doc.id!r} is already used by {seen[doc.id]}; give it another id")
            continue
        seen[doc.id] = doc.source
        documents.append(doc)
    return LoadReport(documents=documents, warnings=warnings)


def corpus_sources(corpus_dir: Path) -> set[str]:
    """Paths (relative to the corpus folder) of every candidate file, loadable or not."""
    return {p.relative_to(corpus_dir).as_posix() for p in corpus_files(corpus_dir)}
