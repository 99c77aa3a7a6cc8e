"""Maintainer actions: password check, upload checks (type, size, encoding, safe names), PDF text, feedback log."""

import pytest

from assistant import feedback
from assistant.admin import UploadError, password_ok, safe_file_name, save_upload
from assistant.models import Answer, Citation


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


@pytest.mark.parametrize("name,message", [("rooster.xlsx", "not a .md, .txt or .pdf"), ("script.sh", "not a .md"),
                                          ("....md", "no usable file name"), ("noextension", "not a .md")])
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
    assert save_upload(src, "mijn document.md", corpus, max_bytes=1000).replaced
    assert not list((corpus / "documents").glob(".upload-*"))  # no temporary files left

    src.write_bytes("café".encode("latin-1"))
    with pytest.raises(UploadError, match="not UTF-8"):
        save_upload(src, "oud.txt", corpus, max_bytes=1000)
    src.write_text("x" * 2000, encoding="utf-8")
    with pytest.raises(UploadError, match="the limit is"):
        save_upload(src, "groot.txt", corpus, max_bytes=1000)
    src.write_bytes(b"")
    with pytest.raises(UploadError, match="empty"):
        save_upload(src, "leeg.md", corpus, max_bytes=1000)
    src.write_text("not a pdf at all", encoding="utf-8")
    with pytest.raises(UploadError, match="not a PDF"):
        save_upload(src, "nep.pdf", corpus, max_bytes=1000)
    assert sorted(p.name for p in (corpus / "documents").iterdir()) == ["mijn-document.md"]  # nothing else written


def test_pdf_upload_becomes_markdown_with_its_text(tmp_path):
    src = tmp_path / "in.pdf"
    src.write_bytes(minimal_pdf("Zelfsturende teams in de zorg"))
    saved = save_upload(src, "Zorg Rapport.pdf", tmp_path / "corpus", max_bytes=100_000)
    text = saved.path.read_text(encoding="utf-8")
    assert saved.path.name == "zorg-rapport.md"
    assert text.startswith("---\ntitle: 'Zorg Rapport'\n") and "Zelfsturende teams in de zorg" in text


def test_feedback_log_round_trip_disliked_first(tmp_path):
    path = tmp_path / "fb" / "feedback.jsonl"
    citation = Citation(1, "d:0001:abc", "d", "Titel", "1 Kop", "artikel", "tekst", 0, 5)
    answer = Answer(text="Antwoord [1]", citations=[citation], cases=[], refused=False, mode="extractive",
                    build_id="b1")
    feedback.record(path, liked=True, question="eerste", answer=answer)
    feedback.record(path, liked=False, question="tweede", answer=answer)
    with open(path, "a", encoding="utf-8") as f:
        f.write("{broken\n")
    rows = feedback.read(path)
    assert [r["question"] for r in rows] == ["tweede", "eerste"]
    assert rows[1]["citations"] == [{"n": 1, "chunk_id": "d:0001:abc", "title": "Titel", "section": "1 Kop"}]
    assert rows[0]["build_id"] == "b1" and rows[0]["liked"] is False
    assert feedback.read(tmp_path / "none.jsonl") == []
