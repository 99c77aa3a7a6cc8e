"""Wiring: the only place where the pipeline stages meet. The CLI and UI call these functions."""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import threading
import time
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterator, Protocol, Sequence

import numpy as np

from assistant.chunking import chunk_document, find_section
from assistant.config import Settings
from assistant.corpus import corpus_sources, load_corpus
from assistant.embeddings import Embedder, make_embedder
from assistant.excerpts import SUBJECT_BEFORE, asked_organisations, organisation_mentions, subject_before
from assistant.evaluate import (
    GoldQuestion,
    QuestionResult,
    evaluate_retrieval,
    load_gold,
    metrics_by_type,
    score_answers,
)
from assistant.errors import AssistantError, CorpusError, IndexMismatchError, StoreError
from assistant.messages import (PHASE_FILES, PHASE_PASSAGES, PHASE_SAVING, PHASE_SENTENCES, PHASE_THEMES,
                                Message, count_summary, msg)
from assistant.models import CASE_FIELDS, Answer, Chunk, Citation, Document, Filters, Hit, LoadReport
from assistant.answer import (
    MAX_CASES,
    THEME_POINTS,
    asked_details,
    unstated_detail,
    THEME_QUOTE_BUDGET,
    ThemeUse,
    theme_role,
    TEXTS,
    clean_question,
    compose_extractive,
    detect_language,
    evidence_score,
    is_start_question,
    answer_terms,
    definition_query, focus_on_carried_names,
    refusal,
    refusal_reason,
)
from assistant.generate import generate, load_prompt, make_chat_model
from assistant.known_questions import KNOWN_BLOB, excluding, source_hash, stored_source_hash
from assistant.known_questions import build_blob as known_blob, load_entries as load_known
from assistant.known_questions import seed_shipped as seed_shipped_known
from assistant.query import needs_context, question_type
from assistant.retrieve import (
    HybridSearcher,
    Mode,
    Retrieval,
    load_search_state,
    matches,
    with_second_query,
    query_terms,
)
from assistant.store import Build, Manifest, Store, disk_full_error, is_disk_full, open_store
from assistant.ranker import ranker_for
from assistant.passage_ranker import passage_ranker_for
from assistant.scope import scope_features, scope_model_for
from assistant.text import plain, sentence_spans
from assistant.themes import (THEME_VECTORS_BLOB, Theme, ThemeLibrary, ThemeReport, check_themes, seed_vectors,
                              theme_files, theme_texts, theme_vectors_blob)

logger = logging.getLogger(__name__)
# A practice case is shown when its similarity is within this margin of the best passage's.
CASE_MARGIN = 0.025

# Bump when chunking or cleaning code changes in a way that changes chunks: old indexes become stale.
PIPELINE_VERSION = 2  # 2: sentence units with vectors stored with every passage


class Progress(Protocol):
    """Progress of an index build: `message` is the phase key, one of PHASES in this order --
    "files" (corpus files read), "passages" (passages embedded), "sentences" (their sentences
    embedded), "themes" (theme texts embedded), "saving" (passages written, plus one last step for
    the documents, search index and activation). Within a phase `done` rises from 0 to `total`.
    `assistant.messages.phase_label(key, "nl")` gives the label to show."""

    def __call__(self, done: int, total: int, message: str) -> None: ...



def _no_progress(done: int, total: int, message: str) -> None:
    return None


def fingerprint(settings: Settings) -> str:
    """Hash of everything that changes the vectors or the chunks (paper-qa names its index the same way)."""
    payload = {
        "embedder": settings.embedder,
        "chunking": settings.chunking.model_dump(),
        "pipeline": PIPELINE_VERSION,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


def check_compatible(manifest: Manifest, settings: Settings) -> None:
    if manifest.fingerprint != fingerprint(settings):
        raise IndexMismatchError(
            f"The index was built with embedder {manifest.embedder.get('backend')}:{manifest.embedder.get('model')} "
            f"and chunking {manifest.chunking}, but the settings ask for embedder {settings.embedder!r} and chunking "
            f"{settings.chunking.model_dump()}; run `assistant index --rebuild` (or restore the old settings)."
        )


def embed_units(chunks: Sequence[Chunk], embedder: Embedder, batch: int = 32,
                progress: Callable[[int, int], None] | None = None) -> list[tuple[list[tuple[int, int]], np.ndarray]]:
    """Every passage's sentences (spans into its text) and their vectors: what the answer step scores
    as excerpts and retrieval matches as sentence windows, embedded once here instead of per question.
    `progress(done, total)` counts sentences: once with 0, then after each batch."""
    spans = [sentence_spans(c.text) for c in chunks]
    texts = [c.text[a:b] for c, sp in zip(chunks, spans) for a, b in sp]
    vectors = []
    if progress is not None:
        progress(0, len(texts))
    for i in range(0, len(texts), batch):
        vectors.append(np.asarray(embedder.embed_passages(texts[i : i + batch]), dtype=np.float32))
        if progress is not None:
            progress(min(i + batch, len(texts)), len(texts))
    matrix = np.concatenate(vectors) if vectors else np.zeros((0, embedder.spec.dimension), np.float32)
    out, pos = [], 0
    for sp in spans:
        out.append((sp, matrix[pos : pos + len(sp)]))
        pos += len(sp)
    return out


@dataclass
class IndexResult:
    build_id: str
    documents: int
    chunks: int
    embedded: int  # chunks embedded in this run (0 when nothing changed)
    sentences: int = 0  # their sentences embedded as excerpt units in this run
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    kept_broken: list[str] = field(default_factory=list)  # files now unreadable whose previous version stays indexed
    warnings: list[str] = field(default_factory=list)  # English: the texts of warning_messages
    seconds: float = 0.0
    up_to_date: bool = False
    warning_messages: list[Message] = field(default_factory=list)  # `.text("nl")` for the Beheer tab
    document_count: int = 0  # indexed files that are not practice cases (of `documents`)
    case_count: int = 0  # indexed practice cases (kind "case")

    def counts(self, language: str = "en") -> str:
        """"5 documents, 32 practice cases" / "5 documenten, 32 praktijkvoorbeelden"."""
        return count_summary(self.document_count, self.case_count, language)


def theme_warning_messages(report: ThemeReport) -> list[Message]:
    """One warning per theme problem (a quote no longer verbatim, a pointer that does not resolve, ...):
    such a theme is left out of the chat and the app until it is fixed."""
    return [msg("theme.warning", problem=p) for p in report.messages]


def theme_warnings(report: ThemeReport) -> list[str]:
    """`theme_warning_messages` in English."""
    return [str(m) for m in theme_warning_messages(report)]


def split_counts(kinds) -> tuple[int, int]:
    """(documents, practice cases) among document kinds."""
    kinds = list(kinds)
    cases = sum(1 for k in kinds if k == "case")
    return len(kinds) - cases, cases


def load_indexable_corpus(settings: Settings, progress: Callable[[int, int], None] | None = None) -> LoadReport:
    """The corpus as indexing reads it: with the settings' chunking and passage bound per document."""
    return load_corpus(settings.corpus_dir, chunking=settings.chunking, max_passages=settings.document_passage_limit,
                       progress=progress)


def build_index(
    settings: Settings,
    *,
    rebuild: bool = False,
    embedder: Embedder | None = None,
    progress: Progress = _no_progress,
    store: Store | None = None,
) -> IndexResult:
    """Bring the index in line with the corpus: incremental by default, from scratch with rebuild=True.

    Changes are written into a new build which is activated only when complete. `progress` is called
    with each phase key of PHASES in order (see Progress); an up-to-date index reports "files" only.
    """
    started = time.perf_counter()
    corpus_dir = settings.corpus_dir
    if not corpus_dir.is_dir():
        raise CorpusError(f"Corpus folder {corpus_dir} does not exist; create it or set ASSISTANT_CORPUS_DIR.")
    report = load_indexable_corpus(settings, lambda done, total: progress(done, total, PHASE_FILES))
    if report.conflicts:  # never resolved by file order: a forged file must not replace a genuine source
        raise CorpusError(
            f"Cannot index {corpus_dir}: {'; '.join(report.conflict_messages())}. Nothing was indexed; the live "
            "index is unchanged."
        )
    if not report.documents:
        problems = f" ({len(report.warnings)} file(s) skipped, see warnings)" if report.warnings else ""
        raise CorpusError(
            f"No usable documents in {corpus_dir}{problems}; add Markdown or text files under documents/ or cases/."
        )
    themes = check_themes(corpus_dir, report.documents, settings.chunking)
    embedder = embedder or make_embedder(settings.embedder)
    own_store = store is None
    store = store or open_store(settings.index_dir, settings.chroma_url)

    with _releasing(store if own_store else None) as opened, store.writer_lock():
        previous: Build | None = None
        if not rebuild:
            current_id = store.current_build_id()
            if current_id is not None:
                previous = opened(store.open_build(current_id))
                check_compatible(previous.manifest, settings)

        old_files = previous.manifest.files if previous else {}
        by_source = {d.source: d for d in report.documents}
        all_present = corpus_sources(corpus_dir)
        skipped_sources = all_present - set(by_source)
        kept_broken = sorted(s for s in skipped_sources if s in old_files)
        added = sorted(s for s in by_source if s not in old_files)
        changed = sorted(s for s in by_source if s in old_files and old_files[s]["sha256"] != by_source[s].content_hash)
        removed = sorted(s for s in old_files if s not in by_source and s not in kept_broken)
        warning_messages = (list(report.warning_messages) + [msg("index.kept_previous", file=s) for s in kept_broken]
                            + theme_warning_messages(themes))
        document_count, case_count = split_counts(
            [d.kind for d in report.documents] + [old_files[s].get("kind") for s in kept_broken])
        result = IndexResult(
            build_id=previous.build_id if previous else "",
            documents=len(report.documents) + len(kept_broken),
            chunks=0,
            embedded=0,
            added=added,
            changed=changed,
            removed=removed,
            kept_broken=kept_broken,
            warnings=[str(m) for m in warning_messages],
            warning_messages=warning_messages,
            document_count=document_count,
            case_count=case_count,
        )
        if previous is not None and not (added or changed or removed):
            _add_missing_build_data(store, previous, by_source, embedder)  # a build from before these were stored
            store.prune()  # leftovers of an interrupted (killed) build go now, not at the next change
            result.chunks = previous.manifest.chunk_count
            result.up_to_date = True
            result.seconds = time.perf_counter() - started
            return result

        to_embed = [by_source[s] for s in added + changed]
        chunks: list[Chunk] = [c for doc in to_embed for c in chunk_document(doc, settings.chunking)]
        build = opened(store.create_build(copy_from=previous.build_id if previous else None))
        try:
            for source in changed + removed:
                build.delete_source(source)
            total = len(chunks)
            batch = settings.embed_batch_size
            progress(0, total, PHASE_PASSAGES)
            vectors = []
            for i in range(0, total, batch):
                part = chunks[i : i + batch]
                vectors.append(np.asarray(embedder.embed_passages([c.embedding_text() for c in part]), np.float32))
                progress(min(i + batch, total), total, PHASE_PASSAGES)
                store.heartbeat()

            def sentences_done(done: int, count: int) -> None:
                progress(done, count, PHASE_SENTENCES)
                store.heartbeat()

            units = embed_units(chunks, embedder, batch, sentences_done)
            result.sentences = sum(len(spans) for spans, _ in units)
            theme_blob = _theme_vectors(themes.ok_themes(), embedder, previous,
                                        lambda done, count: progress(done, count, PHASE_THEMES))
            progress(0, total + 1, PHASE_SAVING)
            for n, i in enumerate(range(0, total, batch)):
                build.add(chunks[i : i + batch], vectors[n], units[i : i + batch])
                progress(min(i + batch, total), total + 1, PHASE_SAVING)
                store.heartbeat()
            files = {s: dict(old_files[s]) for s in old_files if s not in changed and s not in removed}
            for doc in to_embed:
                files[doc.source] = {
                    "sha256": doc.content_hash,
                    "doc_id": doc.id,
                    "title": doc.title,
                    "kind": doc.kind,
                    "chunks": sum(1 for c in chunks if c.doc_id == doc.id),
                }
            manifest = Manifest(
                build_id=build.build_id,
                built_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
                fingerprint=fingerprint(settings),
                embedder=embedder.spec.to_dict(),
                chunking=settings.chunking.model_dump(),
                files=files,
            )
            if build.count() != manifest.chunk_count:
                raise StoreError(
                    f"Index build {build.build_id} holds {build.count()} chunks but its manifest lists "
                    f"{manifest.chunk_count}; run `assistant index --rebuild`."
                )
            store.save_documents(build, build_documents(previous, by_source, files))
            persist_search_index(store, build, theme_blob, embedder=embedder, previous=previous)
            store.heartbeat()
            store.save_manifest(build, manifest)
            store.activate(build)
            progress(total + 1, total + 1, PHASE_SAVING)
        except BaseException as e:
            store.discard(build.build_id)
            if isinstance(e, Exception) and not isinstance(e, StoreError) and is_disk_full(e):
                raise disk_full_error(e, f"the index ({store.location})") from e
            raise
        store.prune()
        result.build_id = build.build_id
        result.chunks = manifest.chunk_count
        result.embedded = len(chunks)
        result.seconds = time.perf_counter() - started
        return result


@contextlib.contextmanager
def _releasing(store: Store | None):
    """Builds registered with the yielded function are closed at the end (their Chroma clients released),
    and `store` too when given (a store build_index opened itself)."""
    builds: list[Build] = []

    def opened(build: Build) -> Build:
        builds.append(build)
        return build

    try:
        yield opened
    finally:
        for build in builds:
            build.close()
        if store is not None:
            store.close()


def build_documents(previous: Build | None, by_source: dict[str, Document], files: dict[str, dict]) -> list[Document]:
    """The cleaned document of every file a build indexes (`files`: its manifest's files): the previous
    build's stored copy when it is of the same content (a file that broke since keeps the version that was
    indexed), else the one loaded now; a file of an older build that stored none and is unreadable now
    is left out (with a warning)."""
    stored: dict[str, Document] = {}
    if previous is not None:
        try:
            stored = {d.source: d for d in (previous.documents() or {}).values()}
        except StoreError as e:
            logger.warning("%s; using the documents as loaded now", e)
    docs = []
    for source, entry in sorted(files.items()):
        doc = next((d for d in (stored.get(source), by_source.get(source))
                    if d is not None and d.content_hash == entry["sha256"]), None)
        if doc is None:
            logger.warning("%s: no copy of its indexed version to store with the build (the document viewer "
                           "cannot show it until the file is fixed and indexed again)", source)
        else:
            docs.append(doc)
    return docs


def persist_search_index(store: Store, build: Build, theme_vectors: bytes | None = None,
                         embedder: Embedder | None = None, previous: Build | None = None) -> None:
    """Compute the build's search index (BM25, passages, sentence units and windows: what a process would
    otherwise compute at its first question) from the build's passages and store it with the build, with
    the embeddings of the curated themes' texts when given, and with an `embedder` the known questions
    its passages answer (assistant/known_questions.py; vectors of the `previous` build are reused)."""
    def known(records) -> dict[str, bytes]:
        return {KNOWN_BLOB: _known_questions_blob(records, embedder, previous)}

    blobs = HybridSearcher(build, None).export_search_index(known if embedder is not None else None)
    if theme_vectors is not None:
        blobs[THEME_VECTORS_BLOB] = theme_vectors
    store.save_search_index(build, blobs)


def _known_questions_blob(records, embedder: Embedder, previous: Build | None) -> bytes:
    """The known questions for a build's passages; vectors shipped with the package (computed with the
    default embedder) or stored with the previous build are not computed again."""
    seed_shipped_known()
    _seed_from(previous, KNOWN_BLOB)
    return known_blob(embedder, records)


def _seed_from(previous: Build | None, blob: str) -> None:
    """Put the vectors a previous build stored in `blob` (theme texts, known questions) into the process
    cache, so that a new build does not embed them again."""
    if previous is None:
        return
    try:
        files = previous.search_index() or {}
        try:
            if blob in files:
                seed_vectors(files[blob])
        finally:
            for fh in files.values():
                fh.close()
    except Exception as e:  # noqa: BLE001 - the previous build's vectors only save time
        logger.warning("vectors in %s of build %s not reused (%s); embedding them again", blob, previous.build_id, e)


def _theme_vectors(themes: Sequence[Theme], embedder: Embedder, previous: Build | None,
                   progress: Callable[[int, int], None] | None = None) -> bytes | None:
    """The embeddings of the usable themes' texts for a new build; texts the previous build stored are
    taken from it, not embedded again. `progress(done, total)` counts the texts (0 of 0 without themes)."""
    if progress is not None:
        progress(0, len(theme_texts(themes)))
    if not themes:
        return None
    _seed_from(previous, THEME_VECTORS_BLOB)
    return theme_vectors_blob(embedder, themes, progress)


def with_subjects(retrieval: Retrieval, searcher: HybridSearcher, organisations: dict[str, Sequence[str]]) -> Retrieval:
    """The retrieval with each document passage's SUBJECT_BEFORE in its meta: the practice-case company
    its section named last before the passage begins (what an excerpt naming no company is about).
    Fixed for a build: kept in the searcher's `derived` caches, so a passage's section is read once."""
    hits = []
    for hit in retrieval.hits:
        subject = _subject_before(hit, searcher, organisations)
        hits.append(replace(hit, meta={**hit.meta, SUBJECT_BEFORE: subject}) if subject else hit)
    return replace(retrieval, hits=hits)


def _subject_before(hit: Hit, searcher: HybridSearcher, organisations: dict[str, Sequence[str]]) -> str | None:
    """`subject_before` of a passage, computed once per build (the searcher's `derived` caches)."""
    subjects = searcher.derived.setdefault("subjects", {})
    if hit.chunk_id not in subjects:
        subjects[hit.chunk_id] = None
        if hit.kind != "case" and organisations:
            subjects[hit.chunk_id] = subject_before(hit, searcher.section_passages(hit.doc_id, hit.section),
                                                    organisations, _mentions(searcher))
    return subjects[hit.chunk_id]


def _mentions(searcher: HybridSearcher) -> dict[str, list[tuple[int, str]]]:
    """chunk id -> its `organisation_mentions`, kept for the searcher's build."""
    return searcher.derived.setdefault("mentions", {})


STORY_PASSAGES = 3  # passages of a named company's story in a report an answer reads beyond the retrieved ones


def with_company_story(retrieval: Retrieval, searcher: HybridSearcher, organisations: dict[str, Sequence[str]],
                       filters: Filters | None = None, extra: int = STORY_PASSAGES) -> Retrieval:
    """For a question that names a practice-case company: the other passages of its story in a report
    section a retrieved passage tells it in, read as well (at most `extra`, each right after the last
    retrieved passage of its section). Retrieval keeps at most two passages of one section, and the
    third passage of a company's story ("heeft zo'n zeven jaar gekost") is often the one asked about.
    A passage belongs to the story when it names the company, or names none and its section named the
    company last before it."""
    asked = asked_organisations(retrieval.search_query, organisations)
    if not asked or extra <= 0:
        return retrieval
    have = {h.chunk_id for h in retrieval.hits}
    hits, units, added = list(retrieval.hits), dict(retrieval.units), 0
    for hit in list(retrieval.hits):
        if hit.kind == "case" or added >= extra:
            continue
        if not _about_asked(hit, asked, searcher, organisations):
            continue
        for passage in searcher.section_passages(hit.doc_id, hit.section):
            if added >= extra:
                break
            if passage.chunk_id in have or (filters is not None and not matches(passage.meta, filters)):
                continue
            if not _about_asked(passage, asked, searcher, organisations):
                continue
            last = max(i for i, h in enumerate(hits) if h.doc_id == hit.doc_id and h.section == hit.section)
            hits.insert(last + 1, passage)
            have.add(passage.chunk_id)
            stored = searcher.passage_units(passage.chunk_id)
            if stored is not None:
                units[passage.chunk_id] = stored
            added += 1
    return replace(retrieval, hits=hits, units=units) if added else retrieval


def unstated_company_detail(question: str, retrieval: Retrieval, searcher: HybridSearcher,
                            organisations: dict[str, Sequence[str]]) -> tuple[tuple[str, ...], str] | None:
    """(company, kind) when the question asks a detail of a named practice-case company (who runs it,
    what one earns there, a head count: `unstated_detail`) that neither its case nor any retrieved passage
    about it states; else None. A follow-up's company comes from what the question carried over."""
    asked = asked_organisations(retrieval.search_query, organisations)
    if not asked or not asked_details(question, named=True):
        return None
    material = {h.chunk_id: h for h in searcher.case_passages(asked)}
    for hit in retrieval.hits:
        if hit.kind != "case" and hit.chunk_id not in material and _about_asked(hit, asked, searcher, organisations):
            material[hit.chunk_id] = hit
    names = [alias for name in asked for alias in organisations.get(name, (name,))]
    kind = unstated_detail(question, list(material.values()), names)
    return (tuple(sorted(asked)), kind) if kind else None


def _about_asked(hit: Hit, asked: set[str], searcher: HybridSearcher, organisations: dict[str, Sequence[str]]) -> bool:
    """Whether a document passage names an asked company, or names none and its section's story is about one."""
    mentions = _mentions(searcher)
    if hit.chunk_id not in mentions:
        mentions[hit.chunk_id] = organisation_mentions(hit.text, organisations)
    named = {plain(name) for _, name in mentions[hit.chunk_id]}
    if named:
        return bool(named & asked)
    return plain(_subject_before(hit, searcher, organisations) or "") in asked


def _add_missing_build_data(store: Store, build: Build, by_source: dict[str, Document],
                            embedder: Embedder | None = None) -> None:
    """Give a build made before documents and search indexes were stored both (no re-embedding of
    passages), and with an `embedder` the known questions when they are missing or made from another
    data file (a new version of the package)."""
    if not store.has_documents(build):
        store.save_documents(build, build_documents(None, by_source, build.manifest.files))
    if not store.has_search_index(build):
        persist_search_index(store, build, embedder=embedder)
        return
    problem, theme_vectors, known_source = _persisted_search_problem(build)
    if problem is None and embedder is not None and known_source != source_hash(load_known()):
        logger.info("Storing the known questions with index build %s (missing or out of date).", build.build_id)
        persist_search_index(store, build, theme_vectors, embedder=embedder, previous=build)
        return
    if problem is not None:  # written by another version, or damaged: the passages are all it needs
        logger.warning("Writing the search index of index build %s again (%s).", build.build_id, problem)
        persist_search_index(store, build, theme_vectors, embedder=embedder, previous=build)


def _persisted_search_problem(build: Build) -> tuple[str | None, bytes | None, str | None]:
    """Why the build's persisted search index cannot be used as it is (None when it can), the theme
    vectors stored with it (kept when it is written again) and what its known questions were made from."""
    try:
        files = build.search_index() or {}
    except StoreError as e:
        return str(e), None, None
    try:
        theme_vectors = files[THEME_VECTORS_BLOB].read() if THEME_VECTORS_BLOB in files else None
        known_source = stored_source_hash(files[KNOWN_BLOB]) if KNOWN_BLOB in files else None
        try:
            load_search_state(files, build)
        except Exception as e:  # noqa: BLE001 - any damage is repaired by writing it again
            return f"{type(e).__name__}: {e}", theme_vectors, known_source
        return None, theme_vectors, known_source
    finally:
        for fh in files.values():
            fh.close()


@dataclass
class IndexStatus:
    location: str
    exists: bool
    build_id: str | None = None
    built_at: str | None = None
    embedder: dict | None = None
    chunking: dict | None = None
    documents: list[dict] = field(default_factory=list)
    chunks: int = 0
    stale: bool = True
    stale_reasons: list[str] = field(default_factory=list)  # English: the texts of stale_messages
    warnings: list[str] = field(default_factory=list)  # English: the texts of warning_messages
    compatible: bool = False  # built with this version's embedder, chunking and pipeline (else unusable)
    stale_messages: list[Message] = field(default_factory=list)  # `.text("nl")` for the Beheer tab
    warning_messages: list[Message] = field(default_factory=list)
    document_count: int = 0  # indexed files that are not practice cases
    case_count: int = 0  # indexed practice cases (kind "case")
    refused: bool = False  # indexing is refused until an id conflict is fixed

    def __post_init__(self) -> None:
        if self.stale_messages and not self.stale_reasons:
            self.stale_reasons = [str(m) for m in self.stale_messages]
        if self.warning_messages and not self.warnings:
            self.warnings = [str(m) for m in self.warning_messages]

    def counts(self, language: str = "en") -> str:
        """"5 documents, 32 practice cases" / "5 documenten, 32 praktijkvoorbeelden"."""
        return count_summary(self.document_count, self.case_count, language)

    def stale_texts(self, language: str = "en") -> list[str]:
        return [m.text(language) for m in self.stale_messages]

    def warning_texts(self, language: str = "en") -> list[str]:
        return [m.text(language) for m in self.warning_messages]

    def to_dict(self) -> dict:
        """JSON-ready: the messages as their English texts (stale_reasons, warnings)."""
        return {k: v for k, v in self.__dict__.items() if k not in ("stale_messages", "warning_messages")}


def index_status(settings: Settings, store: Store | None = None) -> IndexStatus:
    """What is in the live index, and whether it still matches the corpus and the settings. Loads no model."""
    store = store or open_store(settings.index_dir, settings.chroma_url)
    build_id = store.current_build_id()
    if build_id is None:
        return IndexStatus(location=store.location, exists=False, stale_messages=[msg("status.no_index")])
    manifest = store.read_manifest(build_id)
    reasons: list[Message] = []
    if manifest.fingerprint != fingerprint(settings):
        reasons.append(msg("status.other_fingerprint"))
    # Files that fail to load are warnings, not staleness: indexing would skip them too.
    report = load_indexable_corpus(settings) if settings.corpus_dir.is_dir() else None
    conflicts = report.conflicts_as_messages() if report else []
    reasons += [msg("status.refused", problem=c) for c in conflicts]
    current = {d.source: d.content_hash for d in report.documents} if report else {}
    present = corpus_sources(settings.corpus_dir) if report else set()
    new = sorted(set(current) - set(manifest.files))
    gone = sorted(set(manifest.files) - present)
    edited = sorted(s for s in set(current) & set(manifest.files) if current[s] != manifest.files[s]["sha256"])
    for key, items in (("status.new_files", new), ("status.deleted_files", gone), ("status.changed_files", edited)):
        if items:
            reasons.append(msg(key, files=items))
    warnings = (report.warning_messages + conflicts
                + theme_warning_messages(check_themes(settings.corpus_dir, report.documents, settings.chunking))
                if report else [msg("status.no_corpus", folder=str(settings.corpus_dir))])
    document_count, case_count = split_counts(f.get("kind") for f in manifest.files.values())
    return IndexStatus(
        location=store.location,
        exists=True,
        build_id=build_id,
        built_at=manifest.built_at,
        embedder=manifest.embedder,
        chunking=manifest.chunking,
        documents=[{"source": s, **{k: v for k, v in f.items() if k != "sha256"}} for s, f in sorted(manifest.files.items())],
        chunks=manifest.chunk_count,
        stale=bool(reasons),
        stale_messages=reasons,
        compatible=manifest.fingerprint == fingerprint(settings),
        warning_messages=warnings,
        document_count=document_count,
        case_count=case_count,
        refused=bool(conflicts),
    )


class Index:
    """A searchable handle on the live build. Follows activation: after a rebuild it reopens the new build.

    Old builds are released: when a new build goes live (noticed at the next question), the old build's
    searcher is retired and closed -- its Chroma client, with its open files and threads, released --
    as soon as no request uses it any more. A request holds the searcher it started with through
    `session()` (Assistant.ask, retrieve and documents do), so a question in flight on the old build
    finishes on it, and the searcher is closed when that question ends. A caller that took `searcher()`
    or `build()` without a session and uses it after it was closed opens the build again, for as long
    as it keeps it (Build). `retire_grace_s` keeps retired searchers open that much longer (default 0).
    """

    RETIRE_GRACE_S = 0.0

    def __init__(self, settings: Settings, embedder: Embedder | None = None, store: Store | None = None,
                 *, retire_grace_s: float | None = None) -> None:
        self.settings = settings
        self.embedder = embedder or make_embedder(settings.embedder)
        self.store = store or open_store(settings.index_dir, settings.chroma_url)
        self.retire_grace_s = self.RETIRE_GRACE_S if retire_grace_s is None else retire_grace_s
        self._searcher: HybridSearcher | None = None
        self._lock = threading.Lock()
        self._users: dict[HybridSearcher, int] = {}  # searcher -> requests using it (sessions)
        self._retired: list[tuple[HybridSearcher, float]] = []  # (old searcher, monotonic time it was retired)
        self._documents: tuple[str, dict[str, Document]] | None = None  # (build id, its documents)

    def build(self) -> Build:
        return self.searcher().build

    def searcher(self) -> HybridSearcher:
        """The hybrid searcher of the live build; a new one (with its own BM25 index) after an activation.
        Not held: use `session()` for work that must finish on one build."""
        return self._take(hold=False)

    @contextlib.contextmanager
    def session(self) -> Iterator[HybridSearcher]:
        """The live build's searcher, kept open until the block ends even when a newer build goes live."""
        searcher = self._take(hold=True)
        try:
            yield searcher
        finally:
            with self._lock:
                left = self._users.pop(searcher, 0) - 1
                if left > 0:
                    self._users[searcher] = left
                idle = self._idle_retired()
            for old in idle:
                old.close()

    def _take(self, hold: bool) -> HybridSearcher:
        current = self.store.current_build_id()
        with self._lock:
            searcher = self._searcher
            if searcher is None or searcher.build.build_id != (current or searcher.build.build_id):
                build = self.store.open_current()
                try:
                    check_compatible(build.manifest, self.settings)
                except BaseException:
                    build.close()
                    raise
                if searcher is not None:
                    self._retired.append((searcher, time.monotonic()))
                searcher = self._searcher = HybridSearcher(build, self.embedder)
                searcher.passage_ranker = passage_ranker_for(searcher.embedder_model(), self.settings.passage_ranker)
            if hold:
                self._users[searcher] = self._users.get(searcher, 0) + 1
            idle = self._idle_retired()
        for old in idle:
            old.close()
        return searcher

    def _idle_retired(self) -> list[HybridSearcher]:
        """Retired searchers no request uses and whose grace is over, taken off the list (lock held)."""
        now = time.monotonic()
        idle = [s for s, since in self._retired if not self._users.get(s) and now - since >= self.retire_grace_s]
        if idle:
            self._retired = [(s, since) for s, since in self._retired if s not in idle]
        return idle

    def close(self) -> None:
        """Release every build this index opened (a later question opens the live build again)."""
        with self._lock:
            searchers = [s for s, _ in self._retired] + ([self._searcher] if self._searcher else [])
            self._retired, self._searcher, self._users, self._documents = [], None, {}, None
        for searcher in searchers:
            searcher.close()

    def documents(self) -> dict[str, Document]:
        """The cleaned documents of the live build by document id: the texts its passages' start/end
        offsets point into, stored with the build (so every app process, on any machine, shows the same
        documents). Cached per build. For a build made before documents were stored: the local corpus
        files whose content is still what the build indexed (a warning is logged)."""
        with self.session() as searcher:
            build = searcher.build
            with self._lock:
                cached = self._documents
            if cached is not None and cached[0] == build.build_id:
                return cached[1]
            try:
                docs = build.documents()
            except StoreError as e:
                logger.warning("%s; showing the local corpus files that match the build instead", e)
                docs = None
            if docs is None:
                docs = self._documents_from_corpus(build)
            with self._lock:
                self._documents = (build.build_id, docs)
            return docs

    def document(self, doc_id: str) -> Document | None:
        """One document of the live build (see `documents()`), or None."""
        return self.documents().get(doc_id)

    def passage(self, chunk_id: str) -> Citation | None:
        """One passage of the live build by chunk id, as a citation (offsets into its document), or None."""
        with self.session() as searcher:
            got = searcher.build.collection.get(ids=[chunk_id], include=["documents", "metadatas"])
        if not got["ids"]:
            return None
        meta, text = got["metadatas"][0], got["documents"][0]
        return Citation(n=0, chunk_id=chunk_id, doc_id=meta["doc_id"], title=meta["title"], section=meta["section"],
                        kind=meta["kind"], text=text, start=int(meta["start"]), end=int(meta["end"]))

    def _documents_from_corpus(self, build: Build) -> dict[str, Document]:
        logger.warning("Index build %s stores no documents (built by an older version); reading them from %s "
                       "(`assistant index` adds them to the build)", build.build_id, self.settings.corpus_dir)
        if not self.settings.corpus_dir.is_dir():
            return {}
        files = build.manifest.files if build.manifest else {}
        return {d.id: d for d in load_corpus(self.settings.corpus_dir).documents
                if d.source in files and files[d.source]["sha256"] == d.content_hash}

    def retrieve(
        self, question: str, k: int | None = None, filters: Filters | None = None,
        history: Sequence[str] = (), mode: Mode = "hybrid", same_query_as: Retrieval | None = None,
    ) -> Retrieval:
        """The k best passages for a question (made self-contained from `history`), with timings."""
        with self.session() as searcher:
            return searcher.retrieve(question, k or self.settings.top_k, filters, history, mode, same_query_as)

    def search(self, query: str, k: int | None = None, filters: Filters | None = None, mode: Mode = "hybrid") -> list[Hit]:
        """Hybrid search (dense + BM25, fused): the k best passages that pass the filters."""
        return self.retrieve(query, k, filters, mode=mode).hits


def search(
    settings: Settings, query: str, k: int | None = None, filters: Filters | None = None, mode: Mode = "hybrid"
) -> list[Hit]:
    return Index(settings).search(query, k, filters, mode)


@dataclass
class CaseSource:
    """Where a practice case is told: the section of a source document (offsets into its text)."""

    doc_id: str
    title: str
    section: str
    start: int
    end: int
    text: str


def case_source(case: Document, documents: dict[str, Document]) -> CaseSource | None:
    """Resolve a case's source pointer (source_doc + source_section) to the passage it points at."""
    doc = documents.get(str(case.meta.get("source_doc")))
    if doc is None:
        return None
    section = find_section(doc.text, str(case.meta.get("source_section")))
    if section is None:
        return None
    return CaseSource(doc.id, doc.title, section.path, section.start, section.end, doc.text[section.start : section.end])


def list_cases(settings: Settings, filters: Filters | None = None, documents: dict[str, Document] | None = None) -> list[dict]:
    """Practice cases from the corpus with their metadata and resolved source; no index needed.

    `documents` (id -> Document) saves reading the corpus again when the caller already holds it.
    """
    if documents is None:
        documents = {d.id: d for d in load_corpus(settings.corpus_dir).documents} if settings.corpus_dir.is_dir() else {}
    rows = []
    for doc in sorted((d for d in documents.values() if d.kind == "case"), key=lambda d: d.id):
        meta = doc.meta
        if not matches({**meta, "kind": doc.kind, "doc_id": doc.id}, filters):
            continue
        source = case_source(doc, documents)
        rows.append({
            "id": doc.id,
            "title": doc.title,
            **{k: meta.get(k) for k in CASE_FIELDS},
            "source": None if source is None else {
                "doc_id": source.doc_id, "title": source.title, "section": source.section,
                "start": source.start, "end": source.end,
            },
            "text": doc.text.strip(),
        })
    return rows


def evaluate(
    settings: Settings, gold_path: Path, k: int = 5, mode: Mode = "hybrid",
    index: Index | None = None, progress: Callable[[int, int], None] | None = None,
    answers: bool = True, assistant: "Assistant | None" = None,
) -> tuple[dict, list[QuestionResult]]:
    """Score retrieval (and, with answers=True, the answers) on a gold file. Latency is measured warm."""
    with excluding(Path(gold_path).stem):  # a set is scored without its own known questions
        return _evaluate(settings, gold_path, k, mode, index, progress, answers, assistant)


def _evaluate(settings: Settings, gold_path: Path, k: int, mode: Mode, index: "Index | None",
              progress: Callable[[int, int], None] | None, answers: bool, assistant: "Assistant | None"):
    gold = load_gold(gold_path)
    index = index or (assistant.index if assistant else Index(settings))
    index.retrieve("sociale innovatie", k, mode=mode)  # warm-up: model load and BM25 build are not latency

    def run(item: GoldQuestion, depth: int):
        retrieval = index.retrieve(item.question, depth, history=item.history, mode=mode)
        return retrieval.hits, retrieval.search_query

    report, results = evaluate_retrieval(run, gold, k, progress)
    report = {"mode": mode, "build_id": index.build().build_id, **report}
    if answers:
        assistant = assistant or Assistant(settings, index=index)
        report["answers"] = score_answers(lambda item: assistant.ask(item.question, item.history), gold, results)
    report["by_type"] = metrics_by_type(results, k)
    return report, results


class Assistant:
    """Question in, cited answer out: retrieval, the evidence check, then an extractive or generated answer.

    One instance serves many questions (the UI keeps one); it follows index rebuilds like Index does.
    """

    def __init__(self, settings: Settings, index: Index | None = None, chat_model=None) -> None:
        self.settings = settings
        self.index = index or Index(settings)
        self._chat_model = chat_model
        self._llm_down_reported = False
        self._lock = threading.Lock()
        self._themes: tuple[tuple, ThemeLibrary] | None = None

    def themes(self, searcher: HybridSearcher | None = None) -> ThemeLibrary:
        """The curated themes checked against the live build (cached per build and theme files)."""
        if searcher is None:
            with self.index.session() as searcher:
                return self.themes(searcher)
        stats = []
        for path in theme_files(self.settings.corpus_dir):
            with contextlib.suppress(FileNotFoundError):  # removed since it was listed
                info = path.stat()
                stats.append((path.name, info.st_mtime_ns, info.st_size))
        key = (searcher.build.build_id, tuple(stats))
        with self._lock:
            if self._themes is not None and self._themes[0] == key:
                return self._themes[1]
        library = ThemeLibrary.load(self.settings.corpus_dir, self.index.documents(), searcher, searcher.embedder,
                                    self.settings.chunking)
        for problem in library.problems:
            logger.warning("theme %s (left out until fixed)", problem)
        with self._lock:
            self._themes = (key, library)
        return library

    def chat_model(self):
        """The configured LangChain chat model, or None for extractive answers."""
        if self._chat_model is None and self.settings.llm:
            self._chat_model = make_chat_model(self.settings.llm, self.settings.llm_base_url, self.settings.llm_timeout)
        return self._chat_model

    def _condense(self, question: str, history: Sequence[str], model) -> tuple[str, Sequence[str]]:
        """The query to search and the history retrieval still needs: a chat model's self-contained
        rewrite (no history), or the question with its history for the rule-based follow-up handling."""
        if not history or not needs_context(question):
            return question, ()
        if model is not None:
            prompt = load_prompt("condense.md").format(
                history="\n".join(f"- {h}" for h in history[-3:]), question=question)
            try:
                rewritten = str(model.invoke(prompt).content).strip().splitlines()[0].strip()
                if rewritten and detect_language(rewritten) == detect_language(question):
                    return rewritten, ()
            except Exception as e:  # an unreachable model must not stop the answer
                logger.warning("condensing with the chat model failed: %s", e)
        return question, history

    def ask(
        self, question: str, history: Sequence[str] = (), filters: Filters | None = None,
        on_token: Callable[[str], None] | None = None, theme: str | None = None, ours: bool = False,
    ) -> Answer:
        """`theme`: the id of a curated theme the answer leads with whatever the question matches (the
        intake's plan); an unknown or broken theme is ignored. `ours`: the question is one we wrote (the
        intake's), not a visitor's, so the scope model does not judge it (the refusal rules still do)."""
        started = time.perf_counter()
        cleaned, notices = clean_question(question)
        language = detect_language(cleaned) if cleaned else "nl"
        if not cleaned:
            return Answer(text=TEXTS["nl"]["empty"], citations=[], cases=[], refused=False, mode="extractive")
        history = [clean_question(h)[0] for h in history if h and h.strip()]
        model = self.chat_model()
        t0 = time.perf_counter()
        query, context = self._condense(cleaned, history, model)
        # One live build for the whole question, even during a rebuild; held until it is answered.
        with self.index.session() as searcher:
            return self._answer(searcher, cleaned, notices, language, model, query, context, filters, on_token,
                                started, t0, theme, ours)

    def _answer(self, searcher: HybridSearcher, cleaned: str, notices: list[str], language: str, model,
                query: str, context: Sequence[str], filters: Filters | None,
                on_token: Callable[[str], None] | None, started: float, t0: float, theme: str | None = None,
                ours: bool = False) -> Answer:
        retrieval = searcher.retrieve(query, self.settings.answer_passages, filters, context)
        lexical = searcher.lexical()
        bare = definition_query(query, lexical)  # "… maar wat is dat nou precies?" -> "Wat is sociale innovatie?"
        if bare:
            retrieval = with_second_query(retrieval, searcher.retrieve(bare, self.settings.answer_passages, filters),
                                          self.settings.answer_passages)
        terms = query_terms(retrieval.search_query, lexical)
        timings = {"retrieve_ms": (time.perf_counter() - t0) * 1000}

        t0 = time.perf_counter()
        score = evidence_score(retrieval, terms, lexical)
        retrieval = focus_on_carried_names(cleaned, retrieval)
        own_terms = answer_terms(cleaned, terms, lexical)
        reason = refusal_reason(cleaned, retrieval, terms, own_terms, lexical, score, language)
        organisations = searcher.organisations()
        story = with_company_story(retrieval, searcher, organisations, filters) if reason is None else retrieval
        # An amount a named company's sources do not state is said as such ("… noemen geen omzet").
        detail = None if reason not in (None, "amount") else unstated_company_detail(cleaned, story, searcher, organisations)
        if detail is not None:
            reason = "detail"
        if reason is None and retrieval.query_vector is not None:
            features = scope_features(retrieval.query_vector, retrieval.best_dense, score, bool(context))
            scope = scope_model_for(retrieval.embedder, self.settings.scope_model)
            if not ours and scope is not None and scope.out_of_scope(features):
                reason = "out_of_scope"  # close to the domain, but not what these sources are about
        if reason is not None:
            answer = refusal(language, notices, reason, self._suggestions(searcher, retrieval, language), detail)
        else:
            case_hits, case_units = self._cases(searcher, query, context, filters, retrieval)
            answer = None
            if model is not None:
                answer = self._generate(model, retrieval, cleaned, language, lexical, on_token, notices)
            if answer is None:
                retrieval = with_subjects(story, searcher, organisations)
                answer = compose_extractive(cleaned, retrieval, case_hits, lexical, own_terms, language,
                                            question_type(cleaned), case_units, organisations,
                                            self._theme_use(searcher, cleaned, retrieval, organisations, theme),
                                            ranker_for(retrieval.embedder, self.settings.unit_ranker))
            answer.notices = notices + [n for n in answer.notices if n not in notices]
        timings["answer_ms"] = (time.perf_counter() - t0) * 1000
        timings["total_ms"] = (time.perf_counter() - started) * 1000
        answer.search_query = retrieval.search_query
        answer.timings = {**timings, **{f"retrieval_{k}": v for k, v in retrieval.timings.items()}}
        answer.build_id = retrieval.build_id
        answer.evidence = round(score, 4)
        return answer

    def _suggestions(self, searcher: HybridSearcher, retrieval: Retrieval, language: str) -> list[str]:
        """With a refusal: the curated themes' questions nearest to what was asked (Dutch questions only:
        the themes are Dutch); none when the themes cannot be read (the refusal's fixed list then)."""
        if language != "nl":
            return []
        try:
            return self.themes(searcher).nearest_questions(retrieval.query_vector, k=3)
        except AssistantError as e:
            logger.warning("no theme suggestions for a refusal: %s", e)
            return []

    def _theme_use(self, searcher: HybridSearcher, question: str, retrieval: Retrieval, organisations,
                   forced: str | None = None) -> ThemeUse | None:
        """The curated theme this question matches (or the `forced` one), and how the answer uses it."""
        try:
            library = self.themes(searcher)
        except Exception:  # noqa: BLE001 - a broken theme file must never stop an answer
            logger.exception("themes not usable")
            return None
        read = [h.chunk_id for h in retrieval.hits]
        if forced and library.get(forced) is not None:
            theme, role = library.get(forced), "lead"
        else:
            theme, similarity = library.match(retrieval.query_vector, read)
            role = theme_role(question, similarity, organisations, bool(retrieval.carried)) if theme is not None else ""
        if not role:
            return None
        ranked = library.best_points(theme, retrieval.query_vector, THEME_POINTS, read)
        kept, room = [], THEME_QUOTE_BUDGET  # the best point always; the next ones while they fit
        for p, _ in ranked:
            if not kept or len(p.point.quote) <= room:
                kept.append(p)
                room -= len(p.point.quote)
        return ThemeUse(theme=theme, role=role, points=tuple(kept), similarity=ranked[0][1] if ranked else 0.0)

    def _cases(self, searcher: HybridSearcher, query: str, history: Sequence[str], filters: Filters | None,
               retrieval: Retrieval) -> tuple[list[Hit], dict]:
        """Practice cases close to the question: nearly as similar as the best passage, with a shared word.

        A "waar begin ik" question without filters gets the small companies' cases (an mkb reader's
        peers): few questions of that kind share words with a case, and those cases show a start.
        """
        case_filters = Filters(**{**(filters.__dict__ if filters else {}), "kind": "case"})
        if is_start_question(retrieval.search_query) and (filters is None or filters == Filters()):
            small = searcher.retrieve(query, MAX_CASES, Filters(kind="case", size_class="klein"),
                                      history=history, same_query_as=retrieval)
            if small.hits:
                return small.hits, small.units
        found = searcher.retrieve(query, MAX_CASES, case_filters, history=history, same_query_as=retrieval)
        return [h for h in found.hits if (h.meta.get("dense_score") or 0) >= retrieval.best_dense - CASE_MARGIN
                and (h.meta.get("lexical_score") or 0) >= 1.0], found.units

    def _generate(self, model, retrieval: Retrieval, question: str, language: str, lexical, on_token, notices):
        """A generated answer, or None (with a notice) when the model is down or cites nothing."""
        try:
            answer, checked = generate(model, question, retrieval.hits, language, lexical, on_token)
        except Exception as e:  # connection refused, timeout, bad key: say so once, answer extractively
            logger.warning("chat model %s failed: %s", self.settings.llm, e)
            with self._lock:
                first = not self._llm_down_reported
                self._llm_down_reported = True
            if first:
                notices.append(TEXTS[language]["llm_unavailable"].format(model=self.settings.llm))
            return None
        if answer is None:
            notices.append(TEXTS[language]["llm_no_citations"])
        return answer


def ask(settings: Settings, question: str, history: Sequence[str] = (), filters: Filters | None = None) -> Answer:
    return Assistant(settings).ask(question, history, filters)
