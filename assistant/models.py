"""Every type that crosses a pipeline stage."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

DOCUMENT_KINDS = ("advies", "rapport", "artikel", "opinie", "case", "overig")


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
        """What the embedder sees: title and heading path give the passage its context."""
        head = f"{self.title}\n{self.section}" if self.section else self.title
        return f"{head}\n\n{self.text}"


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
        return {
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


@dataclass
class LoadReport:
    """What loading the corpus produced: documents and one warning per skipped file."""

    documents: list[Document]
    warnings: list[str]
