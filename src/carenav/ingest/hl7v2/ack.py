"""Acknowledgements (ACK, original mode): MSA-1 AA, AE or AR, echoing the message's control id.

Built by hand rather than with ``hl7.Message.create_ack``, which reads the wall clock itself and needs
a parsed message (a NAK for garbage has none). The ACK uses the sender's own separators.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from carenav.feeds.rules import AckCode
from carenav.feeds.schemas import MessageHeader

DEFAULT_VERSION = "2.5.1"
RECEIVING_APPLICATION = "CARENAV"


class ErrorCode:
    """HL7 table 0357 (message error condition codes) used in ERR-3."""

    SEGMENT_SEQUENCE = "100"
    REQUIRED_FIELD_MISSING = "101"
    DATA_TYPE = "102"
    UNSUPPORTED_MESSAGE_TYPE = "200"
    UNSUPPORTED_EVENT = "201"
    UNKNOWN_KEY = "204"
    INTERNAL = "207"


_ERROR_TEXT = {
    "100": "Segment sequence error",
    "101": "Required field missing",
    "102": "Data type error",
    "200": "Unsupported message type",
    "201": "Unsupported event code",
    "204": "Unknown key identifier",
    "207": "Application internal error",
}


def _escape(text: str, field_separator: str, encoding: str) -> str:
    component, repetition, escape, subcomponent = (list(encoding) + ["^", "~", "\\", "&"][len(encoding) :])[
        :4
    ]
    out = []
    for char in text.replace("\r", " ").replace("\n", " "):
        if char == escape:
            out.append(f"{escape}E{escape}")
        elif char == field_separator:
            out.append(f"{escape}F{escape}")
        elif char == component:
            out.append(f"{escape}S{escape}")
        elif char == repetition:
            out.append(f"{escape}R{escape}")
        elif char == subcomponent:
            out.append(f"{escape}T{escape}")
        else:
            out.append(char)
    return "".join(out)


def _error_location(where: str | None, component: str) -> str:
    """``PID-7`` -> ``PID^1^7`` (ERR-2); anything else -> empty."""
    if not where or "-" not in where:
        return ""
    segment, _, field = where.rpartition("-")
    segment_id, _, ordinal = segment.partition("[")
    if len(segment_id) != 3 or not field.isdigit():
        return ""
    return component.join([segment_id, ordinal.rstrip("]") or "1", field])


def ack_build(
    *,
    header: MessageHeader | None,
    code: AckCode,
    at: datetime,
    facility: str,
    text: str | None = None,
    error_code: str | None = None,
    where: str | None = None,
) -> str:
    """The ACK for a message (``header`` None when it could not be read), segments ended by CR."""
    fs = header.field_separator if header else "|"
    enc = header.encoding_characters if header else "^~\\&"
    component = enc[0] if enc else "^"

    def esc(value: str) -> str:
        return _escape(value, fs, enc)

    trigger = header.trigger_event if header else ""
    msh = fs.join(
        [
            f"MSH{fs}{enc}",
            RECEIVING_APPLICATION,
            esc(facility),
            esc(header.sending_application) if header else "",
            esc(header.sending_facility) if header else "",
            at.strftime("%Y%m%d%H%M%S+0000"),
            "",
            component.join(["ACK", esc(trigger), "ACK"]) if trigger else "ACK",
            uuid.uuid4().hex[:20].upper(),
            esc(header.processing_id) if header and header.processing_id else "P",
            esc(header.version) if header and header.version else DEFAULT_VERSION,
        ]
    )
    segments = [
        msh,
        fs.join(["MSA", code.value, esc(header.control_id) if header else "", esc(text or "")[:200]]),
    ]
    if code is not AckCode.ACCEPT:
        err_code = error_code or ErrorCode.INTERNAL
        segments.append(
            fs.join(
                [
                    "ERR",
                    "",
                    _error_location(where, component),
                    component.join([err_code, _ERROR_TEXT.get(err_code, ""), "HL70357"]),
                    "E",
                    "",
                    "",
                    "",
                    esc(text or "")[:1000],
                ]
            )
        )
    return "".join(f"{segment}\r" for segment in segments)
