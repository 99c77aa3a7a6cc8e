"""HTML and Markdown for the app: answers, source cards, the document viewer, Markdown export.

Pure functions of their inputs. Every piece of corpus or user text goes through `html.escape`
before it is placed in HTML, so a passage containing `<script>` shows as text.
"""

from __future__ import annotations

import html
import re
from typing import Iterable, Sequence

from assistant.answer import employees_label
from assistant.chunking import HEADING
from assistant.excerpts import source_label
from assistant.models import Answer, CaseRef, Citation, Document
from assistant.themes import PlacedPoint, Theme

LABELS = {
    "nl": {"sources": "Bronnen", "cases": "Praktijkvoorbeelden", "no_sources": "Nog geen bronnen: stel een vraag."},
    "en": {"sources": "Sources", "cases": "Practice cases", "no_sources": "No sources yet: ask a question."},
}


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def highlight(text: str, spans: Iterable[tuple[int, int]], mark_id: str | None = None) -> str:
    """Escaped text with the given character spans wrapped in <mark> (overlaps merged)."""
    merged: list[list[int]] = []
    for start, end in sorted((max(0, s), min(len(text), e)) for s, e in spans if e > s):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    out, pos = [], 0
    for i, (start, end) in enumerate(merged):
        out.append(_e(text[pos:start]))
        attr = f' id="{_e(mark_id)}"' if mark_id and i == 0 else ""
        out.append(f"<mark{attr}>{_e(text[start:end])}</mark>")
        pos = end
    out.append(_e(text[pos:]))
    return "".join(out)


def _paragraphs(escaped: str) -> str:
    return escaped.replace("\n\n", "<br><br>").replace("\n", "<br>")


# Markdown that would make text live in the chat (links, images, autolinks, reference definitions),
# neutralised with HTML entities the renderer shows as the plain character. Our citation markers
# "[n]" stay as they are; brackets of any other shape cannot start a link.
_MD_LIVE = [
    (re.compile(r"!(?=\[)"), "&#33;"),
    (re.compile(r"\[(?!\d{1,3}\](?![(\[:]))"), "&#91;"),
    (re.compile(r"(?<!\[\d)(?<!\[\d\d)(?<!\[\d\d\d)\]"), "&#93;"),
    (re.compile(r"\](?=[(\[:])"), "&#93;"),
    (re.compile(r":(?=//)"), "&#58;"),
    (re.compile(r"(?i)\bwww\."), lambda m: m.group(0)[:-1] + "&#46;"),
    (re.compile(r"@"), "&#64;"),
]


def safe_markdown(text: object) -> str:
    """Corpus, user or model text for a Markdown component: HTML escaped, and no Markdown construct
    that loads or links anything outside (`![x](http://…)`, `[t](http://…)`, bare URLs, e-mail
    addresses) stays live. Emphasis and lists still render."""
    out = _e(text)
    for pattern, replacement in _MD_LIVE:
        out = pattern.sub(replacement, out)
    return out


def answer_markdown(answer: Answer) -> str:
    """The chat message: notices in italics, then the answer. Escaped: the chat renders Markdown."""
    lines = [f"*{safe_markdown(n)}*" for n in answer.notices]
    lines.append(safe_markdown(answer.text))
    return "\n\n".join(lines)


def citation_card(c: Citation, language: str = "nl") -> str:
    where = _e(c.title) + (f" › {_e(c.section)}" if c.section else "")
    body = _paragraphs(highlight(c.text, c.spans))
    return (f'<div class="ww-card" data-chunk="{_e(c.chunk_id)}"><div class="ww-card-head">[{c.n}] {where}</div>'
            f'<div class="ww-card-kind">{_e(c.kind)}</div><div class="ww-card-text">{body}</div></div>')


def case_card(case: CaseRef, language: str = "nl") -> str:
    size = employees_label(case.employees, case.size_class, language) if case.employees else case.size_class
    facts = ", ".join(_e(x) for x in (case.sector, size) if x)
    themes = ", ".join(_e(t) for t in case.themes)
    return (f'<div class="ww-card ww-case"><div class="ww-card-head">{_e(case.organisation)} [{case.citation}]</div>'
            f'<div class="ww-card-kind">{facts}</div><div class="ww-card-text">{themes}</div></div>')


def sources_panel(answer: Answer | None) -> str:
    """One card per citation, with the used sentences highlighted, then the practice cases."""
    language = answer.language if answer else "nl"
    words = LABELS[language]
    if answer is None or not answer.citations:
        return f'<div class="ww-sources ww-empty">{_e(words["no_sources"])}</div>'
    cards = [f'<h3>{_e(words["sources"])}</h3>'] + [citation_card(c, language) for c in answer.citations]
    if answer.cases:
        cards += [f'<h3>{_e(words["cases"])}</h3>'] + [case_card(c, language) for c in answer.cases]
    return '<div class="ww-sources">' + "".join(cards) + "</div>"


def citation_choices(answer: Answer | None) -> list[tuple[str, str]]:
    """(label, chunk id) pairs for the "Open in document" selector."""
    if answer is None:
        return []
    return [(f"[{c.n}] {c.title}" + (f" › {c.section}" if c.section else ""), c.chunk_id) for c in answer.citations]


def outline(doc: Document) -> list[tuple[int, str]]:
    """(level, heading) for every heading of a document, in order."""
    return [(len(m.group(1)), m.group(2).strip()) for m in HEADING.finditer(doc.text)]


def document_html(doc: Document, start: int | None = None, end: int | None = None,
                  spans: Sequence[tuple[int, int]] = ()) -> str:
    """A whole cleaned document: title, heading outline, then the text with headings as headings.

    The passage [start, end) is highlighted (the used sentences within it, `spans` relative to the
    passage, more strongly) and carries id="ww-selected" so the viewer can scroll it into view.
    """
    text = doc.text
    marks: list[tuple[int, int]] = []
    if start is not None and end is not None:
        marks = [(start + s, start + e) for s, e in spans] or [(start, end)]
    parts = [f'<div class="ww-doc"><h2>{_e(doc.title)}</h2>']
    heads = outline(doc)
    if heads:
        items = "".join(f'<li class="ww-l{level}">{_e(title)}</li>' for level, title in heads)
        parts.append(f'<details open class="ww-outline"><summary>Inhoud</summary><ul>{items}</ul></details>')
    pos = 0
    body = []
    for m in HEADING.finditer(text):
        body.append(_doc_slice(text, pos, m.start(), start, end, marks))
        level = min(6, len(m.group(1)) + 1)
        body.append(f"<h{level}>{_e(m.group(2).strip())}</h{level}>")
        pos = m.end()
    body.append(_doc_slice(text, pos, len(text), start, end, marks))
    parts.append('<div class="ww-doc-text">' + "".join(body) + "</div></div>")
    return "".join(parts)


def _doc_slice(text: str, a: int, b: int, start: int | None, end: int | None, marks) -> str:
    """Escaped text[a:b]; the selected passage inside it wrapped in a span, used sentences in <mark>."""
    if start is None or end is None or end <= a or start >= b:
        return _paragraphs(_e(text[a:b]))
    s, e = max(a, start), min(b, end)
    inner_marks = [(max(ms, s) - s, min(me, e) - s) for ms, me in marks if me > s and ms < e]
    selected = highlight(text[s:e], inner_marks)
    return (_paragraphs(_e(text[a:s])) + f'<span id="ww-selected" class="ww-selected">{_paragraphs(selected)}</span>'
            + _paragraphs(_e(text[e:b])))


def export_markdown(question: str, answer: Answer) -> str:
    """The answer with its sources as Markdown footnotes, for an advisor's report."""
    body = re.sub(r"\[(\d+)\]", r"[^\1]", answer.text)
    lines = [f"**Vraag:** {question}" if answer.language == "nl" else f"**Question:** {question}", "", body, ""]
    for c in answer.citations:
        where = f"{c.title}" + (f", {c.section}" if c.section else "")
        used = " … ".join(c.text[s:e] for s, e in c.spans) or c.text
        lines.append(f"[^{c.n}]: {where}: “{' '.join(used.split())}”")
    return "\n".join(lines)



def theme_html(theme: Theme, placed: Sequence[PlacedPoint], documents: dict[str, Document],
               related: Sequence[Theme] = ()) -> str:
    """A theme as a booklet page: our summary (marked as ours), then each point: our lead and the verbatim
    quote on a source card (document, year, section), with its practice case when it names one."""
    parts = [f'<div class="ww-theme" data-theme="{_e(theme.id)}"><h2>{_e(theme.title)}</h2>',
             '<div class="ww-card ww-theme-summary"><div class="ww-card-kind">Samenvatting — door ons geschreven, '
             f'geen citaat</div><div>{_e(theme.summary)}</div></div><ol class="ww-theme-points">']
    for i, p in enumerate(placed, 1):
        label = source_label(p.hit, p.point.quote, "nl")
        where = _e(label) + (f" › {_e(p.hit.section)}" if p.hit.section else "")
        case = documents.get(p.point.case_id or "")
        example = ""
        if case is not None:
            organisation = case.meta.get("organisation") or case.title
            example = f'<div class="ww-card-kind">Praktijkvoorbeeld: {_e(organisation)} ({_e(case.title)})</div>'
        parts.append(
            f'<li class="ww-theme-point" data-chunk="{_e(p.hit.chunk_id)}"><div class="ww-point-lead">{_e(p.point.lead)}</div>'
            f'<div class="ww-card"><div class="ww-card-head">{where}</div>'
            f'<blockquote class="ww-quote">{_e(" ".join(p.point.quote.split()))}</blockquote>{example}</div></li>')
    parts.append("</ol>")
    if related:
        parts.append("<p><strong>Zie ook:</strong> " + ", ".join(f"‘{_e(t.title)}’" for t in related) + "</p>")
    parts.append('<p class="ww-card-kind">Titel, samenvatting en kopjes zijn door ons geschreven. Elk citaat staat '
                 "letterlijk in de genoemde bron; dat wordt bij elke indexering gecontroleerd. Kies hieronder een "
                 "citaat om het in het document te openen.</p></div>")
    return "".join(parts)
