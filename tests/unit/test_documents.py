"""The documents carenav keeps with a record: known by extension, checked against their first bytes, named
without folders, up to the size limit; anything else refused with the file named."""

from __future__ import annotations

import pytest

from carenav.documents import MAX_DOCUMENT_BYTES, document_check
from carenav.errors import InvalidInput


@pytest.mark.parametrize(
    ("name", "content", "kind"),
    [
        ("letter.pdf", b"%PDF-1.7\n...", "application/pdf"),
        ("C:\\scans\\fax.TIFF", b"II*\x00rest", "image/tiff"),
        ("../../etc/notes.txt", "Café notes".encode(), "text/plain"),
        ("photo.jpeg", b"\xff\xd8\xff\xe0", "image/jpeg"),
    ],
)
def test_documents_kept(name: str, content: bytes, kind: str) -> None:
    clean, found = document_check(name, content)
    assert found.media_type == kind
    assert "/" not in clean
    assert "\\" not in clean


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("letter.pdf", b"", "empty"),
        ("letter.pdf", b"<html>", "not a PDF"),
        ("letter.exe", b"MZ", "not kept"),
        ("letter", b"x", "not kept"),
        ("notes.txt", b"\xff\xfe", "not UTF-8"),
        ("notes.txt", b"a\x00b", "NUL"),
        ("", b"x", "no file name"),
        ("x" * 201 + ".pdf", b"%PDF-", "over 200"),
        ("big.pdf", b"%PDF-" + b"0" * MAX_DOCUMENT_BYTES, "10 MB"),
    ],
)
def test_documents_refused(name: str, content: bytes, message: str) -> None:
    with pytest.raises(InvalidInput, match=message) as caught:
        document_check(name, content)
    assert caught.value.where is not None
    assert caught.value.where.startswith("document")
