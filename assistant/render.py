"""HTML and Markdown for the app: answers, source cards, the document viewer, Markdown export.

Pure functions of their inputs. Every piece of corpus or user text goes through `html.escape`
before it is placed in HTML, so a passage containing `<script>` shows as text.
"""

from __future__ import annotations

import html
import re
from datetime import datetime, timezone
from zoneinfo import ZoneInfo
from typing import Iterable, Sequence

from assistant.answer import employees_label
from assistant.chunking import HEADING, find_section
from assistant.excerpts import source_label, year_of
from assistant.text import MARKDOWN_ESCAPE
from assistant.models import Answer, CaseRef, Citation, Document, Hit
from assistant.themes import PlacedPoint, Theme

def escape(text: object) -> str:
    """Any text for HTML: `<`, `>`, `&` and quotes escaped. Every corpus or user text goes through it."""
    return html.escape(str(text), quote=True)


_e = escape

KIND_LABELS = {
    "nl": {"advies": "advies", "rapport": "rapport", "artikel": "artikel", "opinie": "opinie",
           "case": "praktijkvoorbeeld", "overig": "document"},
    "en": {"advies": "advisory report", "rapport": "report", "artikel": "article", "opinie": "opinion",
           "case": "practice case", "overig": "document"},
}
WORDS = {
    "nl": {"sources": "Bronnen", "cases": "Praktijkvoorbeelden", "no_sources": "Nog geen bronnen: stel een vraag.",
           "open": "Open in document", "open_report": "Open het verslag in het rapport", "told_in": "Beschreven in",
           "published": "gepubliceerd", "publisher": "uitgever", "author": "auteur", "address": "adres",
           "contents": "Inhoud", "here": "hier staat de passage", "before": "… eerder in de passage",
           "refused": "Geen bronnen bij dit antwoord: de bronnen gaan niet over deze vraag.",
           "none_cited": "Dit antwoord citeert geen bronnen."},
    "en": {"sources": "Sources", "cases": "Practice cases", "no_sources": "No sources yet: ask a question.",
           "open": "Open in document", "open_report": "Open the account in the report", "told_in": "Described in",
           "published": "published", "publisher": "publisher", "author": "author", "address": "address",
           "contents": "Contents", "here": "the passage is here", "before": "… earlier in the passage",
           "refused": "No sources for this answer: the sources do not cover this question.",
           "none_cited": "This answer cites no sources."},
}


def document_year(doc: Document | None) -> str:
    """The year a document was published, from its front matter date ("2023-03" -> "2023"), or ""."""
    return year_of(doc.meta) if doc else ""


# Inline Markdown of corpus text, as a reader should see it: emphasis rendered, links and images reduced
# to their words (never live), heading marks dropped. Positions refer to the raw text, so highlights
# computed on the raw passage stay where they were.
_MD_IMAGE = re.compile(r"!\[([^\]\n]*)\]\([^)\n]*\)")
_MD_LINK = re.compile(r"\[([^\]\n]*)\]\([^)\n]*\)")
_MD_STRONG = re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*", re.S)
# Underscores only after white space and on one line: "window.__init__" or "a__b" stay as they are.
_MD_STRONG_UNDERSCORE = re.compile(r"(?:(?<=\s)|^)__(?=\S)([^\n]{1,200}?)(?<=\S)__(?!\w)", re.M)
_MD_EM = re.compile(r"(?<![*\w])\*(?=[^\s*])(.+?)(?<=[^\s*])\*(?![*\w])", re.S)
_MD_HEADING = re.compile(r"^[ \t]*(#{1,6})[ \t]+", re.M)


def merged_spans(spans: Iterable[tuple[int, int]], length: int) -> list[list[int]]:
    """Character spans cut to [0, length), sorted, overlapping and touching ones merged."""
    merged: list[list[int]] = []
    for start, end in sorted((max(0, s), min(length, e)) for s, e in spans if e > s):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return merged


def markdown_html(text: str, marks: Iterable[tuple[int, int]] = (), mark_id: str | None = None) -> str:
    """Corpus Markdown as safe HTML: **bold** and *italic* rendered, `[words](url)` and `![alt](url)` shown
    as their words only (nothing links or loads anything), every character escaped. `marks` are spans of
    the raw text to wrap in <mark> (the first one gets `mark_id`)."""
    hidden = bytearray(len(text))
    layers: list[tuple[int, int, str]] = []

    def hide(a: int, b: int) -> None:
        hidden[a:b] = b"\x01" * (b - a)

    for pattern in (_MD_IMAGE, _MD_LINK):
        for m in pattern.finditer(text):
            if not any(hidden[m.start():m.end()]):
                hide(m.start(), m.start(1))
                hide(m.end(1), m.end())
    for m in _MD_HEADING.finditer(text):
        hide(m.start(), m.end())
    for m in MARKDOWN_ESCAPE.finditer(text):  # "\\*" is a literal star: the backslash is not shown
        if not hidden[m.start()]:
            hide(m.start(), m.start() + 1)
    for pattern, tag, group in ((_MD_STRONG, "strong", 1), (_MD_STRONG_UNDERSCORE, "strong", 1), (_MD_EM, "em", 1)):
        for m in pattern.finditer(text):
            a, b = m.start(group), m.end(group)
            if any(hidden[m.start():a]) or any(hidden[b:m.end()]):
                continue
            hide(m.start(), a)
            hide(b, m.end())
            layers.append((a, b, tag))
    layers += [(a, b, "mark") for a, b in merged_spans(marks, len(text))]
    cuts = sorted({0, len(text), *(x for a, b, _ in layers for x in (a, b)),
                   *(i for i in range(1, len(text)) if hidden[i] != hidden[i - 1])})
    out, marked = [], False
    order = {"strong": 0, "em": 1, "mark": 2}
    for a, b in zip(cuts, cuts[1:]):
        if hidden[a]:
            continue
        piece = _paragraphs(_e(text[a:b]))
        for _, _, tag in sorted((layer for layer in layers if layer[0] <= a and b <= layer[1]),
                                key=lambda layer: -order[layer[2]]):
            attr = ""
            if tag == "mark" and mark_id and not marked:
                attr, marked = f' id="{_e(mark_id)}"', True
            piece = f"<{tag}{attr}>{piece}</{tag}>"
        out.append(piece)
    return "".join(out)


def highlight(text: str, spans: Iterable[tuple[int, int]], mark_id: str | None = None) -> str:
    """Escaped text with the given character spans wrapped in <mark> (overlaps merged)."""
    merged = merged_spans(spans, len(text))
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


def open_button(target: str, label: str) -> str:
    """A card's own "open in document" action: the app's script sends `target` ("chunk:<id>" or
    "span:<doc id>:<start>:<end>") to the server, which opens that passage in the document viewer."""
    return f'<button type="button" class="ww-open" data-open="{_e(target)}">{_e(label)}</button>'


def _doc_facts(doc: Document | None, kind: str, language: str) -> str:
    """"rapport · 2018 · a-advies en Erasmus …": what kind of text a source is and when it appeared."""
    facts = [KIND_LABELS[language].get(kind, kind)]
    if doc is not None:
        facts += [document_year(doc), str(doc.meta.get("publisher") or doc.meta.get("author") or "")]
    return " · ".join(_e(f) for f in facts if f)


def _case_facts(meta: dict, language: str) -> str:
    """"metaal & techniek · 65 medewerkers · Rotterdam": a case's sector, size (when known) and place."""
    size = employees_label(meta.get("employees"), meta.get("size_class"), language)
    place = meta.get("region") or meta.get("country") or ""
    return " · ".join(_e(f) for f in (meta.get("sector"), size, place) if f)


def citation_card(c: Citation, language: str = "nl", documents: dict[str, Document] | None = None) -> str:
    """A numbered source: where it is (title › section), what kind of text and from when, the passage with
    the used sentences highlighted, and its own "open in document" action. A practice case also names
    its company and offers the section of the report it was taken from."""
    words = WORDS[language]
    documents = documents or {}
    doc = documents.get(c.doc_id)
    head = _e(c.title) + (f" › {_e(c.section)}" if c.section else "")
    actions = [open_button(f"chunk:{c.chunk_id}", words["open"])]
    kind_line = _doc_facts(doc, c.kind, language)
    extra = ""
    if c.kind == "case" and doc is not None:
        kind_line = " · ".join(x for x in (_e(KIND_LABELS[language]["case"]), _case_facts(doc.meta, language)) if x)
        source = documents.get(str(doc.meta.get("source_doc") or ""))
        section = str(doc.meta.get("source_section") or "")
        if source is not None:
            year = document_year(source)
            extra = (f'<div class="ww-card-kind">{_e(words["told_in"])}: {_e(source.title)}'
                     f'{f" ({year})" if year else ""}{f" › {_e(section)}" if section else ""}</div>')
            found = find_section(source.text, section) if section else None
            if found is not None:
                actions.append(open_button(f"span:{source.id}:{found.start}:{found.end}", words["open_report"]))
    classes = "ww-card ww-case" if c.kind == "case" else "ww-card"
    return (f'<div class="{classes}" data-chunk="{_e(c.chunk_id)}"><div class="ww-card-head">[{c.n}] {head}</div>'
            f'<div class="ww-card-kind">{kind_line}</div>'
            f'<div class="ww-card-text">{_card_text(c.text, c.spans, words)}</div>{extra}'
            f'<div class="ww-card-actions">{"".join(actions)}</div></div>')


CARD_LEAD_CHARS = 300  # text before the first quoted sentence shown openly; more folds away


def _card_text(text: str, spans: Sequence[tuple[int, int]], words: dict) -> str:
    """A card's passage with the quoted sentences marked. When the first quoted sentence comes late in a
    long passage, the text before it is folded ("eerder in de passage"), so the quote is what one sees."""
    first = min((s for s, e in spans if e > s), default=0)
    if first <= CARD_LEAD_CHARS:
        return markdown_html(text, spans)
    cut = text.rfind("\n", 0, first)  # fold at the paragraph, else the sentence, before the quote
    if cut <= 0:
        sentence_end = text.rfind(". ", 0, first)
        cut = sentence_end + 2 if sentence_end > 0 else first
    later = [(s - cut, e - cut) for s, e in spans]
    return (f'<details class="ww-before"><summary>{_e(words["before"])}</summary>{markdown_html(text[:cut])}</details>'
            + markdown_html(text[cut:], later))


def case_card(case: CaseRef, language: str = "nl") -> str:
    """A practice case named by an answer whose passage is not among its citations (kept for callers)."""
    facts = _case_facts({"sector": case.sector, "employees": case.employees, "size_class": case.size_class}, language)
    themes = ", ".join(_e(t) for t in case.themes)
    return (f'<div class="ww-card ww-case"><div class="ww-card-head">{_e(case.organisation)} [{case.citation}]</div>'
            f'<div class="ww-card-kind">{facts}</div><div class="ww-card-text">{themes}</div></div>')


def sources_panel(answer: Answer | None, documents: dict[str, Document] | None = None, heading: bool = True) -> str:
    """One card per citation, with the used sentences highlighted: the documents, then the practice cases.
    Each source appears once: a case the answer names is the card of its cited passage. `heading`: the
    "Bronnen" title above the documents (left out where the caller titles the panel itself)."""
    language = answer.language if answer else "nl"
    words = WORDS[language]
    if answer is None:
        return f'<div class="ww-sources ww-empty">{_e(words["no_sources"])}</div>'
    if not answer.citations:
        text = words["refused"] if answer.refused else words["none_cited"]
        return f'<div class="ww-sources ww-empty">{_e(text)}</div>'
    texts = [c for c in answer.citations if c.kind != "case"]
    cases = [c for c in answer.citations if c.kind == "case"]
    cards = []
    if texts:
        cards += [f'<h3>{_e(words["sources"])}</h3>'] * heading + [citation_card(c, language, documents) for c in texts]
    if cases:
        cards += [f'<h3>{_e(words["cases"])}</h3>'] + [citation_card(c, language, documents) for c in cases]
    cited = {c.n for c in answer.citations}
    cards += [case_card(c, language) for c in answer.cases if c.citation not in cited]
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
                  spans: Sequence[tuple[int, int]] = (), language: str = "nl") -> str:
    """A whole cleaned document: title; kind, date, publisher and address (as text, never a link); a
    clickable outline that marks the section holding the selected passage; then the text with headings
    as headings (they stay in view while their section scrolls).

    The passage [start, end) is highlighted (the used sentences within it, `spans` relative to the
    passage, more strongly) and carries id="ww-selected" so the viewer can scroll it into view.
    """
    words = WORDS[language]
    text = doc.text
    marks: list[tuple[int, int]] = []
    if start is not None and end is not None:
        marks = [(start + s, start + e) for s, e in spans] or [(start, end)]
    facts = [KIND_LABELS[language].get(doc.kind, doc.kind)]
    date = str(doc.meta.get("date") or "").strip("'")
    if date:
        facts.append(f"{words['published']} {date}")
    for key in ("publisher", "author"):
        if doc.meta.get(key):
            facts.append(f"{words[key]}: {doc.meta[key]}")
    parts = [f'<div class="ww-doc"><h2>{_e(doc.title)}</h2><div class="ww-doc-meta">{" · ".join(_e(f) for f in facts)}']
    if doc.meta.get("url"):  # an address to copy, not a link: corpus text never links anywhere
        parts.append(f'<br>{_e(words["address"])}: <span class="ww-url">{safe_markdown(doc.meta["url"])}</span>')
    parts.append("</div>")
    heads = list(HEADING.finditer(text))
    here = None
    if start is not None:
        here = max((i for i, m in enumerate(heads) if m.start() <= start), default=None)
    if heads:
        items = []
        for i, m in enumerate(heads):
            current = i == here
            mark = f' <span class="ww-here-label">← {_e(words["here"])}</span>' if current else ""
            items.append(f'<li class="ww-l{len(m.group(1))}{" ww-here" if current else ""}">'
                         f'<a href="#ww-h-{i}" data-heading="ww-h-{i}">{_e(m.group(2).strip())}</a>{mark}</li>')
        # Open when reading a document from its start; folded (naming the passage's section) when a
        # passage was opened, so the passage is what one sees first.
        summary = words["contents"] + (f" — {words['here']}: {heads[here].group(2).strip()}" if here is not None else "")
        state = "" if start is not None else " open"
        parts.append(f'<details{state} class="ww-outline"><summary>{_e(summary)}</summary>'
                     f'<ul>{"".join(items)}</ul></details>')
    # Each heading with its text in a section of its own: a heading stays in view while its section
    # scrolls, and the next section's heading takes its place (they never pile up).
    body = [_doc_slice(text, 0, heads[0].start() if heads else len(text), start, end, marks)]
    for i, m in enumerate(heads):
        level = min(6, len(m.group(1)) + 1)
        until = heads[i + 1].start() if i + 1 < len(heads) else len(text)
        body.append(f'<section class="ww-doc-section"><h{level} id="ww-h-{i}" class="ww-doc-heading">'
                    f'{_e(m.group(2).strip())}</h{level}>{_doc_slice(text, m.end(), until, start, end, marks)}</section>')
    parts.append('<div class="ww-doc-text">' + "".join(body) + "</div></div>")
    return "".join(parts)


def _doc_slice(text: str, a: int, b: int, start: int | None, end: int | None, marks) -> str:
    """text[a:b] as safe HTML; the selected passage inside it wrapped in a span, used sentences in <mark>."""
    if start is None or end is None or end <= a or start >= b:
        return markdown_html(text[a:b])
    s, e = max(a, start), min(b, end)
    inner_marks = [(max(ms, s) - s, min(me, e) - s) for ms, me in marks if me > s and ms < e]
    return (markdown_html(text[a:s]) + f'<span id="ww-selected" class="ww-selected">{markdown_html(text[s:e], inner_marks)}'
            "</span>" + markdown_html(text[e:b]))


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
            f'<blockquote class="ww-quote">{markdown_html(" ".join(p.point.quote.split()))}</blockquote>{example}'
            f'<div class="ww-card-actions">{open_button(f"point:{theme.id}:{i}", WORDS["nl"]["open"])}</div></div></li>')
    parts.append("</ol>")
    if related:
        parts.append('<p class="ww-card-actions"><strong>Zie ook:</strong> ' + " ".join(
            open_button(f"theme:{t.id}", t.title) for t in related) + "</p>")
    parts.append('<p class="ww-card-kind">Titel, samenvatting en kopjes zijn door ons geschreven. Elk citaat staat '
                 "letterlijk in de genoemde bron; dat wordt bij elke indexering gecontroleerd. Met ‘Open in document’ "
                 "lees je het citaat in zijn bron.</p></div>")
    return "".join(parts)


PLACEHOLDERS = {
    "theme": ("ww-theme", "Kies een thema."),
    "document": ("ww-doc", "Kies een document."),
    "cases": ("ww-empty", "Geen praktijkvoorbeelden met deze keuzes."),
}


def placeholder(kind: str) -> str:
    """What a panel shows before there is anything to show (PLACEHOLDERS)."""
    css, text = PLACEHOLDERS[kind]
    return f'<div class="{css}">{_e(text)}</div>'


def plan_sources_html(parts: Sequence[tuple[str, Answer]], documents: dict[str, Document]) -> str:
    """The sources of each part of the intake's plan, under "Bronnen bij <part>"."""
    return "".join(f"<h3>Bronnen bij {_e(label)}</h3>" + sources_panel(answer, documents, heading=False)
                   for label, answer in parts)


def case_list_html(rows: Sequence[dict], heading: str) -> str:
    """Practice cases (rows of `list_cases`) as cards: organisation, facts, what they did, where it is told."""
    if not rows:
        return ""
    return f"<h3>{_e(heading)}</h3>" + "".join(case_html(r, short=True) for r in rows)


def case_html(row: dict, short: bool = False) -> str:
    """One practice case (a `list_cases` row): our summary of the company, its themes, and the report section
    it comes from with an action that opens that section."""
    source = row.get("source") or {}
    themes = ", ".join(row.get("themes") or [])
    body = row.get("did") if short else row.get("text")
    actions = []
    if source.get("doc_id") and source.get("end"):
        actions.append(open_button(f"span:{source['doc_id']}:{source['start']}:{source['end']}",
                                   WORDS["nl"]["open_report"]))
    where = (f'{_e(WORDS["nl"]["told_in"])}: {_e(source.get("title", ""))}'
             + (f" › {_e(source['section'])}" if source.get("section") else "")) if source else ""
    return (f'<div class="ww-card ww-case" data-case="{_e(row.get("id", ""))}">'
            f'<div class="ww-card-head">{_e(row.get("title", ""))}</div>'
            f'<div class="ww-card-kind">{_e(KIND_LABELS["nl"]["case"])} · {_case_facts(row, "nl")}'
            f'{f" · {_e(themes)}" if themes else ""}</div>'
            f'<div class="ww-card-text">{markdown_html(str(body or ""))}</div>'
            f'<div class="ww-card-kind">{where}</div><div class="ww-card-actions">{"".join(actions)}</div></div>')


_QUERY_WORD = re.compile(r"\w{3,}")


def query_spans(text: str, query: str) -> list[tuple[int, int]]:
    """Where the words of a search query occur in a text (whole words and words starting with them, any
    case), for highlighting; words of fewer than 3 letters and function words are left out."""
    from assistant.text import stopwords

    stop = stopwords()
    # Long words by their stem-like start, so "lassers" also marks "lasser" and "opleiden" "opleiding".
    words = {w if len(w) < 6 else w[:-2] for w in (w.lower() for w in _QUERY_WORD.findall(query)) if w not in stop}
    if not words:
        return []
    pattern = re.compile(r"\b(?:" + "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True)) + r")\w*",
                         re.I)
    return [m.span() for m in pattern.finditer(text)]


def relevance_label(score: float, best: float) -> str:
    """How well a result matches compared with the best result of the same search (fusion scores
    themselves mean nothing to a reader)."""
    ratio = score / best if best > 0 else 0.0
    if ratio >= 0.9:
        return "sterke treffer"
    if ratio >= 0.7:
        return "goede treffer"
    return "zwakkere treffer"


def _snippet(text: str, spans: Sequence[tuple[int, int]], width: int = 320) -> tuple[int, int]:
    """The window of a passage to show in a result: around the first match, cut at word boundaries."""
    if len(text) <= width:
        return 0, len(text)
    first = spans[0][0] if spans else 0
    start = max(0, min(first - width // 3, len(text) - width))
    if start:
        start = text.find(" ", start) + 1 or start
    end = min(len(text), start + width)
    if end < len(text):
        end = text.rfind(" ", start, end) if text.rfind(" ", start, end) > start else end
    return start, end


def search_results_html(query: str, hits: Sequence[Hit], documents: dict[str, Document]) -> str:
    """Search results for advisors: title (year), section, kind and sector, how strong a match, a readable
    snippet with the query's words highlighted, and an "open in document" action per result."""
    if not query:
        return '<div class="ww-results ww-empty">Typ een zoekterm.</div>'
    if not hits:
        return '<div class="ww-results ww-empty">Niets gevonden. Probeer andere woorden of minder filters.</div>'
    best = max(h.score for h in hits)
    rows = []
    for i, h in enumerate(hits, 1):
        doc = documents.get(h.doc_id)
        plain_text = " ".join(h.text.split())
        spans = query_spans(plain_text, query)
        a, b = _snippet(plain_text, spans)
        inner = [(max(s, a) - a, min(e, b) - a) for s, e in spans if e > a and s < b]
        snippet = ("… " if a else "") + markdown_html(plain_text[a:b], inner) + (" …" if b < len(plain_text) else "")
        facts, year = _doc_facts(doc, h.kind, "nl"), document_year(doc)
        if h.kind == "case":
            facts = " · ".join(x for x in (_e(KIND_LABELS["nl"]["case"]), _case_facts(h.meta, "nl")) if x)
        rows.append(
            f'<div class="ww-card ww-result" data-chunk="{_e(h.chunk_id)}"><div class="ww-card-head">{i}. {_e(h.title)}'
            f'{f" ({year})" if year else ""}</div>'
            f'<div class="ww-card-kind">{_e(h.section) + " · " if h.section else ""}{facts} · '
            f'<span class="ww-relevance">{_e(relevance_label(h.score, best))}</span></div>'
            f'<div class="ww-card-text">{snippet}</div>'
            f'<div class="ww-card-actions">{open_button(f"chunk:{h.chunk_id}", WORDS["nl"]["open"])}</div></div>')
    return f'<div class="ww-results"><p>{len(hits)} resultaten voor ‘{_e(query)}’</p>{"".join(rows)}</div>'


def export_conversation(turns: Sequence[tuple[str, Answer]]) -> str:
    """A whole conversation as Markdown, each answer with its own footnotes (numbered per answer)."""
    if not turns:
        return ""
    parts = []
    for i, (question, answer) in enumerate(turns, 1):
        body = export_markdown(question, answer)
        # Footnote labels must be unique in one document: prefix them with the turn's number.
        parts.append(re.sub(r"\[\^(\d+)\]", lambda m: f"[^{i}.{m.group(1)}]", body))
    return "\n\n---\n\n".join(parts)


def local_time(value: object) -> str:
    """A stored UTC time ("2026-12-02T16:40:00+00:00") in the Netherlands' local time, "2 dec 2026 17:40"."""
    text = str(value or "")
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return text
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    local = moment.astimezone(ZoneInfo("Europe/Amsterdam"))
    months = "jan feb mrt apr mei jun jul aug sep okt nov dec".split()
    return f"{local.day} {months[local.month - 1]} {local.year} {local.hour:02d}:{local.minute:02d}"


def status_markdown(status) -> str:
    """The index status for the Beheer tab (an `IndexStatus`), in Dutch; file names and front matter
    quoted from the corpus are never live Markdown or HTML."""
    sm = safe_markdown
    if not status.exists:
        return "Er is nog geen index. Kies **Index bijwerken** om hem te bouwen."
    emb = status.embedder or {}
    lines = [f"**Index** {sm(status.build_id)} · gebouwd {sm(local_time(status.built_at))}",
             f"**{sm(status.counts('nl'))}**, {counted(status.chunks, 'passage', 'passages')} · "
             f"zoekmodel {sm(emb.get('model'))}"]
    if not status.stale:
        lines.append("**Actueel**: de index past bij de bronnen.")
    else:
        action = "los eerst dit op" if status.refused else "kies Index bijwerken"
        lines.append(f"**Verouderd** — {action}:\n" + "\n".join(f"- {sm(t)}" for t in status.stale_texts("nl")))
    lines += [f"- waarschuwing: {sm(t)}" for t in status.warning_texts("nl")]
    return "\n\n".join(lines)


def counted(n: int, one: str, more: str) -> str:
    """"1 passage", "3 passages"."""
    return f"{n} {one if n == 1 else more}"


def index_result_markdown(result) -> str:
    """What an index run did (an `IndexResult`), in Dutch, with its warnings."""
    if result.up_to_date:
        done = f"De index is al actueel: {result.counts('nl')}, {counted(result.chunks, 'passage', 'passages')}."
    else:
        done = (f"Klaar: {len(result.added)} toegevoegd, {len(result.changed)} gewijzigd, {len(result.removed)} "
                f"verwijderd; {counted(result.embedded, 'passage', 'passages')} en "
                f"{counted(result.sentences, 'zin', 'zinnen')} ingesloten in {result.seconds:.0f} s.")
    return done + "".join(f"\n\n- waarschuwing: {safe_markdown(m.text('nl'))}" for m in result.warning_messages)
