"""What the single-sentence ranking costs at scale: building its matrix from stored units (once per
build, on the first question) and ranking the passages per question.

    python benchmarks/bench_sentences.py [--passages 100000] [--sentences-per-passage 8.1] [--queries 20]

Synthetic float16 unit vectors laid out as a persisted search index stores them (`_StoredUnits`);
prints build seconds, the matrix's memory and per-question milliseconds (median, p95).
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from assistant.retrieve import _best_unit_ranking, _StoredUnits, sentence_vectors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--passages", type=int, default=100_000)
    parser.add_argument("--sentences-per-passage", type=float, default=8.1)
    parser.add_argument("--queries", type=int, default=20)
    parser.add_argument("--dim", type=int, default=384)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    lengths = rng.poisson(args.sentences_per_passage, args.passages).clip(1)
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    total = int(offsets[-1])
    vectors = rng.standard_normal((total, args.dim), dtype=np.float32).astype(np.float16)
    ids = [f"doc:{i:06d}" for i in range(args.passages)]
    units = _StoredUnits(ids, np.ones(args.passages, bool), offsets, np.zeros((total, 2), np.int32), vectors)
    t = time.perf_counter()
    matrix, owners = sentence_vectors(units)
    built = time.perf_counter() - t
    times = []
    for _ in range(args.queries):
        q = rng.standard_normal(args.dim).astype(np.float32)
        t = time.perf_counter()
        _best_unit_ranking((matrix, owners), q / np.linalg.norm(q), 150)
        times.append((time.perf_counter() - t) * 1000)
    times.sort()
    print(f"{args.passages} passages, {total} sentences: matrix built in {built:.2f} s, "
          f"{matrix.nbytes / 2**20:.0f} MiB; per question median {statistics.median(times):.1f} ms, "
          f"p95 {times[int(0.95 * (len(times) - 1))]:.1f} ms")


if __name__ == "__main__":
    main()
