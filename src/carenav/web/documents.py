"""Documents through the browser: reading an uploaded file (no more than one byte over the limit, which is
enough to refuse it) and sending a kept document back as a download that is never cached. The rules of what
is kept are ``carenav.documents``."""

from __future__ import annotations

from typing import Protocol
from urllib.parse import quote

from fastapi import UploadFile
from fastapi.responses import Response

from carenav.documents import DOCUMENT_KINDS, MAX_DOCUMENT_BYTES
from carenav.errors import InvalidInput

ACCEPTED_TYPES = ",".join(e for k in DOCUMENT_KINDS for e in k.extensions)
"""The file input's ``accept``."""
MAX_DOCUMENT_MB = MAX_DOCUMENT_BYTES // 1024 // 1024


class KeptDocument(Protocol):
    filename: str
    media_type: str
    content: bytes


def read_upload(upload: UploadFile | None, where: str) -> tuple[str, bytes]:
    """The uploaded file's name and content; InvalidInput when no file was chosen."""
    if upload is None or not upload.filename:
        raise InvalidInput("choose the file to attach", where=where)
    return upload.filename, upload.file.read(MAX_DOCUMENT_BYTES + 1)


def download(document: KeptDocument) -> Response:
    return Response(
        content=document.content,
        media_type=document.media_type,
        headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(document.filename)}",
            "Cache-Control": "no-store",
        },
    )
