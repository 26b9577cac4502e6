"""The main navigation. Later features slot in by giving their item a path (and, if need be, roles).

An item without a path is shown as coming, never as a dead link.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class NavItem:
    key: str
    label: str
    path: str | None
    roles: frozenset[str] | None = None  # None: every role
    coming: str = ""


NAV_ITEMS: tuple[NavItem, ...] = (
    NavItem("worklist", "Worklist", "/worklist", frozenset({"care_manager", "supervisor", "admin"})),
    NavItem("population", "Population", "/population", frozenset({"care_manager", "supervisor", "admin"})),
    NavItem("patients", "Patients", "/patients", frozenset({"care_manager", "supervisor", "admin"})),
    NavItem("resources", "Resources", "/resources", frozenset({"care_manager", "supervisor", "admin"})),
    NavItem("referrals", "Referrals", "/referrals", frozenset({"care_manager", "supervisor", "admin"})),
    NavItem("time", "Time", "/time", frozenset({"care_manager", "supervisor", "admin"})),
    NavItem(
        "authorizations",
        "Authorizations",
        "/authorizations",
        frozenset({"care_manager", "supervisor", "admin"}),
    ),
    NavItem("caseloads", "Caseloads", "/caseloads", frozenset({"supervisor", "admin"})),
    NavItem("reports", "Reports", "/dashboard", frozenset({"supervisor", "admin"})),
    NavItem("audit", "Audit", "/audit", frozenset({"auditor", "admin"})),
    NavItem("admin", "Admin", "/admin/users", frozenset({"admin"})),
)


def nav_for(role: str | None) -> list[NavItem]:
    """The items a role sees: every coming item, and the built ones the role may use."""
    return [item for item in NAV_ITEMS if item.path is None or item.roles is None or role in item.roles]


def home_path(role: str | None) -> str:
    """Where a person lands after signing in."""
    if role == "auditor":
        return "/audit"
    return "/worklist" if role == "care_manager" else "/patients"
