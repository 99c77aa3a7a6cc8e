"""Structure-aware chunking: one section at a time, never across a heading.

Every chunk keeps its heading path and exact character offsets into the cleaned document, so a
citation can be highlighted in the full text. Long sections are split on paragraph, then
sentence boundaries, with the last sentences of one chunk repeated at the start of the next.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from assistant.config import ChunkingSettings
from assistant.models import Chunk, Document
from assistant.text import sentence_ends

HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t]*#*[ \t]*$", re.MULTILINE)
PATH_SEPARATOR = " > "
# A heading longer than this (the longest real one has 121 characters) is cut in the heading path:
# the path goes with every passage of its section into the index, the embedder and BM25.
MAX_HEADING_CHARS = 300
_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n")


@dataclass(frozen=True)
class Section:
    path: str
    start: int  # body span (after the heading line) in the document text
    end: int


def _heading_text(raw: str) -> str:
    return re.sub(r"[*_`]+", "", raw).strip()[:MAX_HEADING_CHARS].rstrip()


def sections(text: str) -> list[Section]:
    """Split a Markdown document into sections with their heading paths."""
    result: list[Section] = []
    stack: list[tuple[int, str]] = []
    path, body_start = "", 0
    for match in HEADING.finditer(text):
        result.append(Section(path, body_start, match.start()))
        level, title = len(match.group(1)), _heading_text(match.group(2))
        while stack and stack[-1][0] >= level:
            stack.pop()
        stack.append((level, title))
        path = PATH_SEPARATOR.join(t for _, t in stack)
        body_start = match.end()
    result.append(Section(path, body_start, len(text)))
    return [s for s in result if text[s.start:s.end].strip()]


def find_section(text: str, path: str) -> Section | None:
    """The section of a document with exactly this heading path, if any."""
    return next((s for s in sections(text) if s.path == path), None)


def _units(text: str, start: int, end: int, max_chars: int) -> list[tuple[int, int]]:
    """Sentence-sized spans (start, end) covering text[start:end], none longer than max_chars.

    Spans are trimmed of surrounding white space; a span that ends a paragraph is followed by a
    paragraph break in the source, which the packer prefers as a cut point.
    """
    spans: list[tuple[int, int]] = []
    pos = start
    for para in _PARAGRAPH_BREAK.split(text[start:end]):
        p_start = text.index(para, pos) if para else pos
        p_end = p_start + len(para)
        pos = p_end
        if not para.strip():
            continue
        if p_end - p_start <= max_chars:
            spans.append((p_start, p_end))
            continue
        s_start = p_start
        for cut in sentence_ends(text, p_start, p_end):
            spans.append((s_start, cut))
            s_start = cut
        spans.append((s_start, p_end))
    trimmed: list[tuple[int, int]] = []
    for s, e in spans:
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if s >= e:
            continue
        # A "sentence" longer than the limit (a table, a list without full stops) is cut on white space.
        while e - s > max_chars:
            cut = text.rfind(" ", s, s + max_chars)
            cut = cut if cut > s else s + max_chars
            trimmed.append((s, cut))
            s = cut
            while s < e and text[s].isspace():
                s += 1
        if s < e:
            trimmed.append((s, e))
    return trimmed


def _pack(units: list[tuple[int, int]], max_chars: int, overlap_chars: int) -> list[tuple[int, int]]:
    """Greedily pack consecutive units into spans of at most max_chars, with sentence overlap."""
    chunks: list[tuple[int, int]] = []
    i = 0
    while i < len(units):
        j = i
        while j + 1 < len(units) and units[j + 1][1] - units[i][0] <= max_chars:
            j += 1
        chunks.append((units[i][0], units[j][1]))
        if j + 1 >= len(units):
            break
        # Start the next chunk with the trailing units of this one that fit in the overlap,
        # but always move forward by at least one unit.
        k = j + 1
        while k - 1 > i and units[j][1] - units[k - 1][0] <= overlap_chars:
            k -= 1
        i = k
    return chunks


def chunk_id(doc_id: str, section: str, ordinal: int, text: str) -> str:
    """Stable id: same document, section, position and text give the same id on every build."""
    digest = hashlib.sha256(f"{doc_id}\x1f{section}\x1f{ordinal}\x1f{text}".encode()).hexdigest()[:12]
    return f"{doc_id}:{ordinal:04d}:{digest}"


def chunk_document(doc: Document, settings: ChunkingSettings) -> list[Chunk]:
    """All chunks of one document, in reading order."""
    chunks: list[Chunk] = []
    text = doc.text
    for section in sections(text):
        units = _units(text, section.start, section.end, settings.max_chars)
        for start, end in _pack(units, settings.max_chars, settings.overlap_chars):
            passage = text[start:end]
            ordinal = len(chunks)
            chunks.append(
                Chunk(
                    id=chunk_id(doc.id, section.path, ordinal, passage),
                    doc_id=doc.id,
                    title=doc.title,
                    kind=doc.kind,
                    section=section.path,
                    ordinal=ordinal,
                    start=start,
                    end=end,
                    text=passage,
                    source=doc.source,
                    meta=doc.meta,
                )
            )
    return chunks
