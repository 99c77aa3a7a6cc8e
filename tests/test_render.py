"""HTML and Markdown rendering: escaping, highlighting, the document viewer, Markdown export."""

from assistant.models import Answer, Citation, Document
from assistant.render import citation_choices, document_html, export_markdown, highlight, outline, sources_panel


def test_highlight_escapes_and_merges_overlapping_spans():
    text = "Een <b>vet</b> woord & meer."
    out = highlight(text, [(4, 10), (8, 14), (20, 25)], mark_id="m")
    assert out == 'Een <mark id="m">&lt;b&gt;vet&lt;/b&gt;</mark> woord<mark> &amp; me</mark>er.'
    assert highlight("abc", []) == "abc"


DOC = Document(id="d", title="Titel <i>", kind="artikel", source="documents/d.md", content_hash="x",
               text="Inleiding.\n\n## 1 Aanpak\n\nDe eerste zin. De <script>tweede</script> zin.\n\n### 1.1 Stap\n\nSlot.")


def test_document_view_highlights_the_passage_and_escapes_text():
    start = DOC.text.index("De eerste")
    end = DOC.text.index("zin.\n\n###") + 4
    out = document_html(DOC, start, end, spans=[(15, end - start)])
    assert "<script>" not in out and "&lt;script&gt;" in out and "Titel &lt;i&gt;" in out
    assert '<span id="ww-selected" class="ww-selected">De eerste zin. <mark>De &lt;script&gt;' in out
    assert '<h3 id="ww-h-0" class="ww-doc-heading">1 Aanpak</h3>' in out and ">1.1 Stap</h4>" in out
    # The outline jumps to each heading and marks the section that holds the passage.
    assert '<li class="ww-l2 ww-here"><a href="#ww-h-0"' in out and '<li class="ww-l3"><a href="#ww-h-1"' in out
    assert outline(DOC) == [(2, "1 Aanpak"), (3, "1.1 Stap")]
    assert "ww-selected" not in document_html(DOC)


def test_sources_panel_and_export():
    passage = "Een bedrijf kan ten hoogste 10.000 euro krijgen. De aanvraag loopt via de KvK."
    citation = Citation(1, "d:0001:abc", "d", "Regeling", "3.3 Rol overheid", "advies", passage, 100, 180,
                        spans=[(0, 48)])
    answer = Answer(text="Dit zeggen de bronnen hierover:\n- “Een bedrijf kan ten hoogste 10.000 euro krijgen.” [1]",
                    citations=[citation], cases=[], refused=False, mode="extractive")
    panel = sources_panel(answer)
    assert "[1] Regeling › 3.3 Rol overheid" in panel and "<mark>Een bedrijf kan ten hoogste 10.000 euro krijgen.</mark>" in panel
    assert citation_choices(answer) == [("[1] Regeling › 3.3 Rol overheid", "d:0001:abc")]
    md = export_markdown("Hoeveel subsidie?", answer)
    assert md.startswith("**Vraag:** Hoeveel subsidie?") and "krijgen.” [^1]" in md
    assert "[^1]: Regeling, 3.3 Rol overheid: “Een bedrijf kan ten hoogste 10.000 euro krijgen.”" in md
    assert "Nog geen bronnen" in sources_panel(None)
    refused = Answer(text="Daar kan ik geen antwoord op geven.", citations=[], cases=[], refused=True, mode="extractive")
    assert "de bronnen gaan niet over deze vraag" in sources_panel(refused)


def test_corpus_markdown_renders_emphasis_but_never_links_or_images_and_keeps_highlights():
    from assistant.render import markdown_html

    text = "**Bouwbedrijf Kesselaar & Zn** werkt met *Industrie 4.0*. Zie [de site](http://x.nl) en ![foto](//evil/a.png)."
    out = markdown_html(text, [(2, 20)], mark_id="m")
    assert "<strong>" in out and "<em>Industrie 4.0</em>" in out and "**" not in out and "*Industrie" not in out
    assert "href" not in out and "<img" not in out and "http" not in out and "de site" in out and "foto" in out
    assert '<strong><mark id="m">Bouwbedrijf Kessel</mark></strong><strong>aar &amp; Zn</strong>' in out
    # Tags stay properly nested when a highlight crosses the end of the bold words.
    crossing = markdown_html("**vet deel** en gewoon", [(4, 16)])
    assert crossing == "<strong>ve</strong><strong><mark>t deel</mark></strong><mark> en </mark>gewoon"
    assert markdown_html("window.__init__ blijft") == "window.__init__ blijft"


def _case_answer():
    from assistant.models import CaseRef

    case_text = "**Aldowa** liet de teams zelf plannen."
    citation = Citation(1, "case-aldowa:0000:x", "case-aldowa", "Aldowa: zelfsturing", "", "case", case_text, 0,
                        len(case_text), spans=[(0, len(case_text))])
    doc = Citation(2, "ser:0001:y", "ser", "SER-advies", "3 Voorstellen", "advies", "Een tekst.", 0, 10)
    case = CaseRef("case-aldowa", "Aldowa: zelfsturing", "Aldowa", "metaal & techniek", "onbekend", None, ["leiderschap"], 1)
    return Answer(text="- “Aldowa liet de teams zelf plannen.” [1]\n- “Een tekst.” [2]", citations=[citation, doc],
                  cases=[case], refused=False, mode="extractive")


def test_sources_show_each_case_once_with_facts_year_kind_and_an_open_action_per_card():
    documents = {
        "ser": Document(id="ser", title="SER-advies", kind="advies", text="x", source="documents/ser.md", content_hash="h",
                        meta={"date": "2023-03", "publisher": "SER"}),
        "case-aldowa": Document(id="case-aldowa", title="Aldowa: zelfsturing", kind="case", text="## Kop\n\nTekst",
                                source="cases/aldowa.md", content_hash="h",
                                meta={"organisation": "Aldowa", "sector": "metaal & techniek", "size_class": "onbekend",
                                      "region": "Rotterdam", "source_doc": "ser", "source_section": ""}),
    }
    panel = sources_panel(_case_answer(), documents)
    assert panel.count("Aldowa: zelfsturing") == 1  # the case's cited passage is its only card
    assert "onbekend" not in panel and "metaal &amp; techniek · Rotterdam" in panel
    assert "advies · 2023 · SER" in panel and "<strong><mark>Aldowa</mark></strong>" in panel
    assert panel.count('class="ww-open" data-open="chunk:') == 2
    assert panel.index("<h3>Bronnen</h3>") < panel.index("<h3>Praktijkvoorbeelden</h3>")


def test_document_view_shows_date_publisher_and_address_as_text():
    doc = Document(id="d", title="Rapport", kind="rapport", source="documents/d.md", content_hash="x",
                   text="## Kop\n\nTekst.", meta={"date": "2018-04", "publisher": "TNO", "url": "https://example.org/r.pdf"})
    out = document_html(doc)
    assert "rapport · gepubliceerd 2018-04 · uitgever: TNO" in out
    assert "example.org" in out and "href=\"https" not in out and "https&#58;//" in out


def test_renumbered_answers_and_a_whole_conversation_export_with_unique_footnotes():
    from assistant.render import export_conversation, local_time

    answer = _case_answer()
    moved = answer.renumbered(3)
    assert "[4]" in moved.text and "[5]" in moved.text and "[1]" not in moved.text
    assert [c.n for c in moved.citations] == [4, 5] and moved.cases[0].citation == 4
    assert [c.n for c in answer.citations] == [1, 2]  # the original is unchanged
    md = export_conversation([("Eerste?", answer), ("Tweede?", answer)])
    assert md.count("**Vraag:**") == 2 and "[^1.1]:" in md and "[^2.2]:" in md and "[^1]" not in md
    assert local_time("2026-12-02T16:40:00+00:00") == "2 dec 2026 17:40"  # CET in winter
    assert local_time("2026-07-01T10:00:00+00:00") == "1 jul 2026 12:00"  # CEST in summer


def test_a_card_folds_a_long_lead_before_its_quote_so_the_quote_shows():
    lead = "Eerste zin over iets anders. " * 20
    passage = lead + "Het verzuim daalde van 8 naar 4 procent."
    start = passage.index("Het verzuim")
    citation = Citation(1, "d:0001:x", "d", "Titel", "", "artikel", passage, 0, len(passage), spans=[(start, len(passage))])
    answer = Answer(text="- “Het verzuim daalde.” [1]", citations=[citation], cases=[], refused=False, mode="extractive")
    panel = sources_panel(answer)
    folded, shown = panel.split("</details>", 1)
    assert "… eerder in de passage" in folded and "Eerste zin" in folded
    assert shown.startswith("<mark>Het verzuim daalde van 8 naar 4 procent.</mark>")
    short = Citation(1, "d:0001:x", "d", "Titel", "", "artikel", "Kort. Het verzuim daalde.", 0, 25, spans=[(6, 25)])
    assert "<details" not in sources_panel(Answer(text="x [1]", citations=[short], cases=[], refused=False, mode="extractive"))
