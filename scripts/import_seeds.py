#!/usr/bin/env python3
"""One-off import of the five seed conversions into corpus/documents/.

The seeds are plain-text / Markdown conversions (two of them from PDF) of the
documents the assistant cites.  Advisors check citations against the corpus, so
this script only removes conversion debris and repairs structure; it never
rewrites a sentence.  What it does:

* cuts front/back matter (cover, table of contents, colophon, member lists,
  publication list, address blocks) and page furniture (running headers,
  separators, captions, lone page numbers);
* takes PDF footnotes out of the running text and rejoins the sentence or
  paragraph they interrupted; reference-only footnotes are dropped, footnotes
  with content are kept as a "Noot: ..." paragraph at the end of their section;
* normalises headings (chapters ##, sections ###, sub-sections ####);
* turns the HTML table cells of the 2018 report into nested Markdown lists;
* writes YAML front matter.

Generic cleaning lives in the functions below; everything specific to one
document is in the DOCS table at the bottom.  The output is deterministic and
the script can be re-run at will (it overwrites its five output files only).

Usage:  .venv/bin/python scripts/import_seeds.py [SEED_DIR]
        (default SEED_DIR: ../shared/seeds relative to the repository root)
"""

from __future__ import annotations

import argparse
import html
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SEED_DIR = REPO_ROOT / ".." / "shared" / "seeds"
OUT_DIR = REPO_ROOT / "corpus" / "documents"


# --------------------------------------------------------------------------
# Data model
# --------------------------------------------------------------------------

@dataclass
class Block:
    """A paragraph-like unit of the document (text, heading, table or note)."""

    lines: list[str]
    ids: set[int]                  # positions in the seed (kept through joins)
    kind: str = "text"             # text | heading | table | note
    level: int = 0                 # heading level (2..4) for kind == heading

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


@dataclass
class Footnote:
    number: str
    text: str
    marker_id: int | None          # id of the block that carried the marker


# --------------------------------------------------------------------------
# Generic helpers
# --------------------------------------------------------------------------

FOOTNOTE_START = re.compile(r"^(?:<sup>)?(\d{1,3})(?:</sup>)?\s+(?=\S)")
FOOTNOTE_MARKER = re.compile(r"<sup>\s*(\d{1,3})\s*</sup>")
ASTERISK_NOTE_START = re.compile(r"^(?:\\\*)+\s+")
MD_HEADING = re.compile(r"^(#{1,6})\s+(.*)$")
NUMBERED = re.compile(r"^(\d+(?:\.\d+)*)\.?\s")
BULLET = re.compile(r"^\s*(?:[-•]|\d+\.)\s")
TOC_LINE = re.compile(r"(\.{4,})|(\t\s*(<b>)?\d+(</b>)?\s*$)|^\s*(<b>)?\d+(\.\d+)*\.?\s+\S")
LOWER_START = re.compile(r"^[a-zà-ÿ]")


def clean_heading_text(text: str) -> str:
    """Heading text without Markdown/HTML emphasis and surplus whitespace."""
    text = re.sub(r"</?b>", "", text)
    text = text.replace("**", "").replace("*", "")
    return re.sub(r"\s+", " ", text).strip()


def normalise_lines(raw: str) -> list[str]:
    text = raw.replace("\r\n", "\n").replace("\r", "\n").replace("\u00a0", " ")  # NBSP -> space, as assistant.corpus.clean_text does
    text = html.unescape(text)                      # &amp; -> &
    lines = []
    for line in text.split("\n"):
        line = line.rstrip()                        # trailing spaces, hard breaks
        if not line.strip():                        # also lines with only NBSP
            line = ""
        lines.append(line)
    return lines


def cut_ranges(lines: list[str], cuts: list[tuple[str, str | None]]) -> list[str]:
    """Drop the lines from a start pattern up to (not including) an end pattern."""
    for start, end in cuts:
        i = next(k for k, l in enumerate(lines) if re.search(start, l))
        j = len(lines) if end is None else next(
            k for k in range(i + 1, len(lines)) if re.search(end, lines[k]))
        lines = lines[:i] + lines[j:]
    return lines


def split_blocks(lines: list[str], plain: bool) -> list[Block]:
    """Blocks are separated by blank lines.  In plain-text seeds every line is
    its own paragraph, except that consecutive bullet lines form one list."""
    blocks: list[Block] = []
    current: list[str] = []

    def flush():
        if current:
            blocks.append(Block(lines=list(current), ids={len(blocks)}))
            current.clear()

    for line in lines:
        if not line:
            flush()
        elif plain and current and not (BULLET.match(line) and BULLET.match(current[-1])):
            flush()
            current.append(line)
        else:
            current.append(line)
    flush()
    return blocks


def merge_block_pairs(blocks: list[Block], pairs: list[tuple[str, str]]) -> list[Block]:
    """Merge two consecutive blocks into one line (split headings)."""
    out: list[Block] = []
    for b in blocks:
        if out and (out[-1].text, b.text) in pairs:
            second = re.sub(r"^#+\s*", "", b.text)
            out[-1] = Block([out[-1].text + " " + second], out[-1].ids | b.ids)
        else:
            out.append(b)
    return out


def extract_footnotes(blocks: list[Block], asterisk_notes: bool):
    """Remove footnote blocks from the flow.

    A block is a footnote when it starts with a number N (optionally as
    <sup>N</sup>) for which a <sup>N</sup> marker occurred earlier and has not
    been consumed yet (footnote numbering restarts per chapter).  With
    asterisk_notes, blocks starting with an escaped '\\*' are notes too.
    """
    body: list[Block] = []
    notes: list[Footnote] = []
    pending: dict[str, int] = {}
    for b in blocks:
        first = b.lines[0]
        m = FOOTNOTE_START.match(first)
        if m and m.group(1) in pending and not first.startswith("#"):
            text = " ".join(l.strip() for l in [first[m.end():]] + b.lines[1:])
            notes.append(Footnote(m.group(1), text, pending.pop(m.group(1))))
            continue
        if asterisk_notes and ASTERISK_NOTE_START.match(first):
            text = " ".join(l.strip() for l in b.lines)
            notes.append(Footnote("*", ASTERISK_NOTE_START.sub("", text), None))
            continue
        for num in FOOTNOTE_MARKER.findall(b.text):
            pending[num] = min(b.ids)
        body.append(b)
    return body, notes


def drop_toc(blocks: list[Block]) -> list[Block]:
    """Drop an 'Inhoud'/'Inhoudsopgave' heading or line plus its entries."""
    out: list[Block] = []
    in_toc = False
    for b in blocks:
        title = clean_heading_text(re.sub(r"^#+\s*", "", b.text))
        if title in ("Inhoud", "Inhoudsopgave"):
            in_toc = True
            continue
        if in_toc and all(TOC_LINE.search(l) for l in b.lines):
            continue
        in_toc = False
        out.append(b)
    return out


def drop_furniture(blocks: list[Block], cfg: dict) -> list[Block]:
    patterns = [re.compile(p, re.S) for p in cfg.get("drop_blocks", [])]
    line_patterns = [re.compile(p) for p in cfg.get("drop_lines", [])]
    title = cfg["meta"]["title"]
    out: list[Block] = []
    for b in blocks:
        b.lines = [l for l in b.lines if not any(p.fullmatch(l.strip()) for p in line_patterns)]
        if not b.lines:
            continue
        text = b.text.strip()
        if text == "---" or re.fullmatch(r"\d{1,3}", text):      # separators, page numbers
            continue
        if clean_heading_text(re.sub(r"^#+\s*", "", text)) == title:  # title repeated in body
            continue
        if any(p.fullmatch(text) for p in patterns):
            continue
        if out and out[-1].kind == "text" and out[-1].text == b.text and len(b.lines) == 1:
            continue                                                # duplicated line (names)
        out.append(b)
    return out


def heading_level(text: str, is_md: bool, cfg: dict) -> int | None:
    """Level for a heading text: explicit table first, then numbering."""
    table = cfg.get("headings", {})
    if text in table:
        return table[text]
    for pattern, level in table.items():
        if pattern.startswith("re:") and re.fullmatch(pattern[3:], text):
            return level
    if is_md:
        m = NUMBERED.match(text)
        if m:
            return 1 + len(m.group(1).split("."))
        raise ValueError(f"{cfg['meta']['id']}: no level for heading {text!r}")
    return None


def make_headings(blocks: list[Block], cfg: dict) -> list[Block]:
    """Markdown headings get a normalised level; lone lines that are listed as
    intertitles become headings; level 0 means 'demote to a plain paragraph'."""
    renames = cfg.get("rename_headings", {})
    out: list[Block] = []
    for b in blocks:
        if len(b.lines) == 1 and b.kind == "text":
            m = MD_HEADING.match(b.lines[0])
            raw = m.group(2) if m else b.lines[0]
            text = clean_heading_text(raw)
            text = renames.get(text, text)
            level = heading_level(text, bool(m), cfg)
            if level == 0:
                b = Block([text], b.ids)
            elif level:
                b = Block([text], b.ids, kind="heading", level=level)
        if (b.kind == "heading" and out and out[-1].kind == "heading"
                and (out[-1].text, out[-1].level) == (b.text, b.level)):
            out[-1].ids |= b.ids                                    # duplicated heading
            continue
        out.append(b)
    return out


def convert_tables(blocks: list[Block]) -> list[Block]:
    """Tab-separated rows whose cells hold <ul><li> lists (the 2018 report).

    Continuation parts of a table ('... (vervolg)' header after a page break)
    are merged into the table; rows continued on the next page are merged
    into the row.  Rendered as: header line, then '- Row:' with nested items.
    """
    out: list[Block] = []
    table = None                     # (header, {label: items}, Block)
    for b in blocks:
        if not all("\t" in l for l in b.lines):
            out.append(b)
            continue
        header = b.lines[0].split("\t")
        rows = [l.split("\t", 1) for l in b.lines[1:]]
        if table is None or not header[1].strip().endswith("(vervolg)"):
            table = (header, {}, Block([], set(b.ids), kind="table"))
            out.append(table[2])
        else:
            table[2].ids |= b.ids
        for label, cell in rows:
            label = re.sub(r"\s*\(vervolg\)$", "", label.strip())
            items = re.findall(r"<li>(.*?)</li>", cell, re.S)
            items = [re.sub(r"^\s*•\s*", "", i).strip() for i in items] or [cell.strip()]
            table[1].setdefault(label, []).extend(items)
        hdr, body, block = table
        lines = [f"{hdr[0].strip()} – {hdr[1].strip()}:", ""]
        for label, items in body.items():
            if items == ["-"]:
                lines.append(f"- {label}: -")
            else:
                lines.append(f"- {label}:")
                lines.extend(f"  - {i}" for i in items)
        block.lines = lines
    return out


def strip_for_check(line: str) -> str:
    """Line end without markers/emphasis, to decide whether a sentence ends."""
    line = FOOTNOTE_MARKER.sub("", line)
    line = re.sub(r"(\\\*)+$", "", line.rstrip())
    return line.rstrip("*_ ")


def is_list(b: Block) -> bool:
    return b.kind == "text" and bool(BULLET.match(b.lines[0])) and b.lines[0].lstrip()[0] in "-•"


def rejoin(blocks: list[Block], cfg: dict, log: list[str]) -> list[Block]:
    """Rejoin paragraphs split by page breaks or removed footnotes.

    * previous block ends in the middle of a sentence (on a word, no
      punctuation) and the next starts with a lower-case letter -> one paragraph (hyphenated word split at the
      break -> joined without hyphen);
    * previous block ends with a configured text (cfg['join']) -> joined with
      the configured separator (used for splits before a capital letter and
      for label lines such as 'Datum');
    * two bullet lists next to each other -> one list.
    """
    joins: dict[str, str] = cfg.get("join", {})
    out: list[Block] = []
    for b in blocks:
        prev = out[-1] if out else None
        if prev is None or prev.kind != "text" or b.kind != "text":
            out.append(b)
            continue
        a_end = strip_for_check(prev.lines[-1])
        b_start = b.lines[0].lstrip()
        sep = next((s for k, s in joins.items() if a_end.endswith(k)), None)
        if sep is None and is_list(prev) and is_list(b):
            prev.lines.extend(b.lines)
            prev.ids |= b.ids
            continue
        if sep is None and LOWER_START.match(b_start) and re.search(r"[\w-]$", a_end):
            sep = "" if re.search(r"\w-$", a_end) else " "
        if sep is None:
            out.append(b)
            continue
        last = prev.lines[-1].rstrip()
        if sep == "":
            last = last[:-1]                                  # hyphenation split
        log.append(f"    join: …{last[-40:]!r} + {b_start[:40]!r}…")
        prev.lines[-1] = last + sep + b_start
        prev.lines.extend(b.lines[1:])
        prev.ids |= b.ids
    return out


def insert_notes(blocks: list[Block], notes: list[Footnote], cfg: dict, log: list[str]) -> list[Block]:
    """Keep the content footnotes listed in cfg['keep_notes'] as 'Noot: ...'
    paragraphs at the end of the section (of the heading governing the
    marker) they belong to; all other footnotes are dropped."""
    keep = cfg.get("keep_notes", [])
    placed: dict[int, list[Block]] = {}
    for n in notes:
        if not any(n.text.startswith(k) for k in keep):
            log.append(f"    drop note {n.number}: {n.text[:70]!r}")
            continue
        pos = next(i for i, b in enumerate(blocks) if n.marker_id in b.ids)
        gov = next((blocks[i] for i in range(pos, -1, -1) if blocks[i].kind == "heading"), None)
        gov_level = gov.level if gov else 1
        end = next((i for i in range(pos + 1, len(blocks))
                    if blocks[i].kind == "heading" and blocks[i].level <= gov_level), len(blocks))
        log.append(f"    keep note {n.number}: {n.text[:50]!r} -> before block {end}")
        placed.setdefault(end, []).append(Block(["Noot: " + n.text], set(), kind="note"))
    out: list[Block] = []
    for i in range(len(blocks) + 1):
        out.extend(placed.get(i, []))
        if i < len(blocks):
            out.append(blocks[i])
    return out


def clean_inline(line: str, cfg: dict) -> str:
    line = FOOTNOTE_MARKER.sub("", line)                          # footnote markers
    line = re.sub(r"</?sup>", "", line)                           # 21<sup>ste</sup> -> 21ste
    line = re.sub(r"</?b>", "", line)
    line = re.sub(r"\[([^\]]+)\]\([^)]+\)", r"\1", line)           # [text](url) -> text
    line = re.sub(r"<((?:https?|mailto):[^>\s]+)>", r"\1", line)    # <url> -> url
    line = line.replace("\\_", "_")
    if cfg.get("asterisk_notes"):
        line = re.sub(r"(\\\*)+", "", line)                       # \* note markers
    line = re.sub(r"\s*\.{4,}", "", line)                         # dot leaders
    line = re.sub(r"^\s*•\s*", "- ", line)                         # bullets
    line = re.sub(r"(?<=\S)  +", " ", line)                        # inner double spaces
    for old, new in cfg.get("fixes", {}).items():
        line = line.replace(old, new)
    return line.rstrip()


def render_block(b: Block, cfg: dict) -> str:
    if b.kind == "heading":
        return "#" * b.level + " " + b.text
    lines = [clean_inline(l, cfg) for l in b.lines]
    if b.kind == "table":
        return "\n".join(lines)
    if is_list(b):
        # item lines and nested items keep their indentation; wrapped
        # continuation lines of an item are indented under it
        lines = [l if BULLET.match(l) or l.startswith("  ") else "  " + l.strip() for l in lines]
    else:
        lines = [l if BULLET.match(l) else l.strip() for l in lines]
    return "\n".join(lines)


def front_matter(meta: dict, source_file: str) -> str:
    keys = ["id", "title", "author", "publisher", "date", "kind", "language", "url"]
    data = {k: meta[k] for k in keys if meta.get(k)}
    data["source_file"] = source_file
    return "---\n" + yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=1000) + "---\n"


def convert(raw: str, cfg: dict, source_file: str, log: list[str]) -> str:
    lines = cut_ranges(normalise_lines(raw), cfg.get("cut", []))
    blocks = split_blocks(lines, plain=cfg.get("plain", False))
    blocks = merge_block_pairs(blocks, cfg.get("merge", []))
    blocks, notes = extract_footnotes(blocks, cfg.get("asterisk_notes", False))
    blocks = drop_toc(blocks)
    blocks = drop_furniture(blocks, cfg)
    blocks = make_headings(blocks, cfg)
    blocks = convert_tables(blocks)
    blocks = rejoin(blocks, cfg, log)
    blocks = insert_notes(blocks, notes, cfg, log)
    body = "\n\n".join(render_block(b, cfg) for b in blocks)
    body = re.sub(r"\n{3,}", "\n\n", body).strip() + "\n"
    return front_matter(cfg["meta"], source_file) + "\n" + body


# --------------------------------------------------------------------------
# Per-document table
# --------------------------------------------------------------------------
# meta:            front matter (only what the text itself states)
# plain:           seed has no Markdown: every line is a paragraph
# cut:             (start, end) line patterns of ranges to drop (end None = EOF)
# merge:           pairs of consecutive blocks to merge into one heading line
# drop_blocks:     regexes (full match) of blocks to drop (page furniture)
# drop_lines:      regexes (full match) of single lines to drop
# headings:        unnumbered heading / intertitle text -> level (0 = paragraph);
#                  keys starting with "re:" are regexes.  Numbered Markdown
#                  headings get their level from the numbering (2 / 2.1 / 2.1.1).
# rename_headings: heading text -> new heading text
# join:            block ending with this text is joined to the next block
#                  with the given separator
# keep_notes:      prefixes of footnotes that carry content (kept as "Noot: ")
# asterisk_notes:  '\*' footnotes exist (markers removed, notes dropped)
# fixes:           literal replacements (PDF hyphenation splits)

SER = "Sociaal-Economische Raad (SER)"

DOCS: dict[str, dict] = {
    "000_90600ed042c2ddf3.txt": {
        "meta": {
            "id": "zicht-op-sociale-innovatie",
            "title": "Sociale innovatie: goed voor werknemers én bedrijven",
            "author": "Dorine Van Kesteren",
            "publisher": SER,
            "kind": "artikel",
            "language": "nl",
        },
        "plain": True,
        "drop_blocks": [
            r"Zicht op",                                   # magazine name
            r"Tekst: .*\| Leestijd: .*",                   # byline (author in front matter)
            r"Specialisten op bouwplaats",                 # photo alt text
            r".*\| Foto: .*",                              # photo caption
            r"(Paul Preenen|Margreet Xavier): ‘.*’",       # pull quotes
            r"Dit artikel verschijnt ook in het papieren nummer.*",
            r"Abonneer nu gratis",
            r"Zicht op\.\.\. magazine SER",
            r"Studenten in actie in loods .*Foto: .*",
            r"Bouwerken in de stad\. © .*",
        ],
        "join": {"Paul Preenen": ": ", "Margreet Xavier": ": "},   # speaker bios
        "headings": {
            "Hogere arbeidsproductiviteit": 2,
            "Behoefte aan autonomie": 2,
            "Alle hens aan dek": 2,
            "Begin klein": 2,
            "Het SER-advies": 2,
        },
    },
    "001_440d615870425918.txt": {
        "meta": {
            "id": "legt-ser-de-basis",
            "title": "Legt SER de basis voor samen sociaal innoveren?",
            "author": "Wouter Jansen",
            "date": "2020-12-15",                          # "Wouter Jansen/15-12-2020"
            "kind": "opinie",
            "language": "nl",
        },
        "plain": True,
        "drop_blocks": [r"Wouter Jansen/15-12-2020", r"Recent Posts"],
        "headings": {
            "De door de ministeries aan de SER gestelde vragen.": 2,
            "Antwoorden bekeken vanuit de basis c.q. het werkveld": 2,
            "Slotsom is doen!": 2,
        },
    },
    "002_bd26e0b8a7b894e8.txt": {
        "meta": {
            "id": "sociale-innovatie-begrip",
            "title": "Sociale Innovatie",
            "date": "2019-11-06",                          # "Datum laatste wijziging"
            "kind": "artikel",
            "language": "nl",
        },
        "plain": True,
        "drop_blocks": [
            r"Datum laatste wijziging: .*",
            r"Gerelateerde artikelen en/of partner bijdragen: .*",
        ],
        "headings": {                                      # = the items of its "Inhoud"
            "Begripsbepaling": 2,
            "Slimmer werken": 2,
            "Platform": 2,
            "Subsidieregelingen": 2,
            "Leergang Innoveren met personeel": 2,
            "Sociale innovatie zingt rond, en wat doet HR?": 2,
            "Belang van certificering": 2,
            "Verschuiving in de manier waarop werk is georganiseerd": 2,
            "Kabinet vraagt SER advies over sociale innovatie": 2,
        },
    },
    "003_b6e815b8d7af4dae.txt": {
        "meta": {
            "id": "ser-advies-sociale-innovatie-2023",
            "title": "Naar verdere succesvolle toepassing van sociale innovatie",
            "author": "Commissie Sociale innovatie",     # colofon: "Tekst"
            "publisher": SER,
            "date": "2023-03",
            "kind": "advies",
            "language": "nl",
        },
        "cut": [
            # SER boilerplate, address block and Inhoudsopgave
            (r"^## Sociaal-Economische Raad$", r"^## Voorwoord$"),
            # Samenstelling commissie, Publicatieoverzicht, Colofon, address
            (r"^## Samenstelling commissie Sociale innovatie$", None),
        ],
        "drop_blocks": [
            r"Advies",                                     # part separator
            r"## Bijlagen",                                # part separator
            # page furniture of the Adviesaanvraag letter
            r"> Retouradres .*",
            r"\*\*Directie\*\*\n\*\*Werknemersregelingen\*\*\nAfdeling Werkloosheid",
            r"Postbus 90801\n.*",
            r"\*\*Contactpersoon\*\*\n.*",
            r"\*\*Onze referentie\*\*\n.*",
            r"\*\*Datum\*\*",
        ],
        "drop_lines": [r"Postbus 90405", r"2509 LK Den Haag"],
        "asterisk_notes": True,
        "rename_headings": {
            "Adviesaanvraag": "Bijlage 1 Adviesaanvraag",
            "Enkele voorbeelden uit de praktijk": "Bijlage 2 Enkele voorbeelden uit de praktijk",
            "Internationale ontwikkelingen": "Bijlage 3 Internationale ontwikkelingen",
        },
        "headings": {
            "Voorwoord": 2,
            # chapter 2 (unnumbered intertitles)
            "Visie op sociale innovatie": 3,
            "Transities, krapte op de arbeidsmarkt en sociale innovatie": 3,
            "Sociale innovatie anno 2023": 3,
            "Conclusie": 3,
            # chapter 3 (intertitles within 3.2 / 3.3)
            "Algemeen": 4,
            "Meer concreet": 4,
            "Strategische Agenda Metalectro 2022-2027: Een gezamenlijke inzet bij "
            "Arbeidsverhoudingen – Arbeidsmarkt – Industriebeleid": 4,
            "Tot slot": 4,
            "Gerichte stimuleringsregeling mkb": 4,
            # Bijlagen
            "Bijlage 1 Adviesaanvraag": 2,
            "Bijlage 2 Enkele voorbeelden uit de praktijk": 2,
            "Nieuwe manieren van werken": 3,
            "Nieuwe methodieken voor implementatie": 3,
            "Goede voorbeelden los van boven genoemde initiatieven": 3,
            "re:In de praktijk: .+": 4,
            "Bijlage 3 Internationale ontwikkelingen": 2,
            "Voorbeelden België": 3,
            "Initiatieven op Europees niveau": 3,
            "Meer lezen:": 0,                              # label, not a section
        },
        "join": {
            "de recente Strategische Agenda": " ",        # page break before a capital
            "Datum": ": ",
            "Betreft": ": ",
        },
        "keep_notes": [
            "Internationaal wordt de term ‘workplace innovation’",            # ch2 fn 2
            "In het rapport *Het betere werk. De nieuwe maatschappelijke",    # ch2 fn 5
            "Het NCSI was een samenwerkingsverband",                        # ch2 fn 8
            "In een studie van Technopolis over procesinnovatie",           # ch2 fn 9
            "Energietransitie & Duurzaamheid (incl. Mobiliteit",            # ch3 fn 11
            "Het platform kan gebruikmaken van de bestaande kennisbank",    # ch3 fn 12
            "Zo zijn er goede voorbeelden van activiteiten",                # ch3 fn 13
            "Daartoe kunnen bijvoorbeeld leerstoelen",                      # ch3 fn 14
            "Het platform kan hiertoe samenwerken",                         # ch3 fn 15
            "Zie ook andere soortgelijke werkzaamheden die de SER verricht",  # ch3 fn 16
        ],
        "fixes": {"verandering ver- gen": "verandering vergen"},
    },
    "004_c5ee66de9ab8cb10.txt": {
        "meta": {
            "id": "smart-industry-sociale-innovatie-2018",
            "title": "Smart Industry en Sociale Innovatie vanuit werknemersperspectief",
            "author": "Lilian Woudstra (a-advies); Henk Volberda en Kevin Heij "
                      "(Erasmus Centre for Business Innovation)",
            "publisher": "a-advies en Erasmus Centre for Business Innovation, "
                         "in opdracht van TechniekTalent.nu",
            "date": "2018-04",
            "kind": "rapport",
            "language": "nl",
        },
        "cut": [(r"^a-advies$", r"^# 1\. Inleiding$")],   # cover logo words and Inhoud
        "drop_blocks": [r"April 2018"],
        "merge": [
            ("**Deel I:**", "**Smart Industry & Sociale Innovatie**"),
            ("## Deel II:", "### Over Sociale Innovatie"),
        ],
        "headings": {
            "Deel I: Smart Industry & Sociale Innovatie": 2,
            "Deel II: Over Sociale Innovatie": 2,
            "Wat doen de fondsen op dit gebied?": 4,
            "Vorm": 4,
            "Focus": 4,
            "Mogelijke witte vlekken vanuit werknemersperspectief": 4,
        },
        "join": {"Om de intensieve concurrentie uit": " "},   # page break before "China"
        "keep_notes": [
            "Erasmus Centre for Business Innovation is een handelsnaam",    # fn 1
            "Een veel gehanteerde indeling hierbij luidt als volgt",        # fn 7
            "Gegeven overzichten hebben niet de intentie",                  # fn 10
            "OTIB onderscheidt nog een derde vorm",                         # fn 11
            "Bekend is bijvoorbeeld dat OTIB",                              # fn 12
        ],
    },
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("seed_dir", nargs="?", default=str(DEFAULT_SEED_DIR))
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="log joins and dropped/kept footnotes")
    args = parser.parse_args(argv)
    seed_dir = Path(args.seed_dir).resolve()
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    for source_file, cfg in DOCS.items():
        log: list[str] = []
        raw = (seed_dir / source_file).read_text(encoding="utf-8")
        out = convert(raw, cfg, source_file, log)
        target = OUT_DIR / f"{cfg['meta']['id']}.md"
        target.write_text(out, encoding="utf-8")
        print(f"{source_file} -> {target.relative_to(REPO_ROOT)}")
        if args.verbose:
            print("\n".join(log))
    return 0


if __name__ == "__main__":
    sys.exit(main())
