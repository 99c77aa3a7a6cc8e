"""Every type that crosses a pipeline stage."""

from __future__ import annotations

import copy
import re
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
class Citation:
    """A numbered source of an answer: the passage, where it is, and the sentences the answer used."""

    n: int
    chunk_id: str
    doc_id: str
    title: str
    section: str  # heading path
    kind: str
    text: str  # the whole passage, as stored
    start: int  # offsets of the passage in its document
    end: int
    spans: list[tuple[int, int]] = field(default_factory=list)  # used sentences, offsets into `text`

    @classmethod
    def from_hit(cls, n: int, hit: Hit) -> "Citation":
        return cls(n=n, chunk_id=hit.chunk_id, doc_id=hit.doc_id, title=hit.title, section=hit.section,
                   kind=hit.kind, text=hit.text, start=hit.start, end=hit.end)

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "spans": [list(s) for s in self.spans]}


@dataclass
class CaseRef:
    """A practice case shown with an answer (its citation number points into Answer.citations)."""

    doc_id: str
    title: str
    organisation: str
    sector: str
    size_class: str
    employees: str | None
    themes: list[str]
    citation: int
    source_doc: str | None = None
    source_section: str | None = None

    @classmethod
    def from_hit(cls, hit: Hit, citation: int) -> "CaseRef":
        m = hit.meta
        return cls(doc_id=hit.doc_id, title=hit.title, organisation=str(m.get("organisation") or hit.title),
                   sector=str(m.get("sector") or ""), size_class=str(m.get("size_class") or ""),
                   employees=m.get("employees"), themes=list(m.get("themes") or []), citation=citation,
                   source_doc=m.get("source_doc"), source_section=m.get("source_section"))


@dataclass
class Answer:
    """What the assistant says: text with [n] markers, the cited passages, practice cases, and how."""

    text: str
    citations: list[Citation]
    cases: list[CaseRef]
    refused: bool
    mode: str  # "extractive" | "generative"
    language: str = "nl"
    notices: list[str] = field(default_factory=list)  # shown above the answer (truncated input, LLM fallback)
    suggestions: list[str] = field(default_factory=list)  # with a refusal: questions the corpus answers
    uncited_sentences: list[str] = field(default_factory=list)  # generative mode: sentences citing nothing
    search_query: str = ""
    timings: dict[str, float] = field(default_factory=dict)  # milliseconds per step
    build_id: str = ""
    evidence: float | None = None  # the evidence score the refusal decision used
    refusal_reason: str | None = None  # why it refused: low_evidence, unknown_subject, legal, amount, out_of_scope, model
    theme: dict[str, str] | None = None  # {"id", "title", "role": "lead" | "see_also"} when a curated theme is used
    quoted_chars: int | None = None  # extractive: characters of corpus text quoted (with their quotation marks)

    def to_dict(self) -> dict[str, Any]:
        return {
            "answer": self.text, "citations": [c.to_dict() for c in self.citations],
            "cases": [c.__dict__.copy() for c in self.cases], "refused": self.refused, "mode": self.mode,
            "language": self.language, "notices": self.notices, "suggestions": self.suggestions,
            "uncited_sentences": self.uncited_sentences, "search_query": self.search_query,
            "timings": {k: round(v, 1) for k, v in self.timings.items()}, "build_id": self.build_id,
            "evidence": self.evidence, "refusal_reason": self.refusal_reason, "theme": self.theme,
            "quoted_chars": self.quoted_chars,
        }

    def renumbered(self, offset: int) -> "Answer":
        """A copy whose citation numbers start after `offset` ([1] -> [offset + 1]), for showing it after
        another answer's sources (the intake's plan) without two sources sharing a number."""
        if not offset:
            return self
        moved = copy.deepcopy(self)
        moved.text = re.sub(r"\[(\d{1,3})\]", lambda m: f"[{int(m.group(1)) + offset}]", self.text)
        for c in moved.citations:
            c.n += offset
        for case in moved.cases:
            case.citation += offset
        return moved


@dataclass
class LoadReport:
    """What loading the corpus produced: documents, one warning per skipped file, and id conflicts.

    `conflicts` maps a document id that two or more files claim to those files (sorted); none of
    them is in `documents`: a conflict is never resolved by file order.
    """

    documents: list[Document]
    warnings: list[str]  # English, one per skipped or cut file: the texts of `warning_messages`
    conflicts: dict[str, list[str]] = field(default_factory=dict)
    warning_messages: list = field(default_factory=list)  # the same warnings as assistant.messages.Message

    def conflict_messages(self) -> list[str]:
        """One line per conflicting id naming every file that claims it and the fix (English)."""
        return [str(m) for m in self.conflicts_as_messages()]

    def conflicts_as_messages(self) -> list:
        """`conflict_messages` as assistant.messages.Message (`.text("nl")` for Dutch)."""
        from assistant.messages import AndList, msg

        return [msg("corpus.conflict", doc_id=doc_id, sources=AndList(sources))
                for doc_id, sources in sorted(self.conflicts.items())]
