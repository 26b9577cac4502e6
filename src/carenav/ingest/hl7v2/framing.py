"""Raw bytes -> messages: decoding, segment separators, splitting a file, MLLP block characters. Pure.

Real feeds end segments with CR (the standard), LF or CRLF, put a UTF-8 byte-order mark before MSH and
leave the last segment unterminated. Everything is normalised to CR-terminated segments before parsing,
and a file is split into messages at segments that *start* with ``MSH`` (the text ``MSH`` inside a
field does not start a message). Batch and file envelopes (FHS, BHS, BTS, FTS) are dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

START_BLOCK = b"\x0b"  # VT
END_BLOCK = b"\x1c"  # FS
CARRIAGE_RETURN = b"\r"
BOM = "\ufeff"

_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_ENVELOPE = frozenset({"FHS", "BHS", "BTS", "FTS"})


def decode(data: bytes) -> str:
    """Text of a message or file: UTF-8 (with or without a BOM), else ISO 8859-1 (which never fails)."""
    if data.startswith(BOM.encode()):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def segment_lines(text: str) -> list[tuple[int, str]]:
    """(line number, segment) for every non-empty line, whatever the separator, without trailing blanks."""
    text = text.lstrip(BOM)
    lines = []
    for number, line in enumerate(_LINE_BREAK.split(text), start=1):
        stripped = line.rstrip(" \t\x00").lstrip(BOM)
        if stripped.strip():
            lines.append((number, stripped))
    return lines


def starts_message(line: str) -> bool:
    """Does this segment begin a message (``MSH`` followed by its field separator)?"""
    return line.startswith("MSH") and len(line) > 3 and not line[3].isalnum()


@dataclass(frozen=True)
class RawMessage:
    """One message cut out of a file or an MLLP block, its segments normalised."""

    index: int  # 1-based position in its file or block
    first_line: int  # line of the file it starts at
    segments: tuple[str, ...]

    @property
    def text(self) -> str:
        """The message as the standard writes it: segments each ended by CR."""
        return "".join(f"{segment}\r" for segment in self.segments)

    @property
    def size(self) -> int:
        return len(self.text.encode("utf-8"))


def split_messages(text: str) -> list[RawMessage]:
    """The messages of a file or block, in order. Lines before the first MSH (other than batch
    envelopes) form a message of their own, which the parser then refuses for lacking MSH."""
    messages: list[RawMessage] = []
    current: list[str] = []
    first_line = 1

    def close() -> None:
        if current:
            messages.append(RawMessage(len(messages) + 1, first_line, tuple(current)))

    for number, line in segment_lines(text):
        if line[:3] in _ENVELOPE and (len(line) == 3 or not line[3].isalnum()):
            close()
            current = []
            continue
        if starts_message(line):
            close()
            current = []
            first_line = number
        elif not current:
            first_line = number
        current.append(line)
    close()
    return messages
