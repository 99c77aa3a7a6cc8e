"""Generated answers (optional): any LangChain chat model answers from the same numbered passages,
with prompts from prompts/; its citations are checked afterwards: numbers that were not given are
dropped, sentences without one are flagged, and an answer citing nothing falls back to the
extractive answer (the caller's choice).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

from assistant.answer import CANNOT_ANSWER, refusal
from assistant.models import Answer, Citation, Hit
from assistant.retrieve import LexicalIndex
from assistant.text import sentence_spans

_CITATION = re.compile(r"\[(\d+)\]")

PROMPTS_DIR = Path(__file__).resolve().parent.parent / "prompts"


def load_prompt(name: str, prompts_dir: Path | None = None) -> str:
    """A prompt template from prompts/ (the packaged copy when not in a checkout)."""
    for folder in (prompts_dir, PROMPTS_DIR, Path(__file__).resolve().parent / "prompts"):
        if folder is not None and (folder / name).is_file():
            return (folder / name).read_text(encoding="utf-8")
    from assistant.errors import ConfigError

    raise ConfigError(f"Prompt file {name} not found in {prompts_dir or PROMPTS_DIR}; restore it from the repository.")


def make_chat_model(spec: str, base_url: str | None = None, timeout: float = 60.0):
    """A LangChain chat model for `ollama:<model>` or `openai:<model>` (imported only when configured)."""
    from assistant.errors import ConfigError

    provider, _, model = spec.partition(":")
    try:
        if provider == "ollama":
            from langchain_ollama import ChatOllama

            kwargs = {"base_url": base_url} if base_url else {}
            return ChatOllama(model=model, temperature=0, client_kwargs={"timeout": timeout}, **kwargs)
        if provider == "openai":
            from langchain_openai import ChatOpenAI

            kwargs = {"base_url": base_url} if base_url else {}
            # Local OpenAI-compatible servers (vLLM, llama.cpp, LM Studio) take any key.
            api_key = os.environ.get("OPENAI_API_KEY") or "not-set"
            return ChatOpenAI(model=model, temperature=0, timeout=timeout, max_retries=0, streaming=True,
                              api_key=api_key, **kwargs)
    except ImportError as e:
        raise ConfigError(
            f"ASSISTANT_LLM={spec} needs the LangChain integration for {provider}; install it with "
            "`pip install 'wegwijzer-sociale-innovatie[llm]'` or unset ASSISTANT_LLM for extractive answers."
        ) from e
    raise ConfigError(f"ASSISTANT_LLM must be 'ollama:<model>' or 'openai:<model>'. Currently it is {spec!r}.")


def numbered_passages(hits: Sequence[Hit]) -> str:
    """The passages as the model sees them: [n] title — heading path, then the text."""
    blocks = []
    for n, hit in enumerate(hits, 1):
        where = f"{hit.title} — {hit.section}" if hit.section else hit.title
        blocks.append(f"[{n}] {where}\n{hit.text.strip()}")
    return "\n\n".join(blocks)


def chat_messages(question: str, hits: Sequence[Hit], language: str, prompts_dir: Path | None = None) -> list[tuple[str, str]]:
    system = load_prompt("system.md", prompts_dir).format(cannot_answer=CANNOT_ANSWER[language])
    user = load_prompt("answer.md", prompts_dir).format(passages=numbered_passages(hits), question=question)
    return [("system", system), ("human", user)]


@dataclass
class CheckedAnswer:
    text: str
    cited: list[int]  # valid citation numbers in order of first use
    dropped: list[int]  # numbers that were not given to the model
    uncited_sentences: list[str] = field(default_factory=list)


def check_citations(text: str, given: int) -> CheckedAnswer:
    """Drop [n] outside 1..given, list the valid ones, and flag sentences that cite nothing."""
    dropped: list[int] = []

    def keep(m: re.Match) -> str:
        n = int(m.group(1))
        if 1 <= n <= given:
            return m.group(0)
        dropped.append(n)
        return ""

    cleaned = re.sub(r" ?" + _CITATION.pattern, keep, text).strip()
    cited = list(dict.fromkeys(int(n) for n in _CITATION.findall(cleaned)))
    # "… teams. [2]" cites the sentence before the marker: move markers in front of the full stop.
    probe = re.sub(r"([.!?…])((?:\s*\[\d+\])+)", lambda m: m.group(2) + m.group(1), cleaned)
    uncited = []
    for start, end in sentence_spans(probe):
        sentence = probe[start:end]
        if not _CITATION.search(sentence) and not sentence.endswith(":"):
            uncited.append(sentence)
    return CheckedAnswer(cleaned, cited, dropped, uncited)


def highlight_for(hit: Hit, answer_text: str, lexical: LexicalIndex) -> list[tuple[int, int]]:
    """The passage sentence closest in words to the generated answer (what an advisor checks first)."""
    answer_tokens = frozenset(lexical.tokenizer(answer_text))
    best, best_overlap = None, 0
    for span in sentence_spans(hit.text):
        overlap = len(answer_tokens & frozenset(lexical.tokenizer(hit.text[span[0] : span[1]])))
        if overlap > best_overlap:
            best, best_overlap = span, overlap
    return [best] if best else []


def generate(
    model, question: str, hits: Sequence[Hit], language: str, lexical: LexicalIndex,
    on_token: Callable[[str], None] | None = None, prompts_dir: Path | None = None,
) -> tuple[Answer | None, CheckedAnswer]:
    """Stream the model's answer, then check it. Returns (None, check) when it cites nothing usable."""
    parts: list[str] = []
    for chunk in model.stream(chat_messages(question, hits, language, prompts_dir)):
        token = chunk.content if isinstance(chunk.content, str) else "".join(
            p.get("text", "") for p in chunk.content if isinstance(p, dict))
        if token:
            parts.append(token)
            if on_token:
                on_token(token)
    checked = check_citations("".join(parts), len(hits))
    refused = checked.text.strip().startswith(CANNOT_ANSWER[language][:40])
    if refused:
        return refusal(language, reason="model"), checked
    if not checked.cited:
        return None, checked
    citations = []
    for n in checked.cited:
        citation = Citation.from_hit(n, hits[n - 1])
        citation.spans.extend(highlight_for(hits[n - 1], checked.text, lexical))
        citations.append(citation)
    answer = Answer(text=checked.text, citations=citations, cases=[], refused=False, mode="generative",
                    language=language, uncited_sentences=checked.uncited_sentences)
    return answer, checked
