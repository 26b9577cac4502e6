"""Page numbers for lists: 1-based in the address, offset and limit for queries."""

from __future__ import annotations

from dataclasses import dataclass, replace
from urllib.parse import urlencode


@dataclass(frozen=True)
class Paging:
    page: int
    size: int
    total: int = 0

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.size

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))

    @property
    def has_previous(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def first_shown(self) -> int:
        return min(self.total, self.offset + 1)

    @property
    def last_shown(self) -> int:
        return min(self.total, self.offset + self.size)

    def with_total(self, total: int) -> Paging:
        return replace(self, total=total)

    def query_for(self, page: int, query: dict[str, str]) -> str:
        """The query string of another page, keeping the filters (empty ones left out)."""
        kept = {k: v for k, v in query.items() if v}
        return "?" + urlencode({**kept, "page": page})
