"""Retrieval: Dutch lexical search (BM25 with decompounding), dense search, rank fusion, diversity,
follow-up condensing and a LangChain retriever adapter.

The pure parts (tokenizing, fusion, capping, condensing) are functions tested directly;
`HybridSearcher` wires them to one index build.
"""

from __future__ import annotations

import io
import json
import logging
import math
import re
import threading
import time
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, BinaryIO, Callable, Iterable, Iterator, Literal, Sequence

import numpy as np

from assistant.errors import StoreError
from assistant.known_questions import KNOWN_BLOB, KNOWN_WEIGHT, KnownQuestions
from assistant.known_questions import from_cache as known_from_cache
from assistant.models import Filters, Hit, passage_context
from assistant.query import _QUESTION_WORDS, _expansions, _with_carried, carried_terms, expand_query
from assistant.text import plain, stopwords, word_list
from assistant.store import UNIT_KEYS, decode_units
from assistant.themes import THEME_VECTORS_BLOB, seed_vectors

logger = logging.getLogger(__name__)

_WORD = re.compile(r"\w+", re.UNICODE)
# Reciprocal rank fusion constant from Cormack, Clarke & Büttcher (2009), "Reciprocal Rank Fusion
# outperforms Condorcet and individual rank learning methods": k=60 damps the weight of top ranks
# so that agreement between rankers counts more than a single first place.
RRF_K = 60
# Words a follow-up carries over from the previous turn count a third of the user's own words, in the
# BM25 search and when picking answer sentences: "beloning daar" after Otolift is about pay at Otolift,
# not about Otolift in general (eval/README.md has the measurement).
CARRIED_WEIGHT = 1 / 3


# Dutch linking elements between the parts of a compound: "stimulering-s-regeling", "boek-en-kast".
_LINKS = ("s", "en", "e", "")
_MIN_PART = 4


class Decompounder:
    """Split Dutch compounds into parts that occur as words in the corpus ("stimuleringsregeling" ->
    "stimulering", "regeling"), so a question with either the compound or its head word matches both.

    Corpus-based (a split counts only when both parts are corpus words), so it makes no splits the
    corpus cannot back up; the last part is split again for three-part compounds.
    """

    def __init__(self, words: Iterable[str]) -> None:
        self.lexicon = frozenset(w for w in words if len(w) >= _MIN_PART and not w.isdigit())
        self._cache: dict[str, tuple[str, ...]] = {}

    def split(self, word: str) -> tuple[str, ...]:
        """The parts of `word` (empty when it is not a compound of corpus words)."""
        if word in self._cache:
            return self._cache[word]
        parts: tuple[str, ...] = ()
        if len(word) >= 2 * _MIN_PART and word.isalpha():
            for i in range(_MIN_PART, len(word) - _MIN_PART + 1):  # longest tail (the head word in Dutch) first
                tail, first = word[i:], word[:i]
                if tail not in self.lexicon:
                    continue
                modifier = next((first[: len(first) - len(link)] for link in _LINKS
                                 if first.endswith(link) and first[: len(first) - len(link)] in self.lexicon), None)
                if modifier:
                    parts = (modifier, tail, *self.split(tail))
                    break
        self._cache[word] = parts
        return parts


def fold_accents(text: str) -> str:
    """Text without diacritics: "kóst" -> "kost", "financiële" -> "financiele", "één" -> "een" (Dutch
    writes stress and vowel separation with accents that users often leave out)."""
    if text.isascii():
        return text
    return unicodedata.normalize("NFC", "".join(ch for ch in unicodedata.normalize("NFD", text)
                                                 if not unicodedata.combining(ch)))


class Tokenizer:
    """Lower-case words, stop words removed, compounds split, Snowball-stemmed (Dutch, which also folds plurals)."""

    def __init__(self, language: str = "dutch", decompounder: Decompounder | None = None) -> None:
        import Stemmer

        self._stemmer = Stemmer.Stemmer(language)
        self._stop = stopwords()
        self.decompounder = decompounder

    def words(self, text: str) -> list[str]:
        """Lower-cased words without stop words (before stemming). Verb forms on -dt lose the t
        ("opleidt" -> "opleid", as "opleiden" stems), which the Snowball stemmer leaves alone."""
        return [w[:-1] if w.endswith("dt") else w for w in _WORD.findall(fold_accents(text.lower())) if w not in self._stop]

    def __call__(self, text: str) -> list[str]:
        words = self.words(text)
        if self.decompounder is not None:
            words = words + [p for w in words for p in self.decompounder.split(w) if p not in self._stop]
        return self._stemmer.stemWords(words)


_LOWER_ABBREVIATION = re.compile(r"\b([a-z]{2,5})[-'’](?=\w)")


class LexicalIndex:
    """BM25 over passages (bm25s), built in memory from (id, text) pairs; compounds split against its own words."""

    def __init__(self, ids: Sequence[str], texts: Sequence[str], decompound: bool = True) -> None:
        import bm25s

        logging.getLogger("bm25s").setLevel(logging.WARNING)  # it logs every index build at DEBUG
        if len(ids) != len(texts):
            raise ValueError(f"ids and texts must have the same length ({len(ids)} != {len(texts)}).")
        self.ids = list(ids)
        plain = Tokenizer()
        self.tokenizer = Tokenizer(decompounder=Decompounder(w for t in texts for w in plain.words(t))) if decompound else plain
        corpus = [self.tokenizer(t) for t in texts]
        # How the corpus writes abbreviations: in capitals ("SER", "HR") or lowercase joined by a hyphen
        # or apostrophe ("mkb-bedrijven", "zzp'ers"); lowercased. "slim werken" is a word, not "SLIM".
        self.abbreviations = frozenset(
            {w.lower() for t in texts for w in _WORD.findall(t) if w.isupper() and len(w) >= 2 and w.isalpha()}
            | {m.group(1) for t in texts for m in _LOWER_ABBREVIATION.finditer(t)})
        self.tokens = {cid: frozenset(doc) for cid, doc in zip(self.ids, corpus)}
        self._token_cache: dict[str, frozenset[str]] = {}
        self.df = Counter(tok for doc in self.tokens.values() for tok in doc)
        self._vocab = set(self.df)
        self._bm25 = bm25s.BM25()
        if self.ids:
            self._bm25.index(corpus, show_progress=False)

    # Persistence: the index as plain arrays (np.savez, no pickle), so a build can store it and a process
    # can load it instead of tokenising every passage again. `from_arrays(to_arrays())` searches,
    # tokenises and scores exactly like the index it was made from.

    def to_arrays(self) -> dict[str, np.ndarray]:
        """This index as named arrays (strings as UTF-8 JSON in uint8 arrays)."""
        df_tokens = list(self.df)
        position = {t: i for i, t in enumerate(df_tokens)}
        rows = [sorted(position[t] for t in self.tokens[cid]) for cid in self.ids]
        indptr = np.zeros(len(rows) + 1, dtype=np.int64)
        np.cumsum([len(r) for r in rows], out=indptr[1:])
        decompounder = self.tokenizer.decompounder
        bm25 = self._bm25
        scores = getattr(bm25, "scores", None)  # a BM25 object has scores only once it indexed passages
        meta = {
            "format": LEXICAL_FORMAT, "ids": self.ids, "decompound": decompounder is not None,
            "lexicon": sorted(decompounder.lexicon) if decompounder is not None else [],
            "abbreviations": sorted(self.abbreviations), "df_tokens": df_tokens,
            "bm25_params": {name: getattr(bm25, name) for name in _BM25_PARAMS},
            "bm25_indexed": scores is not None,
            "bm25_vocab": list(bm25.vocab_dict) if scores is not None else [],
        }
        arrays = {
            "meta": _json_array(meta),
            "df_counts": np.asarray([self.df[t] for t in df_tokens], dtype=np.int64),
            "token_indptr": indptr,
            "token_indices": np.asarray([i for r in rows for i in r], dtype=np.int32),
        }
        if scores is not None:
            arrays.update(
                bm25_data=np.asarray(scores["data"]), bm25_indices=np.asarray(scores["indices"]),
                bm25_indptr=np.asarray(scores["indptr"]), bm25_num_docs=np.asarray(scores["num_docs"], dtype=np.int64),
                bm25_vocab_ids=np.asarray(list(bm25.vocab_dict.values()), dtype=np.int64))
            if getattr(bm25, "nonoccurrence_array", None) is not None:
                arrays["bm25_nonoccurrence"] = np.asarray(bm25.nonoccurrence_array)
        return arrays

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray]) -> "LexicalIndex":
        """The index that `to_arrays` described; ValueError (or KeyError) when the arrays do not fit together."""
        import bm25s

        logging.getLogger("bm25s").setLevel(logging.WARNING)
        meta = _from_json_array(arrays["meta"])
        if meta.get("format") != LEXICAL_FORMAT:
            raise OutdatedFormat(f"lexical index format {meta.get('format')!r}, this version reads {LEXICAL_FORMAT}")
        self = cls.__new__(cls)
        self.ids = [str(i) for i in meta["ids"]]
        n = len(self.ids)
        self.tokenizer = Tokenizer(decompounder=Decompounder(meta["lexicon"])) if meta["decompound"] else Tokenizer()
        self.abbreviations = frozenset(meta["abbreviations"])
        df_tokens = list(meta["df_tokens"])
        counts = arrays["df_counts"]
        indptr, indices = arrays["token_indptr"], arrays["token_indices"]
        if counts.shape != (len(df_tokens),) or indptr.shape != (n + 1,) or indptr[0] != 0 \
                or np.any(np.diff(indptr) < 0) or indptr[-1] != indices.shape[0] \
                or (indices.size and (indices.min() < 0 or indices.max() >= len(df_tokens))):
            raise ValueError("lexical index arrays do not fit together")
        self.df = Counter(dict(zip(df_tokens, counts.tolist())))
        self.tokens = _TokenSets(self.ids, df_tokens, indptr, indices)
        self._token_cache = {}
        self._vocab = set(self.df)
        self._bm25 = bm25s.BM25(**meta["bm25_params"])
        if meta["bm25_indexed"]:
            vocab, vocab_ids = meta["bm25_vocab"], arrays["bm25_vocab_ids"]
            data, bm_indices, bm_indptr = arrays["bm25_data"], arrays["bm25_indices"], arrays["bm25_indptr"]
            num_docs = int(arrays["bm25_num_docs"])
            if vocab_ids.shape != (len(vocab),) or num_docs != n or bm_indptr.shape[0] < 1 \
                    or bm_indptr[-1] != data.shape[0] or data.shape != bm_indices.shape \
                    or (vocab_ids.size and (vocab_ids.min() < 0 or vocab_ids.max() > bm_indptr.shape[0] - 1)) \
                    or (bm_indices.size and (bm_indices.min() < 0 or bm_indices.max() >= num_docs)):
                raise ValueError("BM25 arrays do not fit together")
            self._bm25.scores = {"data": data, "indices": bm_indices, "indptr": bm_indptr, "num_docs": num_docs}
            self._bm25.vocab_dict = dict(zip(vocab, vocab_ids.tolist()))
            self._bm25.unique_token_ids_set = set(self._bm25.vocab_dict.values())
            self._bm25.nonoccurrence_array = arrays["bm25_nonoccurrence"] if "bm25_nonoccurrence" in arrays else None
        elif n:
            raise ValueError("a lexical index with passages but no BM25 matrix")
        return self

    def text_tokens(self, text: str) -> frozenset[str]:
        """The token set of a text (a sentence of a passage), cached: answers score the same sentences often."""
        tokens = self._token_cache.get(text)
        if tokens is None:
            if len(self._token_cache) >= 20_000:
                self._token_cache.clear()
            tokens = self._token_cache[text] = frozenset(self.tokenizer(text))
        return tokens

    def idf(self, token: str) -> float:
        """BM25's inverse document frequency; a token the corpus never uses gets the highest value."""
        n, df = len(self.ids), self.df.get(token, 0)
        return math.log(1 + (n - df + 0.5) / (df + 0.5))

    def search(self, query: str, k: int, allowed: set[str] | None = None,
               carried: str = "", carried_weight: float = CARRIED_WEIGHT) -> list[tuple[str, float]]:
        """Top-k (id, score) with a positive score; `allowed` restricts the ids (metadata filters).

        `carried`: words of an earlier turn (a follow-up's context), scored at `carried_weight`.
        """
        import numpy as np

        tokens = [t for t in self.tokenizer(query) if t in self._vocab]
        extra = [t for t in self.tokenizer(carried) if t in self._vocab] if carried else []
        if not (tokens or extra) or not self.ids:
            return []
        mask = None
        if allowed is not None:  # metadata filters: zero weight for every other passage
            mask = np.fromiter((cid in allowed for cid in self.ids), dtype=np.float32, count=len(self.ids))
            if not mask.any():
                return []
        k = min(k, len(self.ids))
        if not extra:
            docs, scores = self._bm25.retrieve([tokens], k=k, show_progress=False, weight_mask=mask)
            return [(self.ids[int(i)], float(score)) for i, score in zip(docs[0], scores[0]) if score > 0]
        total = carried_weight * self._bm25.get_scores(extra, weight_mask=mask)
        if tokens:
            total = total + self._bm25.get_scores(tokens, weight_mask=mask)
        top = np.argpartition(-total, k - 1)[:k]
        top = top[np.argsort(-total[top], kind="stable")]
        return [(self.ids[int(i)], float(total[i])) for i in top if total[i] > 0]


LEXICAL_FORMAT = 2  # 2: accents folded ("kóst" = "kost")


class OutdatedFormat(ValueError):
    """A persisted search index written by another version of the assistant (not damaged: `assistant index`
    writes it again from the build's passages)."""


_BM25_PARAMS = ("k1", "b", "delta", "method", "idf_method", "dtype", "int_dtype", "backend", "csc_backend")


def with_lowercase_names(table: dict[str, tuple[str, ...]], texts: Iterable[str]) -> dict[str, tuple[str, ...]]:
    """The organisations' names plus their lowercase forms, so that a question typed in lowercase
    ("hoe heeft bosch scharnieren die teams opgezet?") names them too: a full name, and a single word of
    at least five letters or an acronym of three or more, as long as that lowercase form never occurs in
    the texts (there it would be an ordinary word: "gemeenten", "scharnieren") and is not an ordinary
    word the corpus happens not to use (assistant/data/common_name_words.txt: "mode", "dorp")."""
    ordinary = set(word_list("common_name_words"))
    for text in texts:
        ordinary.update(re.findall(r"(?<![\w&@-])[a-zà-ÿ][\w'&@-]*", text))
        ordinary.update(name.lower() for name in table if " " in name and name.lower() in text)
    out = {}
    for name, aliases in table.items():
        extra = [a.lower() for a in aliases
                 if a.lower() != a and a.lower() not in ordinary
                 and (" " in a or len(a) >= 5 or (a.isupper() and len(a) >= 3))]
        out[name] = tuple(dict.fromkeys([*aliases, *extra]))
    return out


def _json_array(value: Any) -> np.ndarray:
    return np.frombuffer(json.dumps(value, ensure_ascii=False).encode("utf-8"), dtype=np.uint8)


def _from_json_array(array: np.ndarray) -> Any:
    if array.dtype != np.uint8 or array.ndim != 1:
        raise ValueError("not a JSON array")
    return json.loads(array.tobytes().decode("utf-8"))


def _npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def _load_npz(fh: BinaryIO) -> dict[str, np.ndarray]:
    """Every array of an npz file; object arrays are refused (no pickle) and zip CRCs are checked."""
    with np.load(fh, allow_pickle=False) as npz:
        return {name: npz[name] for name in npz.files}


class _ByChunk(Mapping):
    """A read-only mapping over stored arrays: chunk id -> row (`_row`); subclasses say what a row gives."""

    _row: dict[str, int]

    def __iter__(self) -> Iterator[str]:
        return iter(self._row)

    def __len__(self) -> int:
        return len(self._row)

    def __contains__(self, cid: object) -> bool:
        return cid in self._row


class _TokenSets(_ByChunk):
    """chunk id -> its token set (LexicalIndex.tokens), made from compact arrays when first asked for."""

    def __init__(self, ids: Sequence[str], vocab: Sequence[str], indptr: np.ndarray, indices: np.ndarray) -> None:
        self._row = {cid: i for i, cid in enumerate(ids)}
        self._vocab = vocab
        self._indptr, self._indices = indptr, indices
        self._cache: dict[str, frozenset[str]] = {}

    def __getitem__(self, cid: str) -> frozenset[str]:
        tokens = self._cache.get(cid)
        if tokens is None:
            i = self._row[cid]
            vocab = self._vocab
            tokens = frozenset(vocab[j] for j in self._indices[self._indptr[i] : self._indptr[i + 1]].tolist())
            if len(self._cache) >= 50_000:
                self._cache.clear()
            self._cache[cid] = tokens
        return tokens



def reciprocal_rank_fusion(rankings: Iterable[Sequence[str]], k: int = RRF_K,
                           weights: Sequence[float] | None = None) -> list[tuple[str, float]]:
    """Fuse ranked id lists: score(id) = sum over lists of weight / (k + rank), rank from 1 (weights 1 by
    default, as in the paper). Ties keep first-seen order."""
    if k <= 0:
        raise ValueError(f"k must be greater than 0. Currently it is {k}.")
    rankings = list(rankings)
    weights = list(weights) if weights is not None else [1.0] * len(rankings)
    if len(weights) != len(rankings):
        raise ValueError(f"weights must give one weight per ranking ({len(weights)} != {len(rankings)}).")
    scores: dict[str, float] = defaultdict(float)
    order: dict[str, int] = {}
    for ranking, weight in zip(rankings, weights):
        for rank, item in enumerate(ranking, 1):
            scores[item] += weight / (k + rank)
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


@dataclass(frozen=True)
class QueryTerm:
    """A content word (or thesaurus phrase) of a question: covered by a text that has any of `alternatives`."""

    word: str
    weight: float  # inverse document frequency: rare words count more
    alternatives: tuple[frozenset[str], ...]  # token sets; empty when the corpus never uses the word

    @property
    def known(self) -> bool:
        return bool(self.alternatives)


# Pronouns and chat fillers: no content of their own. "wat is sociale innovatie eigenlijk?" asks about
# sociale innovatie, and an answer must not say it found nothing about "eigenlijk". (BM25 keeps them:
# dropping them from the index measurably cost hit@1, eval/README.md.)
_FILLERS = word_list("fillers")


def non_content_words(lexical: "LexicalIndex") -> frozenset[str]:
    """Words that are never a question's content: stop words, question words and chat fillers."""
    return lexical.tokenizer._stop | _QUESTION_WORDS | _FILLERS


def query_terms(question: str, lexical: LexicalIndex) -> list[QueryTerm]:
    """The content words of a question, each with the token sets that would cover it in the corpus.

    Thesaurus phrases count as one term covered by the phrase or any of its Dutch terms; compounds are
    covered by the whole word or all of their parts; question words and stop words are not terms.
    """
    tok = lexical.tokenizer
    known = lexical.df
    terms: list[QueryTerm] = []
    taken: set[int] = set()

    def stems(text: str) -> list[str]:  # whole-word stems only, not compound parts
        return [ts[0] for w in _WORD.findall(text) if (ts := tok(w))]

    for start, end, phrase, added in _expansions(question):
        alternatives = [frozenset(stems(phrase))] + [frozenset(stems(alt)) for alt in added.split("|")]
        alternatives = [a for a in alternatives if a and a <= known.keys()]
        if alternatives:
            weight = max(lexical.idf(t) for a in alternatives for t in a)
            terms.append(QueryTerm(phrase, weight, tuple(dict.fromkeys(alternatives))))
            taken.update(range(start, end))
    stop = non_content_words(lexical)
    seen: set[str] = set()
    for m in _WORD.finditer(question.lower()):
        word = m.group(0)
        if m.start() in taken or word in stop or len(word) < 2 or word in seen:
            continue
        seen.add(word)
        word_stems = tok(word)  # the word's stem followed by the stems of its compound parts
        whole, parts = frozenset(word_stems[:1]), frozenset(word_stems[1:])
        alternatives = tuple(a for a in (whole, parts) if a and a <= known.keys())
        weight = (sum(lexical.idf(t) for t in alternatives[0]) / len(alternatives[0])) if alternatives else lexical.idf("")
        terms.append(QueryTerm(word, weight, alternatives))
    return terms


def coverage(terms: Sequence[QueryTerm], tokens: frozenset[str] | set[str]) -> float:
    """Share of the question's term weight that a text (as tokens) covers, from 0 to 1."""
    total = sum(t.weight for t in terms)
    if not total:
        return 0.0
    return sum(t.weight for t in terms if any(a <= tokens for a in t.alternatives)) / total


@dataclass
class Retrieval:
    """What a retrieval returned and how: the passages, the query actually searched, timings."""

    question: str
    search_query: str  # the condensed, self-contained question
    hits: list[Hit]
    best_dense: float  # highest dense similarity among the candidates: the evidence strength
    timings: dict[str, float] = field(default_factory=dict)  # milliseconds per step
    expanded_query: str = ""  # what both searches looked for (the query plus thesaurus terms)
    query_vector: Any = None  # its embedding, reusable by a second search of the same query
    build_id: str = ""  # the index build every passage came from (one live build per question)
    carried: str = ""  # what a follow-up carried over from the earlier turn ("" for a self-contained question)
    units: dict[str, Any] = field(default_factory=dict)  # chunk id -> (sentence spans, their vectors)
    embedder: str = ""  # the model that embedded the build (its manifest's), which the unit vectors come from


Mode = Literal["hybrid", "dense", "lexical"]
MODES: tuple[str, ...] = ("hybrid", "dense", "lexical")


class HybridSearcher:
    """Dense + BM25 over one index build, fused by reciprocal rank fusion, with at most
    `per_section` passages of one section in the results.

    The BM25 index is built from the build's stored passages on first use (not per query).
    """

    def embedder_model(self) -> str:
        """The model name the build's manifest records for its vectors ("" when it records none)."""
        manifest = getattr(self.build, "manifest", None)
        return str((manifest.embedder or {}).get("model") or "") if manifest is not None else ""

    def __init__(self, build, embedder, *, candidates: int = 50, per_section: int = 2,
                 expand: bool = True, decompound: bool = True, follow_ups: bool = True, windows: bool = True,
                 sentences: bool = True, known: bool = True) -> None:
        """`expand`, `decompound`, `follow_ups`, `windows`, `sentences` and `known` switch off the thesaurus,
        compound splitting, history condensing, the sentence-window ranking, the single-sentence ranking and
        the known-questions ranking (for ablations in benchmarks/; the defaults are what the app uses)."""
        if candidates <= 0 or per_section <= 0:
            raise ValueError(f"candidates and per_section must be greater than 0. Currently {candidates}, {per_section}.")
        self.build = build
        self.embedder = embedder
        self.candidates = candidates
        self.per_section = per_section
        self.expand, self.decompound, self.follow_ups, self.windows = expand, decompound, follow_ups, windows
        self.sentences, self.known = sentences, known
        self._known: KnownQuestions | None = None  # the build's known questions (assistant/known_questions.py)
        self._sentence_matrix: tuple[np.ndarray, list[str]] | None = None
        self._lock = threading.Lock()
        self._lexical: LexicalIndex | None = None
        self._records: dict[str, tuple[str, dict]] = {}
        self._units: dict[str, tuple[list[tuple[int, int]], np.ndarray]] = {}
        self._windows: tuple[np.ndarray, list[str]] | None = None
        self._organisations: dict[str, tuple[str, ...]] | None = None
        self._sections: dict[tuple[str, str], list[str]] | None = None
        self._case_chunks: dict[str, list[str]] | None = None
        # The learned reordering of the fused candidates (assistant/passage_ranker.py); None: the fused order.
        self.passage_ranker = None
        # What callers derive from this build's passages and keep for its lifetime, by name
        # (pipeline.with_subjects: each passage's company at its start); a new build gets a new searcher.
        self.derived: dict[str, dict] = {}

    def lexical(self) -> LexicalIndex:
        """The BM25 index (and with it the passages, their sentence units and windows): loaded from the
        build's persisted search index when it has a valid one, else built from the stored passages."""
        with self._lock:
            if self._lexical is None:
                state = self._load_persisted()
                if state is None:
                    state = self._compute()
                    self._known = self._known_in_memory(state[0])
                self._records, self._units, self._windows, self._lexical = state
            return self._lexical

    def _known_in_memory(self, records) -> KnownQuestions | None:
        """The known questions without a stored build index: only when no vector must be embedded."""
        if not self.known or self.embedder is None:
            return None
        try:
            return known_from_cache(self.embedder, records)
        except Exception as e:  # noqa: BLE001 - retrieval works without them
            logger.warning("Known questions not used for index build %s (%s).", self.build.build_id, e)
            return None

    def _compute(self):
        """Everything `lexical()` provides, computed from the build's stored passages (reads them all)."""
        records: dict[str, tuple[str, dict]] = {}
        units: dict[str, tuple[list[tuple[int, int]], np.ndarray]] = {}
        for page in self.build.all_records(include_embeddings=False):
            for cid, text, meta in zip(page["ids"], page["documents"], page["metadatas"]):
                decoded = decode_units(meta)
                if decoded is not None:
                    units[cid] = decoded
                records[cid] = (text, {k: v for k, v in meta.items() if k not in UNIT_KEYS})
        ids = list(records)
        texts = [lexical_text(*records[cid]) for cid in ids]
        return records, units, sentence_windows(units), LexicalIndex(ids, texts, decompound=self.decompound)

    def _load_persisted(self):
        """The persisted search state, or None (with a warning naming why) to build it in memory."""
        if not self.decompound:  # an ablation switch: the persisted index splits compounds
            return None
        build_id = self.build.build_id
        try:
            files = self.build.search_index()
        except StoreError as e:
            logger.warning("The persisted search index of index build %s cannot be read (%s); building it in "
                           "memory instead (run `assistant index` to write it again).", build_id, e)
            return None
        if files is None:
            logger.warning("Index build %s has no persisted search index (built by an older version); building it "
                           "in memory from its passages (`assistant index` adds it to the build).", build_id)
            return None
        try:
            if KNOWN_BLOB in files and self.known:
                try:
                    self._known = KnownQuestions.from_blob(files[KNOWN_BLOB])
                except Exception as e:  # noqa: BLE001 - retrieval works without them
                    logger.warning("The known questions of index build %s cannot be read (%s); searching without "
                                   "them (run `assistant index` to store them again).", build_id, e)
            if THEME_VECTORS_BLOB in files:  # the themes' embeddings: the first question embeds none of them
                try:
                    seed_vectors(files[THEME_VECTORS_BLOB])
                except Exception as e:  # noqa: BLE001 - they are computed again when damaged
                    logger.warning("The theme vectors of index build %s are damaged (%s); computing them again.",
                                   build_id, e)
            return load_search_state(files, self.build)
        except OutdatedFormat as e:
            logger.warning("The persisted search index of index build %s was written by another version of the "
                           "assistant (%s); building it in memory instead (run `assistant index` to write it in "
                           "this version's format).", build_id, e)
            return None
        except Exception as e:  # noqa: BLE001 - damaged data of any shape falls back, never crashes a question
            logger.warning("The persisted search index of index build %s is damaged (%s: %s); building it in "
                           "memory instead (run `assistant index` to write it again).",
                           build_id, type(e).__name__, e)
            return None
        finally:
            for fh in files.values():
                fh.close()

    def export_search_index(self, extra: Callable[[dict[str, tuple[str, dict]]], dict[str, bytes]] | None = None
                            ) -> dict[str, bytes]:
        """What `lexical()` computes from the build's passages, computed now and serialised (named npz files)
        for the store: `Store.save_search_index(build, searcher.export_search_index())`. `extra(records)`
        adds files made from the passages (id -> (text, metadata)): the known questions."""
        state = self._compute()
        blobs = dump_search_state(*state, build_id=self.build.build_id)
        if extra is not None:
            blobs.update(extra(state[0]))
        return blobs

    def close(self) -> None:
        """Release the build's resources (its Chroma client); in-memory results stay readable."""
        self.build.close()

    def organisations(self) -> dict[str, tuple[str, ...]]:
        """The organisations of the build's practice cases (what a document excerpt may be about), each
        with the names a text may use for it: the full name, and its rare capitalised words ("Vermeulen"
        for "Vermeulen Bouwbedrijf"; not "Industry", which many passages use)."""
        lexical = self.lexical()
        if self._organisations is None:
            regions: dict[str, str] = {}
            for _, meta in self._records.values():
                if meta.get("kind") == "case" and meta.get("organisation"):
                    regions[plain(str(meta["organisation"]))] = plain(str(meta.get("region") or ""))
            names = set(regions)
            shared = {r for r in regions.values() if list(regions.values()).count(r) > 1}

            def rare(word: str) -> bool:
                return all(lexical.df.get(t, 0) <= RARE_NAME_PASSAGES for t in lexical.tokenizer(word))

            table = {}
            for name in sorted(names, key=lambda n: (-len(n), n)):
                # A name with a number in it ("Arbeit 2020") is only itself: its word alone is an ordinary
                # word elsewhere ("Humanisierung der Arbeit").
                numbered = " " in name and any(ch.isdigit() for ch in name)
                words = [w for w in re.findall(r"[\w&'-]+", name) if w[:1].isupper() and (len(w) >= 4 or (w.isupper() and len(w) >= 3))
                         and rare(w) and not numbered]
                # A place only one case is in, and few passages name ("In Doetinchem werkt een
                # scharnierenfabriek …" is about BOSCH Scharnieren); never a city several cases share.
                region = regions[name]
                place = [region] if region and region not in shared and " " not in region and rare(region) else []
                table[name] = tuple(dict.fromkeys([name, *words, *place]))
            self._organisations = with_lowercase_names(table, (text for text, _ in self._records.values()))
        return self._organisations

    def section_passages(self, doc_id: str, section: str) -> list[Hit]:
        """The build's passages of one section of one document (heading path as stored), in document order."""
        self.lexical()
        with self._lock:
            if self._sections is None:
                table: dict[tuple[str, str], list[str]] = {}
                for cid, (_, meta) in self._records.items():
                    table.setdefault((meta["doc_id"], meta["section"]), []).append(cid)
                self._sections = table
        hits = [self._hit(cid, 0.0) for cid in self._sections.get((doc_id, section), [])]
        return sorted(hits, key=lambda h: h.start)

    def case_passages(self, organisations: Iterable[str]) -> list[Hit]:
        """The passages of the practice cases of these organisations (named as `organisations()` names them)."""
        self.lexical()
        with self._lock:
            if self._case_chunks is None:  # organisation -> its cases' passages, once per build
                table: dict[str, list[str]] = {}
                for cid, (_, meta) in self._records.items():
                    if meta.get("kind") == "case" and meta.get("organisation"):
                        table.setdefault(plain(str(meta["organisation"])), []).append(cid)
                self._case_chunks = table
        return [self._hit(cid, 0.0) for name in dict.fromkeys(organisations) for cid in self._case_chunks.get(name, [])]

    def passage_text(self, chunk_id: str) -> str:
        """A passage's stored text ("" for an unknown id)."""
        self.lexical()
        record = self._records.get(chunk_id)
        return record[0] if record else ""

    def passage_units(self, chunk_id: str):
        """A passage's sentence spans and unit vectors, as a retrieval's `units` hold them (None without)."""
        self.lexical()
        return self._units.get(chunk_id)

    def window_ranking(self, vector: np.ndarray, n: int, allowed: set[str] | None = None) -> list[str]:
        """Passages ranked by their best window of 2-3 consecutive sentences against the query: a passage
        whose answer sits in two sentences of a long text is found even when the whole passage is diluted."""
        return _best_unit_ranking(self._windows, vector, n, allowed)

    def sentence_ranking(self, vector: np.ndarray, n: int, allowed: set[str] | None = None) -> list[str]:
        """Passages ranked by their best single sentence against the query: "In het begin kóst het vooral
        tijd, energie en geld." answers "kost het veel tijd en geld?" from a passage about autonomy."""
        if vector is None:
            return []
        with self._lock:
            if self._sentence_matrix is None:
                self._sentence_matrix = sentence_vectors(self._units)
        return _best_unit_ranking(self._sentence_matrix, vector, n, allowed)

    def _reranked(self, ids: list[str], query: str, follow_up: bool, dense: dict[str, float],
                  lexical_scores: dict[str, float], vector: np.ndarray) -> list[str]:
        """The fused candidates in the passage ranker's order (assistant/passage_ranker.py)."""
        from assistant import passage_ranker
        from assistant.excerpts import asked_organisations

        lexical = self.lexical()
        terms = query_terms(query, lexical)
        asked = [a.lower() for a in asked_organisations(query, self.organisations())]
        texts = [self._records[cid][0] for cid in ids]
        windows, sentences = passage_ranker.best_similarities(self._units, ids, vector, WINDOW_SIZES)
        features = passage_ranker.passage_features(
            ids, dense, lexical_scores, windows, sentences,
            coverages=[coverage(terms, lexical.text_tokens(t)) for t in texts],
            cases=[self._records[cid][1].get("kind") == "case" for cid in ids], lengths=[len(t) for t in texts],
            named=[bool(asked) and any(a in t.lower() for a in asked) for t in texts], follow_up=follow_up)
        return passage_ranker.rerank(ids, features, self.passage_ranker)

    def _hit(self, cid: str, score: float) -> Hit:
        text, meta = self._records[cid]
        return Hit(chunk_id=cid, doc_id=meta["doc_id"], title=meta["title"], kind=meta["kind"],
                   section=meta["section"], text=text, score=score, start=int(meta["start"]),
                   end=int(meta["end"]), meta=dict(meta))

    def retrieve(self, question: str, k: int, filters: Filters | None = None, history: Sequence[str] = (),
                 mode: Mode = "hybrid", same_query_as: Retrieval | None = None) -> Retrieval:
        """`same_query_as`: an earlier retrieval whose query embedding is reused when the query is the same
        (e.g. the practice-case search after the passage search of one question)."""
        if k <= 0:
            raise ValueError(f"k must be greater than 0. Currently it is {k}.")
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}. Currently it is {mode!r}.")
        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        carried = carried_terms(question, history) if self.follow_ups else ""
        query = _with_carried(question, carried)
        lexical = self.lexical()
        timings["prepare_ms"] = (time.perf_counter() - t0) * 1000
        n = max(self.candidates, 3 * k)

        t0 = time.perf_counter()
        # Both sides search the thesaurus-expanded query: for the dense side the Dutch domain terms
        # next to an English or colloquial question measurably help (eval/README.md).
        expanded = expand_query(query) if self.expand else query
        vector = None
        if mode != "lexical":
            reusable = same_query_as is not None and same_query_as.expanded_query == expanded
            vector = same_query_as.query_vector if reusable else None
            vector = self.embedder.embed_query(expanded) if vector is None else vector
        dense = self.build.query_scores(vector, n, filters) if vector is not None else []
        timings["dense_ms"] = (time.perf_counter() - t0) * 1000
        dense_scores = dict(dense)
        best_dense = max(dense_scores.values(), default=0.0)

        t0 = time.perf_counter()
        allowed = None
        if filters is not None and (filters.equalities() or filters.theme):
            allowed = {cid for cid, (_, meta) in self._records.items() if matches(meta, filters)}
        if mode == "dense":
            lexical_hits = []
        elif carried:  # a follow-up: its own words count fully, the carried-over words a third
            lexical_hits = lexical.search(expand_query(question), n, allowed, carried=expand_query(carried))
        else:
            lexical_hits = lexical.search(expanded, n, allowed)
        timings["lexical_ms"] = (time.perf_counter() - t0) * 1000

        t0 = time.perf_counter()
        rankings = {"dense": [[cid for cid, _ in dense]], "lexical": [[cid for cid, _ in lexical_hits]]}
        rankings["hybrid"] = rankings["dense"] + rankings["lexical"]
        weights = None
        if mode == "hybrid" and self.windows:
            rankings["hybrid"].append(self.window_ranking(vector, n, allowed))
            weights = [1.0, 1.0, WINDOW_WEIGHT]
        if mode == "hybrid" and self.sentences:
            rankings["hybrid"].append(self.sentence_ranking(vector, n, allowed))
            weights = [*(weights or [1.0, 1.0]), SENTENCE_WEIGHT]
        if mode == "hybrid" and self.known and self._known is not None and len(self._known):
            rankings["hybrid"].append(self._known.ranking(vector, n, allowed))
            weights = [*(weights or [1.0] * (len(rankings["hybrid"]) - 1)), KNOWN_WEIGHT]
        fused = reciprocal_rank_fusion(rankings[mode], weights=weights)
        section_of = {cid: f"{self._records[cid][1]['doc_id']}\x00{self._records[cid][1]['section']}"
                      for cid, _ in fused if cid in self._records}
        order = cap_per_group([cid for cid, _ in fused if cid in self._records], section_of, self.per_section)
        if mode == "hybrid" and self.passage_ranker is not None and vector is not None:
            head = self._reranked(order[:n], query, bool(carried), dense_scores, dict(lexical_hits), vector)
            order = cap_per_group(head, section_of, self.per_section) + order[n:]
        score = dict(fused)
        lex_score = dict(lexical_hits)
        hits = []
        for cid in order[:k]:
            hit = self._hit(cid, score[cid])
            hit.meta["dense_score"] = dense_scores.get(cid)
            hit.meta["lexical_score"] = lex_score.get(cid)
            hits.append(hit)
        timings["fuse_ms"] = (time.perf_counter() - t0) * 1000
        units = {h.chunk_id: self._units[h.chunk_id] for h in hits if h.chunk_id in self._units}
        return Retrieval(question, query, hits, best_dense, timings, expanded, vector,
                         build_id=self.build.build_id, carried=carried, units=units, embedder=self.embedder_model())


def with_second_query(first: Retrieval, second: Retrieval, k: int) -> Retrieval:
    """The first retrieval with the passages of a second query of the same question fused in (reciprocal
    rank fusion of the two hit lists, k passages); query and vector stay the first's, the evidence
    strength (best dense similarity) is the better of the two."""
    fused = reciprocal_rank_fusion([[h.chunk_id for h in first.hits], [h.chunk_id for h in second.hits]])
    by_id = {h.chunk_id: h for h in second.hits} | {h.chunk_id: h for h in first.hits}
    hits = [by_id[cid] for cid, _ in fused[:k]]
    units = {h.chunk_id: u for h in hits if (u := first.units.get(h.chunk_id) or second.units.get(h.chunk_id))}
    return replace(first, hits=hits, units=units, best_dense=max(first.best_dense, second.best_dense))


RARE_NAME_PASSAGES = 8  # a word of an organisation's name in at most this many passages names it alone
WINDOW_SIZES = (2, 3)
# Weight of the sentence-window ranking in the fusion (dense and BM25 weigh 1): 0.7 measured best on the
# tuning sets (gold hit@1 0.753 at 1.0, 0.765 at 0.7 and 0.5; eval/README.md).
WINDOW_WEIGHT = 0.7
# Weight of the single-sentence ranking: on the 18 development sets (1,076 in-scope questions) the
# evidence passage among the 10 read 942 -> 955 at 0.7 (950 at 0.5, 954 at 1.0), hit@5 874 -> 880.
SENTENCE_WEIGHT = 0.7


def _best_unit_ranking(units: tuple[np.ndarray, list[str]] | None, vector: np.ndarray | None, n: int,
                       allowed: set[str] | None = None) -> list[str]:
    """Passages ranked by the best of their unit vectors (rows of `units`' matrix, each with its passage)
    against the query vector: the first `n` passages (of `allowed`, when given)."""
    if units is None or vector is None:
        return []
    matrix, owners = units
    scores = matrix @ np.asarray(vector, dtype=np.float32)
    order = _best_first(scores, 16 * n if allowed is None else len(scores))
    ranking = _first_passages(order, owners, n, allowed)
    if len(ranking) < n and len(order) < len(scores):  # the best rows named fewer than n passages: all rows
        ranking = _first_passages(_best_first(scores, len(scores)), owners, n, allowed)
    return ranking


def _first_passages(order: np.ndarray, owners: Sequence[str], n: int, allowed: set[str] | None) -> list[str]:
    """The first `n` distinct passages (of `allowed`, when given) owning the rows in `order`."""
    ranking: list[str] = []
    seen: set[str] = set()
    for j in order:
        cid = owners[j]
        if cid in seen or (allowed is not None and cid not in allowed):
            continue
        seen.add(cid)
        ranking.append(cid)
        if len(ranking) >= n:
            break
    return ranking


PARTIAL_SORT_ROWS = 100_000  # from this many unit vectors on, only the best rows are sorted


def _best_first(scores: np.ndarray, head: int) -> np.ndarray:
    """Row indices by descending score: all of them (a full sort, as below PARTIAL_SORT_ROWS), or for a
    large matrix only the best `head` (a partition, then a sort of those: 810,000 sentences of 100,000
    passages sort in ~100 ms, their best rows in a few)."""
    if len(scores) < PARTIAL_SORT_ROWS or head >= len(scores):
        return np.argsort(-scores)
    top = np.argpartition(-scores, head)[:head]
    return top[np.argsort(-scores[top])]


def sentence_vectors(units: Mapping[str, tuple[list[tuple[int, int]], np.ndarray]]) -> tuple[np.ndarray, list[str]] | None:
    """Every sentence's unit vector (unit length, float32), each with the passage it belongs to; None when
    the build has no units. Stored units are read from their one matrix, not passage by passage."""
    if isinstance(units, _StoredUnits):
        matrix, owners = units.all_vectors()
    else:
        owners = [cid for cid, (_, vectors) in units.items() for _ in range(len(vectors))]
        blocks = [np.asarray(vectors, dtype=np.float32) for _, vectors in units.values() if len(vectors)]
        matrix = np.vstack(blocks) if blocks else np.zeros((0, 0), np.float32)
    if not owners:
        return None
    matrix /= np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-12)
    return matrix, owners


def sentence_windows(units: dict[str, tuple[list[tuple[int, int]], np.ndarray]],
                     sizes: Sequence[int] = WINDOW_SIZES) -> tuple[np.ndarray, list[str]] | None:
    """Unit vectors of every window of `sizes` consecutive sentences (a passage with fewer sentences
    counts as one window), each with the passage it belongs to; None when the build has no units."""
    rows: list[np.ndarray] = []
    owners: list[str] = []
    for cid, (_, vectors) in units.items():
        n = len(vectors)
        if n == 0:
            continue
        for size in sizes:
            for i in range(max(1, n - size + 1)):
                v = vectors[i : i + size].sum(axis=0)
                rows.append(v / (np.linalg.norm(v) or 1.0))
                owners.append(cid)
            if n <= size:
                break
    return (np.asarray(rows, dtype=np.float32), owners) if rows else None


# The persisted search state of a build (HybridSearcher.export_search_index / lexical()): three npz files.
#   records.npz  the passages (ids, texts, metadata without units) as JSON
#   units.npz    every passage's sentence spans and unit vectors (float16, as stored), and the norm of
#                every sentence window (computed at index time exactly as `sentence_windows` does)
#   lexical.npz  LexicalIndex.to_arrays()
SEARCH_STATE_FORMAT = 1
SEARCH_BLOBS = ("records.npz", "units.npz", "lexical.npz")
_WINDOW_BLOCK = 65_536


def dump_search_state(records: dict[str, tuple[str, dict]], units: Mapping[str, tuple[list, np.ndarray]],
                      windows, lexical: LexicalIndex, build_id: str = "",
                      sizes: Sequence[int] = WINDOW_SIZES) -> dict[str, bytes]:
    """Serialise what HybridSearcher._compute() returned (`windows` is recomputed from `units`)."""
    ids = list(records)
    if lexical.ids != ids:
        raise ValueError("the lexical index and the records list different passages")
    record_json = {"format": SEARCH_STATE_FORMAT, "build_id": build_id, "ids": ids,
                   "texts": [records[cid][0] for cid in ids], "metas": [records[cid][1] for cid in ids]}
    has = np.fromiter((cid in units for cid in ids), dtype=bool, count=len(ids))
    lengths = np.asarray([len(units[cid][0]) if cid in units else 0 for cid in ids], dtype=np.int64)
    offsets = np.zeros(len(ids) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    spans = np.asarray([s for cid in ids if cid in units for s in units[cid][0]], dtype=np.int32).reshape(-1, 2)
    blocks = [units[cid][1] for cid in ids if cid in units and len(units[cid][0])]
    dim = blocks[0].shape[1] if blocks else 0
    if any(b.shape != (b.shape[0], dim) for b in blocks):
        raise ValueError("sentence unit vectors of different dimensions in one build")
    vectors = (np.concatenate(blocks) if blocks else np.zeros((0, dim), np.float32)).astype(np.float16)
    norms: list[float] = []
    for cid in ids:  # the same loop and arithmetic as sentence_windows, keeping only the norms
        if cid not in units:
            continue
        unit_vectors = units[cid][1]
        n = len(unit_vectors)
        if n == 0:
            continue
        for size in sizes:
            for i in range(max(1, n - size + 1)):
                norms.append(np.linalg.norm(unit_vectors[i : i + size].sum(axis=0)) or 1.0)
            if n <= size:
                break
    units_meta = {"format": SEARCH_STATE_FORMAT, "sizes": list(sizes), "dim": int(dim)}
    return {
        "records.npz": _npz_bytes({"records": _json_array(record_json)}),
        "units.npz": _npz_bytes({"meta": _json_array(units_meta), "has_units": has, "offsets": offsets,
                                 "spans": spans, "vectors": vectors, "window_norms": np.asarray(norms, np.float32)}),
        "lexical.npz": _npz_bytes(lexical.to_arrays()),
    }


def load_search_state(files: Mapping[str, BinaryIO], build=None, sizes: Sequence[int] = WINDOW_SIZES):
    """(records, units, windows, lexical) as HybridSearcher._compute() returns them, from the files that
    dump_search_state wrote; ValueError/KeyError (or a zip/npz error) when they are damaged or do not fit."""
    record_json = _from_json_array(_load_npz(files["records.npz"])["records"])
    if record_json.get("format") != SEARCH_STATE_FORMAT:
        raise OutdatedFormat(f"search state format {record_json.get('format')!r}, this version reads {SEARCH_STATE_FORMAT}")
    ids, texts, metas = record_json["ids"], record_json["texts"], record_json["metas"]
    if not (len(ids) == len(texts) == len(metas)) or len(set(ids)) != len(ids):
        raise ValueError("passage lists of different lengths")
    if build is not None:
        if record_json.get("build_id") != build.build_id:
            raise ValueError(f"made for build {record_json.get('build_id')!r}")
        if build.manifest is not None and build.manifest.chunk_count != len(ids):
            raise ValueError(f"{len(ids)} passages, the build's manifest lists {build.manifest.chunk_count}")
    if not all(isinstance(t, str) for t in texts) or not all(isinstance(m, dict) for m in metas):
        raise ValueError("passages of the wrong type")
    records = {cid: (text, meta) for cid, text, meta in zip(ids, texts, metas)}

    arrays = _load_npz(files["units.npz"])
    units_meta = _from_json_array(arrays["meta"])
    if units_meta.get("format") != SEARCH_STATE_FORMAT or units_meta.get("sizes") != list(sizes):
        raise ValueError(f"sentence windows of sizes {units_meta.get('sizes')!r}, expected {list(sizes)}")
    has, offsets, spans = arrays["has_units"], arrays["offsets"], arrays["spans"]
    vectors, norms = arrays["vectors"], arrays["window_norms"]
    n = len(ids)
    if has.shape != (n,) or has.dtype != bool or offsets.shape != (n + 1,) or offsets[0] != 0 \
            or np.any(np.diff(offsets) < 0) or np.any(np.diff(offsets)[~has] != 0) \
            or spans.shape != (int(offsets[-1]), 2) or vectors.dtype != np.float16 \
            or vectors.shape != (int(offsets[-1]), int(units_meta["dim"])) or norms.dtype != np.float32:
        raise ValueError("sentence unit arrays do not fit together")
    units = _StoredUnits(ids, has, offsets, spans, vectors)
    windows = _stored_windows(ids, offsets, vectors, norms, sizes)

    lexical = LexicalIndex.from_arrays(_load_npz(files["lexical.npz"]))
    if lexical.ids != ids:
        raise ValueError("the lexical index lists other passages")
    return records, units, windows, lexical


class _StoredUnits(_ByChunk):
    """chunk id -> (sentence spans, unit vectors as float32), as decode_units gives them, sliced on demand
    from one float16 matrix (half the memory of decoded float32 vectors per passage)."""

    def __init__(self, ids: Sequence[str], has: np.ndarray, offsets: np.ndarray, spans: np.ndarray,
                 vectors: np.ndarray) -> None:
        self._row = {cid: i for i, cid in enumerate(ids) if has[i]}
        self._offsets, self._spans, self._vectors = offsets, spans, vectors

    def all_vectors(self) -> tuple[np.ndarray, list[str]]:
        """Every unit vector as float32, in stored order, and the passage each belongs to (a passage
        without units has no rows: its offsets are equal)."""
        lengths = np.diff(self._offsets)
        owners = [cid for cid in sorted(self._row, key=self._row.get) for _ in range(int(lengths[self._row[cid]]))]
        return self._vectors.astype(np.float32), owners

    def __getitem__(self, cid: str) -> tuple[list[tuple[int, int]], np.ndarray]:
        i = self._row[cid]
        a, b = int(self._offsets[i]), int(self._offsets[i + 1])
        spans = [(int(x), int(y)) for x, y in self._spans[a:b].tolist()]
        if not spans:
            return [], np.zeros((0, 0), np.float32)
        return spans, self._vectors[a:b].astype(np.float32)



def _window_plan(lengths: np.ndarray, sizes: Sequence[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(owner row, first unit within the passage, number of units) of every sentence window, in the order
    sentence_windows makes them: passage by passage, sizes in order, stopping after the first size that
    covers the whole passage."""
    rows = np.flatnonzero(lengths > 0)
    n = lengths[rows]
    counts = []
    open_ = np.ones(len(rows), dtype=bool)
    for size in sizes:
        counts.append(np.where(open_, np.maximum(1, n - size + 1), 0))
        open_ &= n > size
    block = np.zeros(len(rows) + 1, dtype=np.int64)
    np.cumsum(sum(counts) if counts else np.zeros(len(rows), np.int64), out=block[1:])
    total = int(block[-1])
    owner, first, length = (np.empty(total, dtype=np.int64) for _ in range(3))
    done = np.zeros(len(rows), dtype=np.int64)
    for size, count in zip(sizes, counts):
        used = count > 0
        r = np.repeat(np.flatnonzero(used), count[used])
        start_of = np.repeat(np.cumsum(count[used]) - count[used], count[used])
        i = np.arange(r.size, dtype=np.int64) - start_of
        dest = block[r] + done[r] + i
        owner[dest], first[dest], length[dest] = rows[r], i, np.minimum(size, n[r])
        done += count
    return owner, first, length


def _stored_windows(ids: Sequence[str], offsets: np.ndarray, vectors: np.ndarray, norms: np.ndarray,
                    sizes: Sequence[int]) -> tuple[np.ndarray, list[str]] | None:
    """sentence_windows' result from the stored units and window norms: the same sums in the same order
    ((u0 + u1) + u2 in float32) divided by the same norms, so the matrix is bit for bit the same."""
    owner, first, length = _window_plan(np.diff(offsets), sizes)
    if norms.shape != owner.shape:
        raise ValueError(f"{norms.shape[0]} window norms for {owner.shape[0]} windows")
    if owner.size == 0:
        return None
    dim = vectors.shape[1]
    matrix = np.empty((owner.size, dim), dtype=np.float32)
    starts = offsets[owner] + first  # first unit of every window (global row); passage by passage
    blocks = [(a, min(owner.size, a + _WINDOW_BLOCK)) for a in range(0, owner.size, _WINDOW_BLOCK)]
    spans = [(int(starts[a:b].min()), int((starts[a:b] + length[a:b]).max())) for a, b in blocks]
    most = int(length.max())
    if most > 3:
        raise ValueError(f"sentence windows of {most} sentences (at most 3 supported)")
    # One scratch buffer for every block (fresh large arrays per block cost page faults) holding, for the
    # block's units u: u[i], then u[i] + u[i+1], then (u[i] + u[i+1]) + u[i+2] -- the sums in the order
    # ndarray.sum(axis=0) adds rows -- so every window is one row of it.
    width = max(high - low for low, high in spans)
    sums = np.empty((3 * width, dim), dtype=np.float32)
    for (a, b), (low, high) in zip(blocks, spans):
        n = high - low
        ones, twos, threes = sums[:n], sums[n : 2 * n - 1], sums[2 * n - 1 : 3 * n - 3]
        np.copyto(ones, vectors[low:high])  # float16 -> float32, exact
        np.add(ones[:-1], ones[1:], out=twos)
        np.add(twos[:-1], ones[2:], out=threes)
        where = (starts[a:b] - low) + np.array([0, 0, n, 2 * n - 1])[length[a:b]]
        rows = matrix[a:b]
        np.take(sums, where, axis=0, out=rows, mode="clip")  # indices are in range; "clip" avoids a buffered copy
        rows /= norms[a:b, None]
    return matrix, [ids[k] for k in owner.tolist()]


def lexical_text(text: str, meta: dict[str, Any]) -> str:
    """What BM25 indexes for a stored passage: its context (title, heading path, case metadata) and text."""
    return f"{passage_context(meta['title'], meta['section'], meta['kind'], meta)}\n\n{text}"


_LANGCHAIN_CLASS: type | None = None


def _langchain_class() -> type:
    """Defined on first use: importing langchain_core takes seconds, which `assistant --help` should not pay."""
    global _LANGCHAIN_CLASS
    if _LANGCHAIN_CLASS is None:
        from langchain_core.documents import Document as LCDocument
        from langchain_core.retrievers import BaseRetriever

        class WegwijzerRetriever(BaseRetriever):
            """LangChain retriever over the hybrid search: `Document`s with the chunk metadata."""

            index: Any  # assistant.pipeline.Index (anything with .retrieve(question, k, filters, history, mode))
            k: int = 5
            filters: Filters | None = None
            history: list[str] = []
            mode: str = "hybrid"

            def _get_relevant_documents(self, query: str, *, run_manager=None) -> list[LCDocument]:
                retrieval = self.index.retrieve(query, self.k, self.filters, self.history, self.mode)
                return [
                    LCDocument(page_content=h.text, id=h.chunk_id,
                               metadata={**h.meta, "chunk_id": h.chunk_id, "score": h.score})
                    for h in retrieval.hits
                ]

        _LANGCHAIN_CLASS = WegwijzerRetriever
    return _LANGCHAIN_CLASS


def langchain_retriever(index, k: int = 5, filters: Filters | None = None, history: Sequence[str] = (),
                        mode: Mode = "hybrid"):
    """A LangChain `BaseRetriever` over `index` (use `.invoke(question)`)."""
    if k <= 0:
        raise ValueError(f"k must be greater than 0. Currently it is {k}.")
    return _langchain_class()(index=index, k=k, filters=filters, history=list(history), mode=mode)
