"""The care plan the patient takes home, as a PDF: plain language, large type, their goals in their words,
what they do each day, their medicines (what, when and why, in plain words), and who to call for what,
after hours included.

Built with fpdf2 and its core fonts (no font files to ship), so text is written in Latin-1: characters
outside it are replaced by plain equivalents (``plain``)."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from fpdf import FPDF

from carenav.careplans.rules import Target, TargetKind
from carenav.careplans.tree import GoalNode, PlanTree

BODY = 14
HEADING = 18
TITLE = 24
PRINTED_GOALS = ("proposed", "planned", "accepted", "active", "on-hold")
OPEN_STEPS = ("draft", "requested", "received", "accepted", "ready", "in-progress", "on-hold")
REPLACEMENTS = {
    "\u2264": "at most",  # less-than or equal
    "\u2265": "at least",  # greater-than or equal
    "\u2192": "->",
    "\u2013": "-",  # en dash
    "\u2014": "-",  # em dash
    "\u2018": "'",
    "\u2019": "'",
    "\u201c": '"',
    "\u201d": '"',
}


@dataclass(frozen=True)
class Contact:
    name: str
    role: str
    phone: str | None
    point_of_contact: bool = False


@dataclass(frozen=True)
class Medicine:
    """A row of the medication schedule, in plain words: what it is, when to take it, what it is for."""

    what: str
    when: str
    why: str


@dataclass(frozen=True)
class PrintablePlan:
    patient_name: str
    title: str
    version: int
    printed_on: date
    organization: str
    tree: PlanTree
    contacts: Sequence[Contact]
    medicines: Sequence[Medicine]
    after_hours: str
    preferences: Sequence[str] = ()


def plain(text: str) -> str:
    """Text the core fonts can print: typographic characters made plain, the rest of Latin-1 kept."""
    for char, words in REPLACEMENTS.items():
        text = text.replace(char, words)
    out = []
    for char in text:
        try:
            char.encode("latin-1")
            out.append(char)
        except UnicodeEncodeError:
            folded = unicodedata.normalize("NFKD", char).encode("latin-1", "ignore").decode("latin-1")
            out.append(folded or "?")
    return "".join(out)


def target_words(target: Target | None) -> str:
    """A goal's target as the patient reads it: "below 130 mm[Hg]", "between 7 and 8 %"."""
    if target is None:
        return ""
    unit = f" {target.unit}" if target.unit else ""
    if target.kind is TargetKind.QUANTITY:
        word = {"<": "below", "<=": "at or below", ">=": "at least", ">": "above", "=": ""}[target.comparator]
        return f"{word} {_n(target.value)}{unit}".strip()
    if target.kind is TargetKind.RANGE:
        if target.low is not None and target.high is not None:
            return f"between {_n(target.low)} and {_n(target.high)}{unit}"
        return (
            f"at least {_n(target.low)}{unit}"
            if target.low is not None
            else f"at most {_n(target.high)}{unit}"
        )
    return target.text or ""


def _n(number: object) -> str:
    text = str(number)
    return text.rstrip("0").rstrip(".") if "." in text else text


class _Document(FPDF):
    def __init__(self, footer_text: str) -> None:
        super().__init__(format="Letter")
        self.footer_text = footer_text
        self.set_margins(20, 18, 20)
        self.set_auto_page_break(auto=True, margin=20)

    def footer(self) -> None:
        self.set_y(-14)
        self.set_font("Helvetica", size=10)
        self.cell(0, 8, plain(f"{self.footer_text} - page {self.page_no()}"), align="C")


def plan_pdf(plan: PrintablePlan) -> bytes:
    """The plan as PDF bytes."""
    pdf = _Document(f"{plan.title}, version {plan.version}, printed {plan.printed_on.isoformat()}")
    pdf.add_page()
    pdf.set_font("Helvetica", "B", TITLE)
    _para(pdf, f"My care plan: {plan.patient_name}", TITLE, bold=True)
    _para(pdf, f"{plan.title} - {plan.organization} - printed {_day(plan.printed_on)}", BODY)
    if plan.preferences:
        _heading(pdf, "How I like my care")
        for line in plan.preferences:
            _bullet(pdf, line)
    goals = [g for p in plan.tree.problems for g in p.goals if g.goal.lifecycle in PRINTED_GOALS]
    own = [g for g in goals if g.goal.patient_stated]
    if own:
        _heading(pdf, "What matters to me")
        for node in own:
            _bullet(pdf, node.goal.description)
    _heading(pdf, "My goals")
    for problem in plan.tree.problems:
        printed = [
            g for g in problem.goals if g.goal.lifecycle in PRINTED_GOALS and not g.goal.patient_stated
        ]
        if not printed:
            continue
        if problem.problem is not None:
            _para(pdf, problem.problem.text, BODY, bold=True)
        for node in printed:
            _bullet(pdf, _goal_line(node))
    steps = [s for g in goals for s in g.interventions] + list(plan.tree.loose_interventions)
    steps = [s for s in steps if s.intervention.status in OPEN_STEPS]
    mine = [s for s in steps if s.intervention.owner_role == "patient"]
    if mine:
        _heading(pdf, "What I do each day")
        for step in mine:
            _bullet(pdf, step.intervention.text)
    others = [s for s in steps if s.intervention.owner_role != "patient"]
    if others:
        _heading(pdf, "What my care team does")
        for step in others:
            who = (
                step.intervention.owner_name
                or f"a {(step.intervention.owner_role or 'team member').replace('_', ' ')}"
            )
            due = f" (by {_day(step.intervention.due_on)})" if step.intervention.due_on else ""
            _bullet(pdf, f"{who}: {step.intervention.text}{due}")
    _heading(pdf, "My medicines")
    if plan.medicines:
        _medicines(pdf, plan.medicines)
    else:
        _para(pdf, "No medicines on my list. Bring all my pill bottles to every visit.", BODY)
    _heading(pdf, "Who to call")
    for contact in plan.contacts:
        first = "Call first: " if contact.point_of_contact else ""
        phone = f", {contact.phone}" if contact.phone else ""
        _bullet(pdf, f"{first}{contact.name} ({contact.role}){phone}")
    _para(pdf, plan.after_hours, BODY, bold=True)
    _para(pdf, "In an emergency - chest pain, trouble breathing, fainting - call 911.", BODY, bold=True)
    return bytes(pdf.output())


def _medicines(pdf: FPDF, medicines: Sequence[Medicine]) -> None:
    """The medication schedule as a table: what, when, why (the header repeated on a new page)."""
    pdf.set_font("Helvetica", "", BODY - 2)
    with pdf.table(
        col_widths=(36, 36, 28),
        text_align="LEFT",
        line_height=(BODY - 2) * 0.5,
        padding=1.5,
        repeat_headings=1,
        first_row_as_headings=True,
    ) as table:
        header = table.row()
        for title in ("What", "When", "Why"):
            header.cell(title)
        for medicine in medicines:
            row = table.row()
            row.cell(plain(medicine.what))
            row.cell(plain(medicine.when))
            row.cell(plain(medicine.why))
    pdf.ln(2)
    _para(pdf, "Bring this list and all your pill bottles to every visit.", BODY)


def _goal_line(node: GoalNode) -> str:
    target = target_words(node.target)
    due = f" by {_day(node.goal.due_on)}" if node.goal.due_on else ""
    return node.goal.description + (f" (target: {target})" if target else "") + due


def _day(day: date) -> str:
    return f"{day:%B} {day.day}, {day.year}"


def _heading(pdf: FPDF, text: str) -> None:
    pdf.ln(4)
    _para(pdf, text, HEADING, bold=True)


def _para(pdf: FPDF, text: str, size: int, *, bold: bool = False) -> None:
    pdf.set_font("Helvetica", "B" if bold else "", size)
    pdf.multi_cell(0, size * 0.55, plain(text), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(1)


def _bullet(pdf: FPDF, text: str) -> None:
    pdf.set_font("Helvetica", "", BODY)
    pdf.cell(6, BODY * 0.55, "-")
    pdf.multi_cell(0, BODY * 0.55, plain(text), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(1)
