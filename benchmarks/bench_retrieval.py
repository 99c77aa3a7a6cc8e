"""Retrieval quality and speed (dense vs BM25 vs hybrid), answer latency, and the cost of the BM25 index.

Not part of the test run. Needs a built index of the real corpus (`assistant index`). Usage:
    python benchmarks/bench_retrieval.py [--runs 3] [--gold eval/gold.jsonl] [--scale 10000]
Prints Markdown tables: quality and latency per mode (latency = median over runs of the p50/p95
over all gold questions, warm, in process), and BM25 build-at-load versus save/load from disk,
on the real passages and on a synthetic corpus of --scale passages made from them.
"""

from __future__ import annotations

import argparse
import platform
import random
import statistics
import time
from pathlib import Path

from assistant.config import load_settings
from assistant.pipeline import Assistant, Index, evaluate
from assistant.retrieve import MODES, HybridSearcher, LexicalIndex, lexical_text

REPO = Path(__file__).resolve().parent.parent


def _median_time(fn, runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def quality_and_latency(index: Index, gold: Path, runs: int) -> list[str]:
    settings = index.settings
    rows = ["| mode | hit@1 | hit@5 | MRR@10 | p50 latency | p95 latency |", "|---|---|---|---|---|---|"]
    for mode in MODES:
        reports = [evaluate(settings, gold, k=5, mode=mode, index=index, answers=False)[0] for _ in range(runs)]
        m = reports[0]
        p50 = statistics.median(r["latency_p50_ms"] for r in reports)
        p95 = statistics.median(r["latency_p95_ms"] for r in reports)
        rows.append(f"| {mode} | {m['hit@1']:.3f} | {m['hit@5']:.3f} | {m['mrr@10']:.3f} | {p50:.1f} ms | {p95:.1f} ms |")
    return rows


ABLATIONS = [
    # label, mode, HybridSearcher switches
    ("dense, question only", "dense", dict(expand=False, decompound=False, follow_ups=False, known=False)),
    ("BM25, question only", "lexical", dict(expand=False, decompound=False, follow_ups=False, known=False)),
    ("hybrid, question only", "hybrid", dict(expand=False, decompound=False, follow_ups=False, known=False)),
    ("hybrid + follow-up condensing", "hybrid", dict(expand=False, decompound=False, known=False)),
    ("hybrid + condensing + decompounding", "hybrid", dict(expand=False, known=False)),
    ("hybrid + condensing + decompounding + thesaurus", "hybrid", dict(windows=False, sentences=False, known=False)),
    ("hybrid + … + sentence windows", "hybrid", dict(sentences=False, known=False)),
    ("hybrid + … + single sentences", "hybrid", dict(known=False)),
    ("hybrid + all (known questions too, the gold set's own left out)", "hybrid", {}),
]
# (no passage ranker in these rows: the app's order, with it, is the first table's "hybrid")


def ablation(index: Index, gold: Path) -> list[str]:
    """What each retrieval step adds, on the same build (quality only; one run each)."""
    rows = ["| retrieval | hit@1 | hit@5 | MRR@10 |", "|---|---|---|---|"]
    build = index.build()
    for label, mode, switches in ABLATIONS:
        index._searcher = HybridSearcher(build, index.embedder, **switches)
        m = evaluate(index.settings, gold, k=5, mode=mode, index=index, answers=False)[0]
        rows.append(f"| {label} | {m['hit@1']:.3f} | {m['hit@5']:.3f} | {m['mrr@10']:.3f} |")
    index._searcher = None
    return rows


def answer_latency(index: Index, gold: Path, runs: int) -> list[str]:
    """`ask` end to end (retrieval, evidence check, extractive composition), warm, in process."""
    assistant = Assistant(index.settings, index=index)
    reports = [evaluate(index.settings, gold, k=5, index=index, assistant=assistant)[0]["answers"] for _ in range(runs)]
    p50 = statistics.median(r["answer_p50_ms"] for r in reports)
    p95 = statistics.median(r["answer_p95_ms"] for r in reports)
    a = reports[0]
    return ["| answers (extractive) | p50 | p95 | refusal accuracy | citation precision | answer_evidence | "
            "shown characters (median) |", "|---|---|---|---|---|---|---|",
            f"| {gold.name} | {p50:.1f} ms | {p95:.1f} ms | {a['refusal_accuracy']} | {a['citation_precision']} | "
            f"{a['answer_evidence']} | {a['shown_chars_median']} |"]


def bm25_costs(index: Index, runs: int, scale: int) -> list[str]:
    """Building the BM25 index at load versus saving and loading it as a build stores it
    (`LexicalIndex.to_arrays` / `from_arrays` in an npz file). bm25s's own `BM25.save` needs the
    `scores` that only `index()` sets, so it fails on an index of no passages; it is not used."""
    import io

    import numpy as np

    build = index.build()
    records = [(cid, lexical_text(text, meta))
               for page in build.all_records(include_embeddings=False)
               for cid, text, meta in zip(page["ids"], page["documents"], page["metadatas"])]
    rng = random.Random(7)
    synthetic = []
    for i in range(scale):  # passages re-assembled from shuffled sentences of real ones
        a, b = rng.choice(records)[1], rng.choice(records)[1]
        parts = (a + " " + b).split(". ")
        rng.shuffle(parts)
        synthetic.append((f"s{i}", ". ".join(parts[: max(3, len(parts) // 2)])))
    rows = ["| passages | read from Chroma | build BM25 at load | save to disk | load from disk |", "|---|---|---|---|---|"]

    def read_all():
        return sum(len(p["ids"]) for p in build.all_records(include_embeddings=False))

    read_s = _median_time(read_all, runs)
    for label, items in ((f"{len(records)} (real)", records), (f"{scale} (synthetic)", synthetic)):
        ids, texts = [i for i, _ in items], [t for _, t in items]
        build_s = _median_time(lambda: LexicalIndex(ids, texts), runs)
        lex = LexicalIndex(ids, texts)
        saved: list[bytes] = []

        def save() -> None:
            buffer = io.BytesIO()
            np.savez(buffer, **lex.to_arrays())
            saved[:] = [buffer.getvalue()]

        def load() -> None:
            with np.load(io.BytesIO(saved[0]), allow_pickle=False) as npz:
                LexicalIndex.from_arrays({name: npz[name] for name in npz.files})

        save_s = _median_time(save, runs)
        load_s = _median_time(load, runs)
        read = f"{read_s * 1000:.0f} ms" if items is records else "n/a"
        rows.append(f"| {label} | {read} | {build_s * 1000:.0f} ms | {save_s * 1000:.0f} ms | {load_s * 1000:.0f} ms |")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--gold", type=Path, default=REPO / "eval" / "gold.jsonl")
    parser.add_argument("--scale", type=int, default=10_000)
    args = parser.parse_args()
    settings = load_settings()
    index = Index(settings)
    print(f"Machine: {platform.machine()}, {platform.processor() or 'cpu'}, Python {platform.python_version()}; "
          f"index build {index.build().build_id} ({index.build().manifest.chunk_count} passages); gold {args.gold}\n")
    print("\n".join(quality_and_latency(index, args.gold, args.runs)))
    print()
    print("\n".join(ablation(index, args.gold)))
    print()
    print("\n".join(answer_latency(index, args.gold, args.runs)))
    print()
    print("\n".join(bm25_costs(index, args.runs, args.scale)))


if __name__ == "__main__":
    main()
