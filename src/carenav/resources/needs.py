"""The needs the directory is searched by (``needs.toml``): each with the social-needs domains it answers,
the AIRS/211 taxonomy codes (by their start) and the words that mark a service meeting it. Pure."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from carenav.errors import InvalidInput

NEEDS_PATH = Path(__file__).with_name("needs.toml")
NEED_VOCABULARY = "carenav needs"
NEED_TERM_PREFIX = "carenav-need:"
"""A service kept in carenav says the needs it meets as terms ``carenav-need:<need>`` of this vocabulary."""


@dataclass(frozen=True)
class Need:
    code: str
    label: str
    sdoh_domains: tuple[str, ...]
    airs: tuple[str, ...]
    words: tuple[str, ...]

    def meets(self, term_codes: list[str], text: str) -> bool:
        """Whether a service with these taxonomy codes and this name (and term names) meets the need."""
        if any(code.startswith(prefix) for code in term_codes for prefix in self.airs):
            return True
        if NEED_TERM_PREFIX + self.code in term_codes:
            return True
        lowered = text.lower()
        return any(word in lowered for word in self.words)


@cache
def needs() -> Mapping[str, Need]:
    document = tomllib.loads(NEEDS_PATH.read_text(encoding="utf-8"))
    return {
        code: Need(
            code=code,
            label=str(raw["label"]),
            sdoh_domains=tuple(raw.get("sdoh_domains", [])),
            airs=tuple(raw.get("airs", [])),
            words=tuple(raw.get("words", [])),
        )
        for code, raw in document.items()
    }


def need_get(code: str) -> Need:
    """A need by its code or by an SDOH domain it answers (``food-insecurity`` is ``food``)."""
    for need in needs().values():
        if code == need.code or code in need.sdoh_domains:
            return need
    known = ", ".join(needs())
    raise InvalidInput(f"{code!r} is not a need (known: {known}, or an SDOH domain)", where="need")
