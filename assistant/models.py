"""Every type that crosses a pipeline stage."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

DOCUMENT_KINDS = ("advies", "rapport", "artikel", "opinie", "case", "overig")

# Controlled vocabularies of practice cases (front matter of corpus/cases/*.md).
SECTORS = (
    "bouw", "metaal & techniek", "zorg & welzijn", "logistiek", "voeding", "installatie", "overheid",
    "hightech", "ict", "dienstverlening", "industrie", "onderwijs", "sectoroverstijgend",
)
SIZE_CLASSES = ("klein", "middel", "groot", "onbekend")  # < 50, 50-250, > 250 employees, not stated
THEMES = (
    "zelfsturende teams", "leiderschap", "opleiding & ontwikkeling", "technologie-invoering", "medezeggenschap",
    "flexibel werken", "procesinnovatie/QRM", "duurzame inzetbaarheid", "inclusie & diversiteit",
    "regionale samenwerking", "werkplezier & betrokkenheid",
)
CASE_FIELDS = (
    "organisation", "sector", "size_class", "employees", "region", "country", "themes", "did", "result",
    "source_doc", "source_section",
)
CASE_OPTIONAL = ("employees", "region", "country")
CASE_REQUIRED = tuple(f for f in CASE_FIELDS if f not in CASE_OPTIONAL)


@dataclass(frozen=True)
class Document:
    """A cleaned corpus file: front matter plus Markdown body. Offsets of chunks point into `text`."""

    id: str
    title: str
    kind: str
    text: str
    source: str  # path relative to the corpus folder, e.g. "documents/ser-advies.md"
    content_hash: str  # sha256 of the raw file bytes
    meta: dict[str, Any] = field(default_factory=dict)  # the remaining front matter (publisher, date, url, ...)

    @property
    def language(self) -> str:
        return str(self.meta.get("language", "nl"))


@dataclass(frozen=True)
class Chunk:
    """A passage of one section of one document, with its place in that document."""

    id: str
    doc_id: str
    title: str
    kind: str
    section: str  # heading path, "3 Enkele voorstellen > 3.3 Rol overheid – ..."; "" before the first heading
    ordinal: int  # position of the chunk in its document, from 0
    start: int  # character offsets into Document.text
    end: int
    text: str
    source: str
    meta: dict[str, Any] = field(default_factory=dict)

    def embedding_text(self) -> str:
        """What the embedder sees: title and heading path (for cases: sector, size, themes) give context."""
        return f"{passage_context(self.title, self.section, self.kind, self.meta)}\n\n{self.text}"


def passage_context(title: str, section: str, kind: str, meta: dict[str, Any]) -> str:
    """The words around a passage that count for matching: document title, heading path, case metadata.

    Shared by the embedder input and the lexical index, so both see the same context.
    """
    head = f"{title}\n{section}" if section else title
    if kind == "case":
        themes = meta.get("themes") or []
        head += (f"\nPraktijkvoorbeeld: {meta.get('organisation', '')}; sector: {meta.get('sector', '')}; "
                 f"omvang: {meta.get('size_class', '')}; thema's: {', '.join(themes)}")
    return head


@dataclass(frozen=True)
class Filters:
    """Metadata filters for a search; None means "any". All given filters must hold."""

    kind: str | None = None
    doc_id: str | None = None
    sector: str | None = None
    size_class: str | None = None
    theme: str | None = None

    def __post_init__(self) -> None:
        for name, value, allowed in (
            ("kind", self.kind, DOCUMENT_KINDS),
            ("sector", self.sector, SECTORS),
            ("size_class", self.size_class, SIZE_CLASSES),
            ("theme", self.theme, THEMES),
        ):
            if value is not None and value not in allowed:
                raise ValueError(f"{name} must be one of {', '.join(allowed)}. Currently it is {value!r}.")

    def equalities(self) -> list[tuple[str, str]]:
        """The set single-valued filters as (metadata key, value); `theme` is matched in a list instead."""
        pairs = (("kind", self.kind), ("doc_id", self.doc_id), ("sector", self.sector), ("size_class", self.size_class))
        return [(key, value) for key, value in pairs if value is not None]


@dataclass(frozen=True)
class Hit:
    """A chunk found by a search, with its score (higher is better)."""

    chunk_id: str
    doc_id: str
    title: str
    kind: str
    section: str
    text: str
    score: float
    start: int
    end: int
    meta: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        data = {
            "chunk_id": self.chunk_id,
            "doc_id": self.doc_id,
            "title": self.title,
            "kind": self.kind,
            "section": self.section,
            "text": self.text,
            "score": round(self.score, 6),
            "start": self.start,
            "end": self.end,
        }
        if self.kind == "case":
            data["case"] = {k: self.meta.get(k) for k in CASE_FIELDS}
        return data


@dataclass
class LoadReport:
    """What loading the corpus produced: documents and one warning per skipped file."""

    documents: list[Document]
    warnings: list[str]
