"""Maintainer actions: password check, upload checks (type, size, encoding, safe names), PDF text."""

import pytest

from assistant.admin import UploadError, password_ok, safe_file_name, save_upload


def minimal_pdf(text: str) -> bytes:
    """A one-page PDF with a text layer, built by hand (offsets in the xref table are exact)."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for i, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{i} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += f"trailer << /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def test_password_check():
    assert password_ok("geheim", "geheim")
    assert not password_ok("fout", "geheim") and not password_ok("", "geheim")
    assert not password_ok("iets", None) and not password_ok(None, None)  # no password set: no access


@pytest.mark.parametrize("name,expected", [
    ("Rapport Sociale Innovatie 2024.md", ("rapport-sociale-innovatie-2024", ".md")),
    ("../../etc/passwd.txt", ("passwd", ".txt")),
    ("C:\\Users\\x\\Überzicht.PDF", ("uberzicht", ".pdf")),
])
def test_safe_file_name(name, expected):
    assert safe_file_name(name) == expected


@pytest.mark.parametrize("name,message", [("rooster.xlsx", "geen .md-, .txt- of .pdf-bestand"), ("script.sh", "geen .md-"),
                                          ("....md", "geen bruikbare bestandsnaam"), ("noextension", "geen .md-")])
def test_unsafe_or_wrong_files_are_refused(name, message):
    with pytest.raises(UploadError, match=message):
        safe_file_name(name)


def test_save_upload_writes_into_documents_and_checks_content(tmp_path):
    corpus = tmp_path / "corpus"
    src = tmp_path / "upload.bin"
    src.write_text("# Titel\n\nTekst over teams.\n", encoding="utf-8")
    saved = save_upload(src, "../Mijn Document.md", corpus, max_bytes=1000)
    assert saved.path == (corpus / "documents" / "mijn-document.md").resolve() and not saved.replaced
    assert saved.path.read_text(encoding="utf-8") == "# Titel\n\nTekst over teams.\n"
    # The same name again replaces the file only when the maintainer ticks "Vervang bestaand document".
    with pytest.raises(UploadError, match="Vervang bestaand document") as refused:
        save_upload(src, "mijn document.md", corpus, max_bytes=1000)
    assert "mijn-document.md" in str(refused.value) and "'Titel', id 'mijn-document'" in str(refused.value)
    assert save_upload(src, "mijn document.md", corpus, max_bytes=1000, replace=True).replaced
    assert not list((corpus / "documents").glob(".upload-*"))  # no temporary files left

    src.write_bytes("café".encode("latin-1"))
    with pytest.raises(UploadError, match="geen UTF-8-tekst"):
        save_upload(src, "oud.txt", corpus, max_bytes=1000)
    src.write_text("x" * 2000, encoding="utf-8")
    with pytest.raises(UploadError, match="de grens is 0,001 MB"):
        save_upload(src, "groot.txt", corpus, max_bytes=1000)
    src.write_bytes(b"")
    with pytest.raises(UploadError, match="is leeg"):
        save_upload(src, "leeg.md", corpus, max_bytes=1000)
    src.write_text("not a pdf at all", encoding="utf-8")
    with pytest.raises(UploadError, match="geen PDF"):
        save_upload(src, "nep.pdf", corpus, max_bytes=1000)
    assert sorted(p.name for p in (corpus / "documents").iterdir()) == ["mijn-document.md"]  # nothing else written


def test_pdf_upload_becomes_markdown_with_its_text(tmp_path):
    src = tmp_path / "in.pdf"
    src.write_bytes(minimal_pdf("Zelfsturende teams in de zorg"))
    saved = save_upload(src, "Zorg Rapport.pdf", tmp_path / "corpus", max_bytes=100_000)
    text = saved.path.read_text(encoding="utf-8")
    assert saved.path.name == "zorg-rapport.md"
    assert text.startswith("---\ntitle: 'Zorg Rapport'\n") and "Zelfsturende teams in de zorg" in text


# --- red team: uploads that take over another document's id (A) ---------------------------------

REPO_DOCS = __import__("pathlib").Path(__file__).resolve().parent.parent / "corpus" / "documents"
GENUINE = "zicht-op-sociale-innovatie"


@pytest.fixture
def real_corpus(tmp_path):
    """A corpus folder holding one real source document."""
    import shutil

    corpus = tmp_path / "corpus"
    (corpus / "documents").mkdir(parents=True)
    shutil.copy(REPO_DOCS / f"{GENUINE}.md", corpus / "documents")
    return corpus


def _upload(tmp_path, text: str):
    src = tmp_path / "upload.bin"
    src.write_text(text, encoding="utf-8")
    return src


@pytest.mark.parametrize("name,text", [
    # front matter claims the id of the genuine source; the name sorts before it
    ("Aaa bijgewerkt.md", f"---\nid: {GENUINE}\ntitle: Sociale innovatie loont niet\n---\n\nSociale innovatie kost alleen geld.\n"),
    # no front matter: the id comes from the file name, which is the genuine id in another file type
    (f"{GENUINE}.txt", "Sociale innovatie kost alleen geld.\n"),
])
def test_an_upload_may_not_claim_the_id_of_another_document(tmp_path, real_corpus, name, text):
    from assistant.corpus import load_corpus

    before = load_corpus(real_corpus)
    src = _upload(tmp_path, text)
    for replace in (False, True):  # "Vervang bestaand document" replaces a file of the same name only
        with pytest.raises(UploadError) as refused:
            save_upload(src, name, real_corpus, max_bytes=1_000_000, replace=replace)
        message = str(refused.value)
        assert f"documents/{GENUINE}.md" in message and "Sociale innovatie: goed voor werknemers én bedrijven" in message
        assert f"document-id '{GENUINE}'" in message and "Vervang bestaand document" in message
        assert f"dezelfde bestandsnaam ({GENUINE}.md)" in message and "eigen id" in message
    assert sorted(p.name for p in (real_corpus / "documents").iterdir()) == [f"{GENUINE}.md"]  # nothing written
    after = load_corpus(real_corpus)
    assert [d.text for d in after.documents] == [d.text for d in before.documents] and not after.conflicts


def test_the_same_file_name_is_replaced_only_with_the_checkbox(tmp_path, real_corpus):
    from assistant.corpus import load_corpus

    src = _upload(tmp_path, "---\ntitle: Nieuwe versie\n---\n\nDe nieuwe tekst van het artikel.\n")
    with pytest.raises(UploadError) as refused:
        save_upload(src, "Zicht op sociale innovatie.md", real_corpus, max_bytes=1_000_000)
    assert str(refused.value) == (
        f"Er bestaat al een document met de bestandsnaam {GENUINE}.md: documents/{GENUINE}.md ('Sociale innovatie: "
        f"goed voor werknemers én bedrijven', id '{GENUINE}'). Vink 'Vervang bestaand document' aan om het te "
        "vervangen, of geef het bestand een andere naam.")
    saved = save_upload(src, "Zicht op sociale innovatie.md", real_corpus, max_bytes=1_000_000, replace=True)
    assert saved.replaced and saved.path.name == f"{GENUINE}.md"
    (doc,) = load_corpus(real_corpus).documents
    assert doc.id == GENUINE and doc.title == "Nieuwe versie"  # the maintainer replaced the file on purpose


def test_an_upload_the_index_would_skip_is_refused(tmp_path, real_corpus):
    for text, detail in [("---\ntitle: [kapot\n---\n\nTekst.\n", "de front matter is geen geldige YAML (regel 2)"),
                         ("---\nkind: roman\n---\n\nTekst.\n", "de soort (kind) 'roman' is onbekend")]:
        with pytest.raises(UploadError, match="kan zo niet worden geïndexeerd") as refused:
            save_upload(_upload(tmp_path, text), "nieuw.md", real_corpus, max_bytes=1_000_000)
        assert detail in str(refused.value) and "pas het bestand aan" in str(refused.value)
    assert not (real_corpus / "documents" / "nieuw.md").exists()


# --- red team: unbounded indexing cost (B) ----------------------------------------------------------

def test_an_upload_with_too_many_passages_is_refused(tmp_path, real_corpus):
    text = "".join(f"## Kop {i}\n\nTekst van deel {i}.\n\n" for i in range(600))  # 600 one-line sections
    src = _upload(tmp_path, text)
    with pytest.raises(UploadError) as refused:
        save_upload(src, "veel koppen.md", real_corpus, max_bytes=1_000_000)
    assert str(refused.value) == ("'veel koppen.md' zou 600 passages opleveren; één document mag er hoogstens 500 "
                                  "hebben (ASSISTANT_MAX_DOCUMENT_PASSAGES). Splits het in kleinere documenten.")
    assert save_upload(src, "veel koppen.md", real_corpus, max_bytes=1_000_000, max_passages=600).path.is_file()


def make_pdf(pages: list[bytes], encrypt: dict | None = None, compress: bool = True) -> bytes:
    """A PDF written by pypdf: one page per content stream (FlateDecode-compressed), optionally encrypted."""
    from io import BytesIO

    from pypdf import PdfWriter
    from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

    writer = PdfWriter()
    font = writer._add_object(DictionaryObject({
        NameObject("/Type"): NameObject("/Font"), NameObject("/Subtype"): NameObject("/Type1"),
        NameObject("/BaseFont"): NameObject("/Helvetica")}))
    for content in pages:
        page = writer.add_blank_page(612, 792)
        page[NameObject("/Resources")] = DictionaryObject({NameObject("/Font"): DictionaryObject({NameObject("/F1"): font})})
        stream = DecodedStreamObject()
        stream.set_data(content)
        page[NameObject("/Contents")] = writer._add_object(stream)
        if compress:
            page.compress_content_streams()
    if encrypt:
        writer.encrypt(**encrypt)
    out = BytesIO()
    writer.write(out)
    return out.getvalue()


def text_page(text: str) -> bytes:
    return f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode("latin-1")


def repeated_text_page(repeats: int) -> bytes:
    """A content stream of `repeats` text operations: it compresses about 300 to 1."""
    return b"BT /F1 12 Tf 72 720 Td " + b"(Zelfsturende teams werken. ) Tj " * repeats + b"ET"


def _refused_pdf(tmp_path, data: bytes, **bounds) -> str:
    from assistant.admin import _pdf_to_markdown

    if bounds:
        with pytest.raises(UploadError) as refused:
            _pdf_to_markdown(data, "Rapport", **bounds)
        return str(refused.value)
    src = tmp_path / "in.pdf"
    src.write_bytes(data)
    with pytest.raises(UploadError) as refused:
        save_upload(src, "rapport.pdf", tmp_path / "corpus", max_bytes=10_000_000)
    assert not (tmp_path / "corpus" / "documents" / "rapport.md").exists()
    return str(refused.value)


def test_a_pdf_made_by_pypdf_is_read(tmp_path):
    src = tmp_path / "in.pdf"
    src.write_bytes(make_pdf([text_page("Zelfsturende teams"), text_page("Coachend leiderschap")]))
    text = save_upload(src, "Rapport.pdf", tmp_path / "corpus", max_bytes=1_000_000).path.read_text(encoding="utf-8")
    assert "Zelfsturende teams" in text and "<!-- pagina 2 -->\n\nCoachend leiderschap" in text


@pytest.mark.parametrize("algorithm,user_password", [
    ("AES-128", ""), ("AES-256", ""),  # owner password only: opens without a password, but encrypted
    ("RC4-128", ""), ("AES-128", "geheim"),
])
def test_an_encrypted_pdf_is_refused_with_the_fix(tmp_path, algorithm, user_password):
    if algorithm.startswith("AES"):
        pytest.importorskip("cryptography", reason="pypdf needs the cryptography package to write AES")
    data = make_pdf([text_page("Vertrouwelijk")], encrypt={"user_password": user_password,
                                                            "owner_password": "eigenaar", "algorithm": algorithm})
    message = _refused_pdf(tmp_path, data)
    assert message.startswith("De PDF is beveiligd") and "sla een kopie op zonder beveiliging" in message


def test_an_aes_pdf_is_refused_clearly_on_a_server_without_cryptography(tmp_path):
    """Without the cryptography package pypdf raises DependencyError on AES; that too becomes the clear message."""
    import subprocess
    import sys

    pytest.importorskip("cryptography", reason="pypdf needs the cryptography package to write AES")
    src = tmp_path / "in.pdf"
    src.write_bytes(make_pdf([text_page("Vertrouwelijk")],
                             encrypt={"user_password": "", "owner_password": "eigenaar", "algorithm": "AES-128"}))
    script = (
        "import sys; sys.modules['cryptography'] = None\n"  # as if the package were not installed
        "from pathlib import Path\n"
        "from assistant.admin import UploadError, save_upload\n"
        "try:\n"
        f"    save_upload(Path({str(src)!r}), 'geheim.pdf', Path({str(tmp_path / 'corpus')!r}), 1_000_000)\n"
        "except UploadError as e:\n"
        "    print('UploadError:', e)\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert out.stdout.startswith("UploadError: De PDF is beveiligd"), out.stdout + out.stderr


def test_pdf_pages_text_and_time_are_bounded(tmp_path):
    blank_pages = make_pdf([b""] * 501)
    assert _refused_pdf(tmp_path, blank_pages) == (
        "De PDF heeft 501 pagina's; er worden er hoogstens 500 ingelezen. Splits hem in kleinere documenten of upload "
        "de tekst als .md of .txt.")
    three = make_pdf([text_page("Eerste pagina"), text_page("Tweede pagina"), text_page("Derde pagina")])
    assert "meer dan 20 tekens tekst (grens bereikt op pagina 2)" in _refused_pdf(tmp_path, three, max_chars=20)
    assert "duurde langer dan 0 seconden (bij pagina 1 van 3)" in _refused_pdf(tmp_path, three, max_seconds=0)


def test_a_small_pdf_that_inflates_to_a_huge_page_is_refused_quickly(tmp_path):
    import time

    from assistant.admin import PDF_MAX_CHARS, PDF_MAX_PAGE_CONTENT_BYTES, PDF_MAX_SECONDS, PDF_MAX_STREAM_BYTES

    assert (PDF_MAX_CHARS, PDF_MAX_SECONDS, PDF_MAX_PAGE_CONTENT_BYTES) == (2_000_000, 60.0, 5_000_000)
    bomb = make_pdf([repeated_text_page(200_000)])  # 6.6 MB of text operators in ~20 KB
    assert len(bomb) < 30_000
    started = time.perf_counter()
    message = _refused_pdf(tmp_path, bomb)
    assert time.perf_counter() - started < 10  # refused before its text is extracted (that alone takes ~40 s)
    assert message.startswith("Pagina 1 van de PDF bevat 6,6 MB aan opmaakinstructies; hoogstens 5 MB per pagina")

    # A stream that inflates past pypdf's (tightened) decompression limit: pypdf raises LimitReachedError.
    huge = make_pdf([repeated_text_page(2_500_000)])  # 82 MB, more than pypdf's own 75 MB default
    assert len(huge) < 300_000 and PDF_MAX_STREAM_BYTES == 20_000_000
    message = _refused_pdf(tmp_path, huge)
    assert message.startswith("De PDF bevat een onderdeel dat uitgepakt groter is dan 20 MB"), message


def test_broken_pdfs_are_upload_errors_that_name_the_fix(tmp_path):
    good = make_pdf([text_page("Zelfsturende teams in de zorg")])
    start = good.index(b"stream\n") + len(b"stream\n")  # its one content stream: not valid zlib data any more
    scrambled = good[:start] + bytes(b ^ 0x5A for b in good[start:start + 40]) + good[start + 40:]
    cases = {
        "truncated": good[: len(good) // 2],
        "no objects": b"%PDF-1.7\n" + b"\x00" * 200,
        "scrambled stream": scrambled,
        "deep nesting": b"%PDF-1.4\n1 0 obj\n" + b"[" * 100_000 + b"\nendobj\ntrailer << /Root 1 0 R >>\n%%EOF\n",
    }
    for name, data in cases.items():
        message = _refused_pdf(tmp_path, data)
        assert message.startswith("De PDF"), (name, message)
        assert ".md of .txt" in message, (name, message)


# --- red team: the upload size setting (C) ---------------------------------------------------------

@pytest.mark.parametrize("value,expected", [("0.5", 500_000), ("1.9", 1_900_000), ("10", 10_000_000), ("100", 100_000_000)])
def test_upload_max_mb_gives_the_exact_byte_limit(monkeypatch, value, expected):
    from assistant.config import load_settings

    monkeypatch.setenv("ASSISTANT_UPLOAD_MAX_MB", value)
    assert load_settings().upload_max_bytes == expected


@pytest.mark.parametrize("value", ["0", "-1", "0.0000001", "nan", "inf", "101"])
def test_upload_max_mb_out_of_range_is_a_clear_config_error(monkeypatch, value):
    from assistant.config import load_settings
    from assistant.errors import ConfigError

    monkeypatch.setenv("ASSISTANT_UPLOAD_MAX_MB", value)
    with pytest.raises(ConfigError, match="upload_max_mb must be") as refused:
        load_settings()
    assert "ASSISTANT_UPLOAD_MAX_MB" in str(refused.value) or "at least 0.001" in str(refused.value)


def test_half_a_megabyte_limit_accepts_smaller_files_and_names_itself_correctly(tmp_path):
    from assistant.config import Settings

    limit = Settings(upload_max_mb=0.5).upload_max_bytes
    src = tmp_path / "upload.bin"
    src.write_text("---\ntitle: Klein\n---\n\n" + "Het team plant zelf. " * 20_000, encoding="utf-8")  # 0.42 MB
    assert save_upload(src, "klein.md", tmp_path / "corpus", max_bytes=limit).path.is_file()
    src.write_text("Het team plant zelf. " * 30_000, encoding="utf-8")  # 0.63 MB
    with pytest.raises(UploadError) as refused:
        save_upload(src, "groot.md", tmp_path / "corpus", max_bytes=limit)
    assert str(refused.value) == ("'groot.md' is 0,63 MB (630.000 bytes); de grens is 0,5 MB (500.000 bytes, "
                                  "ASSISTANT_UPLOAD_MAX_MB). Verklein of splits het bestand.")


# --- names the index never reads; deleting documents --------------------------------------------------

@pytest.mark.parametrize("name,saved_as", [
    ("README.md", "readme.md"), ("readme.txt", "readme.txt"), ("ReadMe.PDF", "readme.md"), ("docs/README.md", "readme.md"),
])
def test_an_upload_under_a_name_the_index_never_reads_is_refused(tmp_path, real_corpus, name, saved_as):
    from assistant.corpus import corpus_sources

    before = sorted(p.name for p in (real_corpus / "documents").iterdir())
    data = minimal_pdf("Over de map") if name.lower().endswith(".pdf") else "# Over de map\n\nUitleg.\n".encode()
    src = tmp_path / "upload.bin"
    src.write_bytes(data)
    with pytest.raises(UploadError) as refused:
        save_upload(src, name, real_corpus, max_bytes=1_000_000, replace=True)
    message = str(refused.value)
    assert f"opgeslagen als {saved_as}" in message and "de index leest het nooit" in message
    assert "Geef het bestand een andere naam" in message
    assert sorted(p.name for p in (real_corpus / "documents").iterdir()) == before  # nothing written
    assert f"documents/{saved_as}" not in corpus_sources(real_corpus)


@pytest.mark.parametrize("name,data,message", [
    ("leeg.md", b"", "is leeg"),
    ("kapot.md", b"---\ntitle: [kapot\n---\n\nTekst.\n", "geen geldige YAML"),
    ("open.md", b"---\ntitle: Open\n\nTekst.\n", "geen afsluitende regel '---'"),
    ("alleen-kop.md", b"---\ntitle: Niets\n---\n", "heeft front matter maar geen tekst"),
])
def test_a_refused_upload_leaves_the_corpus_folder_unchanged(tmp_path, real_corpus, name, data, message):
    before = {p: p.read_bytes() for p in real_corpus.rglob("*") if p.is_file()}
    src = tmp_path / "upload.bin"
    src.write_bytes(data)
    with pytest.raises(UploadError, match=message):
        save_upload(src, name, real_corpus, max_bytes=1_000_000)
    assert {p: p.read_bytes() for p in real_corpus.rglob("*") if p.is_file()} == before


def test_deletable_documents_lists_documents_only(corpus_dir):
    from assistant.admin import deletable_documents

    (corpus_dir / "documents" / "README.md").write_text("# Uitleg\n", encoding="utf-8")
    (corpus_dir / "documents" / ".verborgen.md").write_text("Tekst.\n", encoding="utf-8")
    listed = {d.source: d for d in deletable_documents(corpus_dir)}
    assert set(listed) == {
        "documents/bakkerij-teams.md", "documents/broken-front-matter.md", "documents/empty.md",
        "documents/latin1.md", "documents/metaal-opleiden.txt", "documents/rooster.xlsx",
        "documents/subsidie-regeling.md"}  # no cases, no README, no hidden file
    regeling = listed["documents/subsidie-regeling.md"]
    assert (regeling.id, regeling.title, regeling.kind, regeling.problem) == (
        "subsidie-regeling", "Stimuleringsregeling voor het mkb", "advies", None)
    broken = listed["documents/broken-front-matter.md"]
    assert broken.id == "" and broken.title == "broken-front-matter.md" and "geen geldige YAML" in broken.problem.text("nl")
    assert deletable_documents(corpus_dir.parent / "nergens") == []


def test_delete_document_removes_one_document(corpus_dir):
    from assistant.admin import deletable_documents, delete_document
    from assistant.corpus import load_corpus

    path = delete_document(corpus_dir, "documents/subsidie-regeling.md")
    assert path == corpus_dir / "documents" / "subsidie-regeling.md" and not path.exists()
    assert "documents/subsidie-regeling.md" not in {d.source for d in deletable_documents(corpus_dir)}
    assert "subsidie-regeling" not in {d.id for d in load_corpus(corpus_dir).documents}
    assert not delete_document(corpus_dir, "documents/empty.md").exists()  # a file the index skips may go too


@pytest.mark.parametrize("source,message", [
    ("cases/case-korenschoof.md", "ligt niet in de map documents/"),
    ("themes/theme-zelfsturing.md", "ligt niet in de map documents/"),
    ("bakkerij-teams.md", "ligt niet in de map documents/"),
    ("documents", "ligt niet in de map documents/"),
    ("documents/../cases/case-korenschoof.md", "geen document van het corpus"),
    ("../corpus/documents/bakkerij-teams.md", "geen document van het corpus"),
    ("documents/../../buiten.txt", "geen document van het corpus"),
    ("/etc/passwd", "geen document van het corpus"),
    ("{corpus}/documents/bakkerij-teams.md", "geen document van het corpus"),
    ("documents\\..\\cases\\case-korenschoof.md", "geen document van het corpus"),
    ("C:/corpus/documents/bakkerij-teams.md", "geen document van het corpus"),
    ("documents/bestaat-niet.md", "Er is geen document 'documents/bestaat-niet.md'"),
    ("documents/README.md", "Er is geen document"),
    ("documents/.verborgen.md", "Er is geen document"),
    ("documents/sub", "Er is geen document"),
    ("", "Er is geen document gekozen"),
    ("   ", "Er is geen document gekozen"),
])
def test_delete_document_refuses_anything_else(corpus_dir, tmp_path, source, message):
    from assistant.admin import AdminError, DeleteError, delete_document

    (corpus_dir / "documents" / "README.md").write_text("# Uitleg\n", encoding="utf-8")
    (corpus_dir / "documents" / ".verborgen.md").write_text("Tekst.\n", encoding="utf-8")
    (corpus_dir / "documents" / "sub").mkdir()
    (corpus_dir / "themes").mkdir()
    (corpus_dir / "themes" / "theme-zelfsturing.md").write_text("---\nid: theme-zelfsturing\n---\n", encoding="utf-8")
    (tmp_path / "buiten.txt").write_text("Buiten het corpus.\n", encoding="utf-8")
    before = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*"))
    with pytest.raises(DeleteError, match=message) as refused:
        delete_document(corpus_dir, source.replace("{corpus}", str(corpus_dir)))
    assert isinstance(refused.value, AdminError) and not isinstance(refused.value, UploadError)
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")) == before  # nothing deleted


def test_delete_document_refuses_a_link_out_of_the_documents_folder(corpus_dir, tmp_path):
    from assistant.admin import DeleteError, delete_document

    outside = tmp_path / "elders"
    outside.mkdir()
    (outside / "geheim.md").write_text("Niet van het corpus.\n", encoding="utf-8")
    (corpus_dir / "documents" / "link").symlink_to(outside, target_is_directory=True)
    with pytest.raises(DeleteError, match="buiten de map documents/"):
        delete_document(corpus_dir, "documents/link/geheim.md")
    assert (outside / "geheim.md").exists()
