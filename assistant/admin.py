"""Maintainer actions behind the Beheer tab: password check and document upload.

Uploads are checked before anything is written: allowed type (by extension and content), size,
UTF-8 text or a PDF with a text layer, and a safe file name made from the original name (no
directories, no path traversal). The file is written atomically into corpus/documents/.
"""

from __future__ import annotations

import hmac
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from assistant.corpus import slugify
from assistant.errors import AssistantError

ALLOWED_EXTENSIONS = (".md", ".txt", ".pdf")


class UploadError(AssistantError):
    """An uploaded file was refused; the message names the problem and the fix."""


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
        raise UploadError(f"{name!r} is not a .md, .txt or .pdf file; upload the document in one of those formats.")
    slug = slugify(stem)[:80].strip("-")
    if not slug:
        raise UploadError(f"{name!r} has no usable file name; rename it with letters or digits.")
    return slug, ext


def _pdf_to_markdown(data: bytes, title: str) -> str:
    from io import BytesIO

    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    if not data.startswith(b"%PDF-"):
        raise UploadError("The file ends in .pdf but is not a PDF; upload the real PDF or a .md/.txt file.")
    try:
        reader = PdfReader(BytesIO(data))
        pages = [(page.extract_text() or "").strip() for page in reader.pages]
    except (PdfReadError, ValueError, KeyError) as e:
        raise UploadError(f"The PDF cannot be read ({e}); save it again as PDF or upload a .md/.txt file.") from e
    if not any(pages):
        raise UploadError("The PDF has no text layer (a scan?); upload a text version (.md or .txt).")
    body = "\n\n".join(f"<!-- pagina {i} -->\n\n{text}" for i, text in enumerate(pages, 1) if text)
    return f"---\ntitle: {title!r}\nkind: overig\nlanguage: nl\n---\n\n{body}\n"


@dataclass
class SavedUpload:
    path: Path
    replaced: bool


def save_upload(uploaded: Path, original_name: str, corpus_dir: Path, max_bytes: int) -> SavedUpload:
    """Check an uploaded file and write it into corpus/documents/ (a PDF as Markdown text)."""
    slug, ext = safe_file_name(original_name)
    size = uploaded.stat().st_size
    if size == 0:
        raise UploadError(f"{original_name!r} is empty; upload a file with text.")
    if size > max_bytes:
        raise UploadError(f"{original_name!r} is {size / 1e6:.1f} MB; the limit is {max_bytes / 1e6:.0f} MB "
                          "(ASSISTANT_UPLOAD_MAX_MB).")
    data = uploaded.read_bytes()
    if ext == ".pdf":
        text, ext = _pdf_to_markdown(data, title=Path(original_name).stem), ".md"
    else:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as e:
            raise UploadError(f"{original_name!r} is not UTF-8 text; save it as UTF-8 and upload it again.") from e
        if "\x00" in text:
            raise UploadError(f"{original_name!r} contains binary data; upload a text file.")
    folder = (corpus_dir / "documents").resolve()
    folder.mkdir(parents=True, exist_ok=True)
    target = (folder / f"{slug}{ext}").resolve()
    if target.parent != folder:  # cannot happen with a slug, checked anyway
        raise UploadError(f"{original_name!r} would be written outside {folder}; rename it.")
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
