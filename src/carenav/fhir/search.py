"""Search parameters: what each resource type can be searched by, and parsing of their values.

``SEARCH_PARAMETERS`` is the one list: the router accepts exactly these, and the CapabilityStatement
is generated from it. Dates take the prefixes eq, gt, ge, lt, le and any precision from a year to an
instant (a value without a zone is read as UTC); tokens are ``code``, ``system|code`` or ``|code``;
a comma means OR.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from carenav.errors import InvalidInput
from carenav.patients.clinical_queries import CodeMatch, TimeWindow


@dataclass(frozen=True)
class SearchParameter:
    name: str
    type: str  # FHIR search-param-type: string, token, date, reference
    documentation: str
    repeatable: bool = False  # may appear more than once (ANDed), e.g. date=ge..&date=lt..


SEARCH_PARAMETERS: dict[str, tuple[SearchParameter, ...]] = {
    "Patient": (
        SearchParameter("name", "string", "Start of any given or family name, each word (case-insensitive)."),
        SearchParameter("family", "string", "Start of a family name (case-insensitive)."),
        SearchParameter("given", "string", "Start of a given name (case-insensitive)."),
        SearchParameter("birthdate", "date", "Date of birth: a full date, prefix eq or none."),
        SearchParameter("identifier", "token", "An identifier value, or system|value."),
    ),
    "Condition": (
        SearchParameter("patient", "reference", "The patient (required): id or Patient/id."),
        SearchParameter("clinical-status", "token", "active, recurrence, relapse, inactive, remission..."),
    ),
    "Encounter": (
        SearchParameter("patient", "reference", "The patient (required): id or Patient/id."),
        SearchParameter("date", "date", "Start of the encounter (eq, gt, ge, lt, le).", repeatable=True),
        SearchParameter("class", "token", "v3 ActCode class: AMB, EMER, IMP..."),
    ),
    "Observation": (
        SearchParameter("patient", "reference", "The patient (required): id or Patient/id."),
        SearchParameter("code", "token", "The observation code, e.g. http://loinc.org|8480-6."),
        SearchParameter("date", "date", "When it was effective (eq, gt, ge, lt, le).", repeatable=True),
    ),
    "Questionnaire": (
        SearchParameter("url", "uri", "The canonical URL (with |version or without)."),
        SearchParameter("name", "string", "Start of the id or the title (case-insensitive)."),
        SearchParameter("code", "token", "The instrument's LOINC panel code, e.g. http://loinc.org|44249-1."),
    ),
    "QuestionnaireResponse": (
        SearchParameter("patient", "reference", "The patient (required): id or Patient/id."),
        SearchParameter(
            "questionnaire",
            "reference",
            "The form: its canonical URL (with |version or without), Questionnaire/<id> or the instrument "
            "id, e.g. phq9; commas mean OR.",
        ),
        SearchParameter("status", "token", "in-progress, completed, amended, entered-in-error."),
        SearchParameter(
            "authored",
            "date",
            "When it was completed (a draft: when it was started) (eq, gt, ge, lt, le).",
            repeatable=True,
        ),
    ),
    "CarePlan": (
        SearchParameter("patient", "reference", "The patient (required): id or Patient/id."),
        SearchParameter("status", "token", "draft, active, on-hold, completed, revoked."),
        SearchParameter(
            "category",
            "token",
            "Every plan is US Core's assess-plan "
            "(http://hl7.org/fhir/us/core/CodeSystem/careplan-category|assess-plan); another category "
            "matches none.",
        ),
    ),
    "Goal": (
        SearchParameter("patient", "reference", "The patient (required): id or Patient/id."),
        SearchParameter(
            "lifecycle-status",
            "token",
            "proposed, planned, accepted, active, on-hold, completed, cancelled, entered-in-error, rejected.",
        ),
        SearchParameter(
            "achievement-status",
            "token",
            "in-progress, improving, worsening, no-change, achieved, sustaining, not-achieved, no-progress, "
            "not-attainable (http://terminology.hl7.org/CodeSystem/goal-achievement).",
        ),
    ),
    "Task": (
        SearchParameter(
            "patient",
            "reference",
            "The patient: id or Patient/id (required, except for a partner organization's token, which "
            "searches the fulfilment Tasks of the referrals sent to it).",
        ),
        SearchParameter(
            "status",
            "token",
            "draft, requested, received, accepted, rejected, ready, cancelled, in-progress, on-hold, "
            "failed, completed, entered-in-error.",
        ),
        SearchParameter(
            "code",
            "token",
            "A care-plan step's kind, https://carenav.org/fhir/CodeSystem/intervention-kind: education, "
            "medication-management, monitoring, referral, coordination, self-management, social-service; "
            "or http://hl7.org/fhir/CodeSystem/task-code|fulfill, the Tasks tracking referrals; "
            "or a transition-of-care task, https://carenav.org/fhir/CodeSystem/tcm-task: "
            "tcm-interactive-contact, tcm-discharge-information, tcm-medication-reconciliation, "
            "tcm-follow-up-appointment, tcm-face-to-face.",
        ),
    ),
    "ServiceRequest": (
        SearchParameter(
            "patient",
            "reference",
            "The patient: id or Patient/id (required, except for a partner organization's token, which "
            "searches the referrals sent to it).",
        ),
        SearchParameter("status", "token", "draft, active, completed, revoked."),
    ),
}

COUNT = "_count"
OFFSET = "_offset"
FORMAT = "_format"
RESULT_PARAMETERS = (COUNT, OFFSET, FORMAT)
JSON_FORMATS = {"json", "application/json", "application/fhir+json"}
MAX_COUNT = 500

_DATE = re.compile(
    r"^(?P<prefix>eq|ne|gt|lt|ge|le|sa|eb|ap)?"
    r"(?P<year>\d{4})(?:-(?P<month>\d{2})(?:-(?P<day>\d{2})"
    r"(?:T(?P<time>\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)(?P<zone>Z|[+-]\d{2}:\d{2})?)?)?)?$"
)
SUPPORTED_PREFIXES = {"eq", "gt", "ge", "lt", "le"}


@dataclass(frozen=True)
class SearchRequest:
    """A search as understood: the parameters we apply, paging, and what lenient handling dropped."""

    resource_type: str
    values: dict[str, list[str]]
    count: int
    offset: int
    ignored: list[str] = field(default_factory=list)

    def first(self, name: str) -> str | None:
        found = self.values.get(name)
        return found[0] if found else None

    def echo(self) -> list[tuple[str, str]]:
        """The applied parameters, for the self/next/previous links."""
        return [(name, value) for name, values in self.values.items() for value in values]


def parse_search(
    resource_type: str,
    items: Sequence[tuple[str, str]],
    *,
    default_count: int,
    lenient: bool,
) -> SearchRequest:
    """Check the query against ``SEARCH_PARAMETERS``. Unknown parameters (or modifiers) are a 400,
    or are dropped and listed in ``ignored`` when the client asked for lenient handling."""
    allowed = {p.name: p for p in SEARCH_PARAMETERS.get(resource_type, ())}
    values: dict[str, list[str]] = {}
    ignored: list[str] = []
    count, offset = default_count, 0
    for name, value in items:
        if name == COUNT:
            count = _non_negative(name, value, maximum=MAX_COUNT)
        elif name == OFFSET:
            offset = _non_negative(name, value)
        elif name == FORMAT:
            if value not in JSON_FORMATS:
                raise InvalidInput(f"only JSON is served, not {value!r}", where=FORMAT)
        elif name in allowed:
            if value == "":
                continue
            if name in values and not allowed[name].repeatable:
                raise InvalidInput(
                    f"give {name} once (separate alternatives with commas)", where=f"{resource_type}?{name}"
                )
            values.setdefault(name, []).append(value)
        elif lenient:
            ignored.append(name)
        else:
            known = ", ".join([*allowed, *RESULT_PARAMETERS])
            raise InvalidInput(
                f"unknown or unsupported search parameter {name!r} for {resource_type} (supported: {known})",
                where=f"{resource_type}?{name}",
            )
    return SearchRequest(resource_type, values, count, offset, ignored)


def _non_negative(name: str, value: str, *, maximum: int | None = None) -> int:
    if not value.isdigit():
        raise InvalidInput(f"{name} must be a whole number, not {value!r}", where=name)
    number = int(value)
    if maximum is not None:
        number = min(number, maximum)
    return number


def _add_months(start: datetime, months: int) -> datetime:
    total = start.month - 1 + months
    return start.replace(year=start.year + total // 12, month=total % 12 + 1)


def date_range(text: str, *, where: str) -> tuple[str, datetime, datetime]:
    """A date parameter as (prefix, start, end): the instants the value covers, end exclusive."""
    match = _DATE.match(text)
    if not match:
        raise InvalidInput(
            f"{text!r} is not a FHIR date (YYYY, YYYY-MM, YYYY-MM-DD or an instant, with an optional "
            "prefix eq, gt, ge, lt, le)",
            where=where,
        )
    prefix = match["prefix"] or "eq"
    if prefix not in SUPPORTED_PREFIXES:
        raise InvalidInput(f"date prefix {prefix!r} is not supported (use eq, gt, ge, lt, le)", where=where)
    try:
        year = int(match["year"])
        if match["month"] is None:
            start = datetime(year, 1, 1, tzinfo=UTC)
            return prefix, start, start.replace(year=year + 1)
        month = int(match["month"])
        if match["day"] is None:
            start = datetime(year, month, 1, tzinfo=UTC)
            return prefix, start, _add_months(start, 1)
        day = date(year, month, int(match["day"]))
        if match["time"] is None:
            start = datetime(day.year, day.month, day.day, tzinfo=UTC)
            return prefix, start, start + timedelta(days=1)
        zone = match["zone"] or "Z"
        moment = datetime.fromisoformat(f"{day.isoformat()}T{match['time']}{zone.replace('Z', '+00:00')}")
    except ValueError as exc:
        raise InvalidInput(f"{text!r} is not a valid date: {exc}", where=where) from None
    moment = moment.astimezone(UTC)
    precision = timedelta(seconds=1) if match["time"].count(":") == 2 else timedelta(minutes=1)
    return prefix, moment, moment + precision


def date_window(values: Sequence[str], *, where: str) -> TimeWindow:
    """Date parameters (ANDed) as one window of instants."""
    window = TimeWindow()
    for text in values:
        prefix, start, end = date_range(text, where=where)
        bounds = {
            "eq": TimeWindow(since=start, before=end),
            "ge": TimeWindow(since=start),
            "gt": TimeWindow(since=end),
            "le": TimeWindow(before=end),
            "lt": TimeWindow(before=start),
        }[prefix]
        window = window.narrowed(bounds)
    return window


def birth_date(text: str, *, where: str) -> date:
    """``birthdate`` takes one full date (prefix eq or none)."""
    prefix, start, end = date_range(text, where=where)
    if prefix != "eq" or end - start != timedelta(days=1) or "T" in text:
        raise InvalidInput("birthdate takes a full date YYYY-MM-DD (prefix eq or none)", where=where)
    return start.date()


def token_matches(text: str, *, where: str) -> list[CodeMatch]:
    """``code``, ``system|code``, ``|code``; commas separate alternatives."""
    out: list[CodeMatch] = []
    for part in text.split(","):
        if "|" in part:
            system, _, code = part.partition("|")
            if not code:
                raise InvalidInput(f"token {part!r} has no code after '|'", where=where)
            out.append(CodeMatch(code=code, system=system))
        elif part:
            out.append(CodeMatch(code=part))
    if not out:
        raise InvalidInput("empty token", where=where)
    return out


def token_codes(text: str, *, system: str, where: str) -> list[str]:
    """Codes of a token parameter bound to one code system; alternatives in another system match
    nothing, so an empty list means no resource can match."""
    return [m.code for m in token_matches(text, where=where) if m.system in (None, system)]


def patient_reference(text: str, *, where: str) -> str:
    """The patient id in ``id``, ``Patient/id`` or ``<base>/Patient/id``."""
    value = text.rstrip("/")
    if "/" in value:
        head, _, tail = value.rpartition("/")
        if not head.endswith("Patient"):
            raise InvalidInput(f"{text!r} is not a Patient reference", where=where)
        value = tail
    if not value or "," in value:
        raise InvalidInput(f"{text!r} is not one Patient id", where=where)
    return value


def required_patient(query: SearchRequest) -> str:
    """The patient id of a search that needs ``patient=`` (400 without it)."""
    value = query.first("patient")
    where = f"{query.resource_type}?patient"
    if value is None:
        raise InvalidInput(f"{query.resource_type} search needs patient=<id>", where=where)
    return patient_reference(value, where=where)
