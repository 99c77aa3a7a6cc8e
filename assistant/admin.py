"""Maintainer actions behind the Beheer tab: password check, document upload and deletion.

Uploads are checked before anything is written: allowed type (by extension and content), size,
UTF-8 text or a PDF with a text layer (within bounds on pages, text and time), a safe file name
made from the original name (no directories, no path traversal), a document the corpus loader
accepts and that stays within the passage bound, and an id that belongs to no other file. An
existing file is only replaced when the maintainer asks for it (replace=True). The file is written
atomically into corpus/documents/. A name the index never reads (README.md, readme.txt) is refused.

`deletable_documents` lists the files of corpus/documents/ a maintainer may delete and
`delete_document` deletes one of them; practice cases, themes and anything outside corpus/documents/
are refused.

AdminError messages (UploadError, DeleteError) are shown to the (Dutch) maintainers as they are:
they are in Dutch.
"""

from __future__ import annotations

import hmac
import os
import tempfile
import time
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

from assistant.config import ChunkingSettings, format_mb, passage_limit
from assistant.corpus import SkipFile, corpus_files, is_candidate, load_corpus, load_file, parse_document, slugify
from assistant.errors import UserError
from assistant.messages import Message
from assistant.models import Document

ALLOWED_EXTENSIONS = (".md", ".txt", ".pdf")
REPLACE_LABEL = "Vervang bestaand document"  # the checkbox in the Beheer tab that sets replace=True

# Bounds on a PDF upload: far above a real report (the largest source is ~80 pages, ~80,000
# characters), low enough that a crafted file cannot keep the server busy for long.
PDF_MAX_PAGES = 500
PDF_MAX_CHARS = 2_000_000
PDF_MAX_SECONDS = 60.0
# Text extraction takes time in proportion to a page's (decompressed) content stream, and one page
# cannot be interrupted: ~4 MB took 10-25 s here. Real pages have kilobytes; a page with more than
# this is refused before its text is extracted.
PDF_MAX_PAGE_CONTENT_BYTES = 5_000_000
# pypdf's own limits, tightened: no stream may inflate to more than this (pypdf's default: 75 MB).
PDF_MAX_STREAM_BYTES = 20_000_000

_PDF_FIX = "sla de PDF opnieuw op als PDF (bijvoorbeeld via Afdrukken > Opslaan als PDF) of upload de tekst als .md of .txt"


DOCUMENTS_FOLDER = "documents"  # the only folder of the corpus that uploads write and deletions touch


class AdminError(UserError):
    """A maintainer action was refused; the message (Dutch) names the problem and the fix."""


class UploadError(AdminError):
    """An uploaded file was refused; the message (Dutch) names the problem and the fix."""


class DeleteError(AdminError):
    """Deleting a document was refused; the message (Dutch) names the problem and the fix."""


def password_ok(given: str | None, expected: str | None) -> bool:
    """Constant-time comparison; no configured password means no access at all."""
    if not expected or not given:
        return False
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def safe_file_name(original: str) -> tuple[str, str]:
    """(slug, extension) from an uploaded file's name: only the last path part, ASCII, lower case."""
    name = original.replace("\\", "/").rsplit("/", 1)[-1]
    stem, dot, ext = name.rpartition(".")
    if not dot:
        stem, ext = name, ""
    ext = "." + ext.lower() if ext else ""
    if ext not in ALLOWED_EXTENSIONS:
        raise UploadError(f"{name!r} is geen .md-, .txt- of .pdf-bestand; upload het document in een van die formaten.")
    slug = slugify(stem)[:80].strip("-")
    if not slug:
        raise UploadError(f"{name!r} heeft geen bruikbare bestandsnaam; geef het een naam met letters of cijfers.")
    return slug, ext


def _pdf_limits():
    """pypdf's decompression limits, tightened for uploads (a no-op on pypdf versions without them)."""
    try:
        from pypdf import apply_configuration
    except ImportError:
        return nullcontext()
    cap = PDF_MAX_STREAM_BYTES
    return apply_configuration(
        maximum_declared_stream_length=cap, zlib_maximum_output_length=cap, lzw_maximum_output_length=cap,
        run_length_maximum_output_length=cap, array_based_stream_maximum_output_length=cap,
        brotli_maximum_output_length=cap, jbig2_maximum_output_length=cap, image_maximum_buffer_size=cap,
    )


def _encrypted_error() -> UploadError:
    return UploadError(
        "De PDF is beveiligd (versleuteld met een wachtwoord of met beperkingen) en wordt daarom niet ingelezen. "
        "Open hem, sla een kopie op zonder beveiliging (bijvoorbeeld via Afdrukken > Opslaan als PDF) en upload "
        "die, of upload de tekst als .md of .txt.")


def _pdf_to_markdown(data: bytes, title: str, *, max_pages: int = PDF_MAX_PAGES, max_chars: int = PDF_MAX_CHARS,
                     max_seconds: float = PDF_MAX_SECONDS) -> str:
    """The text layer of a PDF as a Markdown document, or UploadError naming why not.

    Refuses encrypted PDFs, more than `max_pages` pages, a page whose content stream inflates to
    more than PDF_MAX_PAGE_CONTENT_BYTES, more than `max_chars` characters of text, and extraction
    that takes longer than `max_seconds` (checked between pages; the content bound and pypdf's own
    limits, tightened by _pdf_limits, bound the work on one page). Every error pypdf raises becomes
    an UploadError.
    """
    from io import BytesIO

    from pypdf import PdfReader, errors
    from pypdf.errors import DependencyError, FileNotDecryptedError, PdfReadError, PyPdfError

    limit_reached = getattr(errors, "LimitReachedError", ())  # pypdf >= 5

    if not data.startswith(b"%PDF-"):
        raise UploadError("Het bestand eindigt op .pdf maar is geen PDF; upload de echte PDF of een .md/.txt-bestand.")
    deadline = time.monotonic() + max_seconds
    pages: list[str] = []
    try:
        with _pdf_limits():
            reader = PdfReader(BytesIO(data))
            if reader.is_encrypted:
                raise _encrypted_error()
            count = len(reader.pages)
            if count > max_pages:
                raise UploadError(f"De PDF heeft {_n(count)} pagina's; er worden er hoogstens {_n(max_pages)} "
                                  "ingelezen. Splits hem in kleinere documenten of upload de tekst als .md of .txt.")
            total = 0
            for number, page in enumerate(reader.pages, 1):
                if time.monotonic() > deadline:
                    raise UploadError(
                        f"De tekst uit de PDF halen duurde langer dan {max_seconds:g} seconden (bij pagina {number} "
                        f"van {count}); de PDF is te groot of te ingewikkeld. Splits hem of upload de tekst als .md "
                        "of .txt.")
                contents = page.get_contents()
                content_bytes = len(contents.get_data()) if contents is not None else 0
                if content_bytes > PDF_MAX_PAGE_CONTENT_BYTES:
                    raise UploadError(
                        f"Pagina {number} van de PDF bevat {format_mb(content_bytes, ',')} aan opmaakinstructies; "
                        f"hoogstens {format_mb(PDF_MAX_PAGE_CONTENT_BYTES, ',')} per pagina wordt ingelezen (een "
                        "gewone pagina heeft enkele kilobytes). Upload de tekst als .md of .txt, of sla de PDF "
                        "opnieuw op via Afdrukken > Opslaan als PDF.")
                text = (page.extract_text() or "").strip()
                total += len(text)
                if total > max_chars:
                    raise UploadError(
                        f"De PDF bevat meer dan {_n(max_chars)} tekens tekst (grens bereikt op pagina {number}); "
                        "splits hem in kleinere documenten of upload de tekst als .md of .txt.")
                pages.append(text)
            if time.monotonic() > deadline:
                raise UploadError(f"De tekst uit de PDF halen duurde langer dan {max_seconds:g} seconden; de PDF is te "
                                  "groot of te ingewikkeld. Splits hem of upload de tekst als .md of .txt.")
    except UploadError:
        raise
    except FileNotDecryptedError as e:
        raise _encrypted_error() from e
    except limit_reached as e:
        raise UploadError(
            f"De PDF bevat een onderdeel dat uitgepakt groter is dan {format_mb(PDF_MAX_STREAM_BYTES, ',')} of te "
            f"ingewikkeld is om veilig in te lezen ({_short(e)}); {_PDF_FIX}.") from e
    except DependencyError as e:
        if b"/Encrypt" in data:
            raise _encrypted_error() from e
        raise UploadError(f"Voor deze PDF mist de server een onderdeel ({e}); {_PDF_FIX}.") from e
    except (PdfReadError, PyPdfError) as e:
        raise UploadError(f"De PDF is beschadigd of kan niet worden gelezen ({_short(e)}); {_PDF_FIX}.") from e
    except Exception as e:  # malformed streams and objects raise anything: ValueError, KeyError, zlib.error, ...
        raise UploadError(f"De PDF kan niet worden gelezen ({type(e).__name__}: {_short(e)}); {_PDF_FIX}.") from e
    if not any(pages):
        raise UploadError("De PDF heeft geen tekstlaag (een scan?); upload een tekstversie (.md of .txt).")
    body = "\n\n".join(f"<!-- pagina {i} -->\n\n{text}" for i, text in enumerate(pages, 1) if text)
    return f"---\ntitle: {title!r}\nkind: overig\nlanguage: nl\n---\n\n{body}\n"


def _n(number: int) -> str:
    """A whole number the Dutch way: 2.000.000."""
    return f"{number:,}".replace(",", ".")


def _short(error: Exception, limit: int = 200) -> str:
    text = str(error) or type(error).__name__
    return text if len(text) <= limit else text[:limit] + "…"


@dataclass
class SavedUpload:
    path: Path
    replaced: bool


def _describe(source: str, doc: Document | None) -> str:
    return f"{source} ('{doc.title}', id '{doc.id}')" if doc else source


def _check_document(text: str, rel: str, name: str, chunking: ChunkingSettings, max_passages: int) -> Document:
    """The upload as the corpus loader will read it; refused when it would be skipped or is too long."""
    from assistant.chunking import chunk_document

    try:
        doc = parse_document(text.encode("utf-8"), rel)
    except SkipFile as e:
        raise UploadError(f"{name!r} kan zo niet worden geïndexeerd ({e.message.text('nl')}); pas het bestand "
                          "aan en upload het opnieuw.") from e
    count = len(chunk_document(doc, chunking))
    if count > max_passages:
        raise UploadError(
            f"{name!r} zou {_n(count)} passages opleveren; één document mag er hoogstens {_n(max_passages)} hebben "
            "(ASSISTANT_MAX_DOCUMENT_PASSAGES). Splits het in kleinere documenten.")
    return doc


def _check_claims(doc: Document, target: Path, corpus_dir: Path, name: str, replace: bool) -> None:
    """An upload may not take the id of another file, nor replace a file unless asked to (replace=True)."""
    report = load_corpus(corpus_dir) if corpus_dir.is_dir() else None
    documents = report.documents if report else []
    by_source = {d.source: d for d in documents}
    claims: dict[str, list[str]] = {}
    for d in documents:
        claims.setdefault(d.id, []).append(d.source)
    for doc_id, sources in (report.conflicts if report else {}).items():
        claims.setdefault(doc_id, []).extend(sources)
    others = [s for s in claims.get(doc.id, []) if s != doc.source]
    if others:
        owner = _describe(others[0], by_source.get(others[0]))
        other_name = Path(others[0]).name
        start = (f"Ook met '{REPLACE_LABEL}' aangevinkt mag {name!r} alleen het bestand met dezelfde naam vervangen: "
                 if replace else f"{name!r} kan niet worden opgeslagen: ")
        raise UploadError(
            f"{start}het heeft het document-id '{doc.id}', en dat id hoort al bij {owner}. Een upload mag geen ander "
            f"document overnemen. Wil je dat document vervangen? Upload het dan onder dezelfde bestandsnaam "
            f"({other_name}) en vink '{REPLACE_LABEL}' aan. Is het een ander document? Geef het dan een eigen id "
            "(de regel 'id:' bovenin) of een andere bestandsnaam.")
    if target.exists() and not replace:
        existing = _describe(doc.source, by_source.get(doc.source))
        raise UploadError(
            f"Er bestaat al een document met de bestandsnaam {target.name}: {existing}. Vink '{REPLACE_LABEL}' aan "
            "om het te vervangen, of geef het bestand een andere naam.")


def save_upload(
    uploaded: Path,
    original_name: str,
    corpus_dir: Path,
    max_bytes: int,
    replace: bool = False,
    *,
    chunking: ChunkingSettings | None = None,
    max_passages: int | None = None,
) -> SavedUpload:
    """Check an uploaded file and write it into corpus/documents/ (a PDF as Markdown text).

    `max_bytes` is the size limit (Settings.upload_max_bytes). Without `replace`, an upload whose
    file name exists already is refused; with it, that file is replaced. Either way an upload may
    not claim the document id of another file. `chunking` and `max_passages` (Settings.chunking and
    Settings.document_passage_limit; defaults: the default settings) bound the passages it gives.
    """
    chunking = chunking or ChunkingSettings()
    max_passages = max_passages or passage_limit(chunking)
    slug, ext = safe_file_name(original_name)
    size = uploaded.stat().st_size
    if size == 0:
        raise UploadError(f"{original_name!r} is leeg; upload een bestand met tekst.")
    if size > max_bytes:
        raise UploadError(
            f"{original_name!r} is {format_mb(size, ',')} ({_n(size)} bytes); de grens is {format_mb(max_bytes, ',')} "
            f"({_n(max_bytes)} bytes, ASSISTANT_UPLOAD_MAX_MB). Verklein of splits het bestand.")
    data = uploaded.read_bytes()
    if ext == ".pdf":
        text, ext = _pdf_to_markdown(data, title=Path(original_name).stem), ".md"
    else:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as e:
            raise UploadError(f"{original_name!r} is geen UTF-8-tekst; sla het op als UTF-8 en upload het opnieuw.") from e
        if "\x00" in text:
            raise UploadError(f"{original_name!r} bevat binaire gegevens; upload een tekstbestand.")
    folder = (corpus_dir / "documents").resolve()
    target = (folder / f"{slug}{ext}").resolve()
    if target.parent != folder:  # cannot happen with a slug, checked anyway
        raise UploadError(f"{original_name!r} zou buiten {folder} worden opgeslagen; geef het een andere naam.")
    if not is_candidate(f"{DOCUMENTS_FOLDER}/{target.name}"):  # README.md, readme.txt: they describe the folder
        raise UploadError(
            f"{original_name!r} zou worden opgeslagen als {target.name}, en een bestand met die naam beschrijft de "
            "corpusmap: de index leest het nooit. Geef het bestand een andere naam (bijvoorbeeld de titel van het "
            "document) en upload het opnieuw.")
    doc = _check_document(text, f"documents/{target.name}", original_name, chunking, max_passages)
    _check_claims(doc, target, corpus_dir, original_name, replace)
    folder.mkdir(parents=True, exist_ok=True)
    replaced = target.exists()
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".upload-", suffix=ext)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return SavedUpload(target, replaced)


# --- deleting ----------------------------------------------------------------------------------------


@dataclass
class DeletableDocument:
    """A file of corpus/documents/ a maintainer may delete, as the Beheer tab lists it."""

    source: str  # path relative to the corpus folder, "documents/x.md": what delete_document takes
    id: str  # "" when the file cannot be loaded
    title: str  # the file name when it cannot be loaded
    kind: str  # "" when it cannot be loaded
    problem: Message | None = None  # why the index skips it (`.text("nl")`), None when it loads


def deletable_documents(corpus_dir: Path) -> list[DeletableDocument]:
    """The files under corpus/documents/ the index reads (READMEs and hidden files left out), sorted by
    source; a file the index skips is listed too (id and kind empty, `problem` says why), so a broken
    upload can be removed. Practice cases (corpus/cases/) and themes are never listed."""
    folder = corpus_dir / DOCUMENTS_FOLDER
    if not folder.is_dir():
        return []
    listed = []
    for path in corpus_files(corpus_dir):
        source = path.relative_to(corpus_dir).as_posix()
        if not source.startswith(DOCUMENTS_FOLDER + "/"):
            continue
        try:
            doc = load_file(path, corpus_dir)
        except SkipFile as e:
            listed.append(DeletableDocument(source, "", path.name, "", e.message))
        except OSError:
            listed.append(DeletableDocument(source, "", path.name, ""))
        else:
            listed.append(DeletableDocument(source, doc.id, doc.title, doc.kind))
    return listed


def delete_document(corpus_dir: Path, source: str) -> Path:
    """Delete one file of corpus/documents/ (`source` as deletable_documents lists it, "documents/x.md")
    and return its path. Refused (DeleteError, Dutch) for anything else: practice cases, themes, files
    outside the corpus folder, absolute paths or paths with '..', hidden files, READMEs, unknown names.
    The index changes only at the next `build_index` (the Beheer tab's "Index bijwerken")."""
    from pathlib import PurePosixPath

    shown = repr(source) if isinstance(source, str) else repr(str(source))
    if not isinstance(source, str) or not source.strip():
        raise DeleteError("Er is geen document gekozen; kies het document dat je wilt verwijderen uit de lijst.")
    rel = PurePosixPath(source)
    if "\\" in source or rel.is_absolute() or ":" in source or any(part in ("..", ".") for part in rel.parts):
        raise DeleteError(f"{shown} is geen document van het corpus (alleen een pad als 'documents/naam.md' mag); "
                          "kies het document uit de lijst.")
    if not rel.parts or rel.parts[0] != DOCUMENTS_FOLDER or len(rel.parts) < 2:
        raise DeleteError(f"{shown} ligt niet in de map documents/; alleen documenten daar kunnen hier worden "
                          "verwijderd. Praktijkvoorbeelden (cases/) en thema's (themes/) beheer je in de corpusmap zelf.")
    folder = (corpus_dir / DOCUMENTS_FOLDER).resolve()
    path = corpus_dir / rel
    try:
        path.parent.resolve().relative_to(folder)
    except ValueError:
        raise DeleteError(f"{shown} ligt buiten de map documents/ (via een snelkoppeling); dat wordt niet "
                          "verwijderd.") from None
    if not is_candidate(source) or not path.is_file():
        raise DeleteError(f"Er is geen document {shown} in de map documents/; vernieuw de lijst en kies een "
                          "document dat er staat.")
    try:
        path.unlink()
    except FileNotFoundError:
        raise DeleteError(f"{shown} is intussen al verwijderd; vernieuw de lijst.") from None
    except OSError as e:
        raise DeleteError(f"{shown} kan niet worden verwijderd ({e.strerror}); controleer de rechten op de "
                          "corpusmap.") from e
    return path
