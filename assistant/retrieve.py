"""Retrieval building blocks: Dutch lexical search (BM25) and rank fusion.

Pure functions and a small in-memory BM25 index; wiring them into `Index.search` is the
hybrid-retrieval step (issue 4).
"""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Iterable, Sequence

from assistant.models import Filters

_WORD = re.compile(r"\w+", re.UNICODE)
# Reciprocal rank fusion constant from Cormack, Clarke & Büttcher (2009), "Reciprocal Rank Fusion
# outperforms Condorcet and individual rank learning methods": k=60 damps the weight of top ranks
# so that agreement between rankers counts more than a single first place.
RRF_K = 60


def _stopwords() -> frozenset[str]:
    from bm25s.stopwords import STOPWORDS_DUTCH, STOPWORDS_EN

    return frozenset(STOPWORDS_DUTCH) | frozenset(STOPWORDS_EN)


class Tokenizer:
    """Lower-case words, stop words removed, Snowball-stemmed (Dutch, which also folds plurals)."""

    def __init__(self, language: str = "dutch") -> None:
        import Stemmer

        self._stemmer = Stemmer.Stemmer(language)
        self._stop = _stopwords()

    def __call__(self, text: str) -> list[str]:
        return self._stemmer.stemWords([w for w in _WORD.findall(text.lower()) if w not in self._stop])


class LexicalIndex:
    """BM25 over chunk texts (bm25s), built in memory from (id, text) pairs."""

    def __init__(self, ids: Sequence[str], texts: Sequence[str], tokenizer: Tokenizer | None = None) -> None:
        import bm25s

        if len(ids) != len(texts):
            raise ValueError(f"ids and texts must have the same length ({len(ids)} != {len(texts)}).")
        self.ids = list(ids)
        self.tokenizer = tokenizer or Tokenizer()
        corpus = [self.tokenizer(t) for t in texts]
        self._vocab = {tok for doc in corpus for tok in doc}
        self._bm25 = bm25s.BM25()
        if self.ids:
            self._bm25.index(corpus, show_progress=False)

    def search(self, query: str, k: int, allowed: set[str] | None = None) -> list[tuple[str, float]]:
        """Top-k (id, score) with a positive score; `allowed` restricts the ids (metadata filters)."""
        tokens = [t for t in self.tokenizer(query) if t in self._vocab]
        if not tokens or not self.ids:
            return []
        docs, scores = self._bm25.retrieve([tokens], k=len(self.ids), show_progress=False)
        result = []
        for i, score in zip(docs[0], scores[0]):
            cid = self.ids[int(i)]
            if score <= 0 or (allowed is not None and cid not in allowed):
                continue
            result.append((cid, float(score)))
            if len(result) == k:
                break
        return result


def reciprocal_rank_fusion(rankings: Iterable[Sequence[str]], k: int = RRF_K) -> list[tuple[str, float]]:
    """Fuse ranked id lists: score(id) = sum over lists of 1 / (k + rank), rank from 1. Ties keep first-seen order."""
    if k <= 0:
        raise ValueError(f"k must be greater than 0. Currently it is {k}.")
    scores: dict[str, float] = defaultdict(float)
    order: dict[str, int] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, 1):
            scores[item] += 1.0 / (k + rank)
            order.setdefault(item, len(order))
    return sorted(scores.items(), key=lambda kv: (-kv[1], order[kv[0]]))


def cap_per_group(items: Sequence[str], group_of: dict[str, str], cap: int) -> list[str]:
    """Keep ranking order but at most `cap` items per group (e.g. per document); the rest move to the end."""
    if cap <= 0:
        raise ValueError(f"cap must be greater than 0. Currently it is {cap}.")
    seen: dict[str, int] = defaultdict(int)
    head, tail = [], []
    for item in items:
        group = group_of.get(item, item)
        (head if seen[group] < cap else tail).append(item)
        seen[group] += 1
    return head + tail


def matches(meta: dict, filters: Filters | None) -> bool:
    """Whether chunk metadata passes the filters (the same semantics as the Chroma `where` clause)."""
    if filters is None:
        return True
    if any(meta.get(key) != value for key, value in filters.equalities()):
        return False
    return filters.theme is None or filters.theme in (meta.get("themes") or [])
