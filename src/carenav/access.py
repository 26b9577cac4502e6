"""Who is acting, and the gatekeepers every patient-scoped read and write goes through.

An ``Actor`` is built at the edge (a web login, an API token, a CLI operator, a feed) and passed to
services. Gatekeepers answer NotFound, never Forbidden, for a patient outside the actor's reach, so
that the existence of a patient is not revealed.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Actor:
    """The principal of a request or job.

    ``kind``: user (a person signed in, or their API token), operator (the CLI), system (a feed or job).
    ``user_id`` and ``role`` are set for users; ``team_id`` for care managers and supervisors in a team.
    """

    org_id: int
    label: str
    kind: str = "user"
    user_id: int | None = None
    role: str | None = None
    team_id: int | None = None
    client_addr: str | None = None
    channel: str = "web"
    scopes: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def operator(cls, org_id: int, label: str = "cli") -> Actor:
        """An operator at the command line: full reach within one organization."""
        return cls(org_id=org_id, label=f"operator:{label}", kind="operator", channel="cli")

    @classmethod
    def system(cls, org_id: int, label: str, channel: str = "feed") -> Actor:
        """A feed or background job acting for one organization."""
        return cls(org_id=org_id, label=f"system:{label}", kind="system", channel=channel)

    @property
    def sees_whole_organization(self) -> bool:
        """Operators, jobs and admins reach every patient of their organization."""
        return self.kind in {"operator", "system"} or self.role == "admin"
