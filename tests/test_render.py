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
    assert "<h3>1 Aanpak</h3>" in out and "<h4>1.1 Stap</h4>" in out
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
