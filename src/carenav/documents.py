"""Documents kept with a record (a prior authorization's letters and notes, a referral's attachments): the
kinds carenav keeps, each known by its extension and checked against its first bytes, and the size limit.
Pure: no SQL, no HTTP."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from carenav.errors import InvalidInput

MAX_DOCUMENT_BYTES = 10 * 1024 * 1024
MAX_FILENAME = 200


@dataclass(frozen=True)
class DocumentKind:
    media_type: str
    label: str
    extensions: tuple[str, ...]
    signatures: tuple[bytes, ...]  # empty: text, checked as UTF-8


DOCUMENT_KINDS: tuple[DocumentKind, ...] = (
    DocumentKind("application/pdf", "PDF", (".pdf",), (b"%PDF-",)),
    DocumentKind("image/png", "PNG image", (".png",), (b"\x89PNG\r\n\x1a\n",)),
    DocumentKind("image/jpeg", "JPEG image", (".jpg", ".jpeg"), (b"\xff\xd8\xff",)),
    DocumentKind("image/tiff", "TIFF image (fax)", (".tif", ".tiff"), (b"II*\x00", b"MM\x00*")),
    DocumentKind(
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "Word document",
        (".docx",),
        (b"PK\x03\x04",),
    ),
    DocumentKind("text/plain", "text", (".txt",), ()),
)


def document_check(filename: str, content: bytes) -> tuple[str, DocumentKind]:
    """The document's clean name (no folders, no control characters) and its kind, by its extension and
    checked against its first bytes; InvalidInput saying what is wrong otherwise."""
    name = re.sub(r"[\x00-\x1f\x7f]", "", filename.replace("\\", "/").rsplit("/", 1)[-1]).strip()
    where = f"document {name or filename!r}"
    if not name or name in {".", ".."}:
        raise InvalidInput("the document has no file name", where="document")
    if len(name) > MAX_FILENAME:
        raise InvalidInput(f"the file name is over {MAX_FILENAME} characters", where=where)
    if not content:
        raise InvalidInput("the file is empty", where=where)
    if len(content) > MAX_DOCUMENT_BYTES:
        raise InvalidInput(
            f"the file is {len(content) / 1024 / 1024:.1f} MB; documents are kept up to"
            f" {MAX_DOCUMENT_BYTES // 1024 // 1024} MB (share a larger one another way)",
            where=where,
        )
    extension = Path(name).suffix.lower()
    kind = next((k for k in DOCUMENT_KINDS if extension in k.extensions), None)
    if kind is None:
        allowed = ", ".join(e for k in DOCUMENT_KINDS for e in k.extensions)
        raise InvalidInput(
            f"a {extension or 'nameless'} file is not kept; attach one of {allowed}", where=where
        )
    if kind.signatures:
        if not any(content.startswith(s) for s in kind.signatures):
            raise InvalidInput(f"the file's content is not a {kind.label}", where=where)
    else:
        try:
            text = content.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidInput("the file is not UTF-8 text", where=where) from None
        if "\x00" in text:
            raise InvalidInput("the file is not text (it holds NUL bytes)", where=where)
    return name, kind


def document_columns(
    filename: str, content: bytes, description: str | None, added_by: str
) -> dict[str, object]:
    """The columns of a kept document (``db.mixins.DocumentMixin``) for this file, checked by
    ``document_check``."""
    name, kind = document_check(filename, content)
    return {
        "filename": name,
        "media_type": kind.media_type,
        "size_bytes": len(content),
        "sha256": hashlib.sha256(content).hexdigest(),
        "content": content,
        "description": (description or "").strip() or None,
        "added_by": added_by,
    }


def kind_label(media_type: str) -> str:
    """How a kept document's kind is named to people ("PDF", "Word document")."""
    return next((k.label for k in DOCUMENT_KINDS if k.media_type == media_type), media_type)
