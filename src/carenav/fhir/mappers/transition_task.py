"""Task: one of the five tasks of a transition of care (``carenav.transitions``). Pure: no SQL, no HTTP.

- ``code``: the kind, in carenav's code system ``https://carenav.org/fhir/CodeSystem/tcm-task``:
  ``tcm-interactive-contact``, ``tcm-discharge-information``, ``tcm-medication-reconciliation``,
  ``tcm-follow-up-appointment``, ``tcm-face-to-face`` (docs/fhir.md); ``description`` its title.
- ``status``: ``ready`` while due (``in-progress`` once an attempt is logged), ``completed`` when done (on
  time or late), ``failed`` when its deadline passed undone (it may still be done, late: carenav then
  shows it ``completed``), ``cancelled`` when the episode closed early (a readmission). ``businessStatus``
  says on time, late, due, missed or cancelled in ``https://carenav.org/fhir/CodeSystem/tcm-timeliness``.
- ``restriction.period.end``: the deadline; ``executionPeriod``: the discharge to when it was done.
- ``for``: the patient; ``focus``: the discharge Encounter (also the ``reasonReference``).
- ``intent`` ``plan``; every attempt is a ``note`` with who, when and the outcome.

The status as of today follows the clock (``carenav.clock``, a fixed clock too): an open task past its
deadline reads ``failed`` even before ``transitions_refresh`` has stored it as missed.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from carenav.clock import today
from carenav.fhir.mappers.common import FHIRDict, Refs, concept, day, instant, period, reference, resource
from carenav.transitions.rules import TaskKind, TaskStatus, Timeliness, task_status_on, task_timeliness

if TYPE_CHECKING:
    from carenav.transitions.models import TransitionTask

TCM_TASK_SYSTEM = "https://carenav.org/fhir/CodeSystem/tcm-task"
TCM_TIMELINESS_SYSTEM = "https://carenav.org/fhir/CodeSystem/tcm-timeliness"
KIND_DISPLAY = {
    TaskKind.INTERACTIVE_CONTACT: "Interactive contact within 2 business days of discharge",
    TaskKind.DISCHARGE_INFORMATION: "Discharge information received and reviewed",
    TaskKind.MEDICATION_RECONCILIATION: "Medication reconciliation",
    TaskKind.FOLLOW_UP_APPOINTMENT: "Follow-up appointment booked",
    TaskKind.FACE_TO_FACE: "Face-to-face visit within 7 or 14 days",
}
TIMELINESS_DISPLAY = {
    Timeliness.DUE: "Due",
    Timeliness.ON_TIME: "Done on time",
    Timeliness.LATE: "Done late",
    Timeliness.MISSED: "Deadline missed",
    Timeliness.CANCELLED: "Cancelled",
}
FHIR_STATUS = {
    TaskStatus.OPEN: "ready",
    TaskStatus.DONE: "completed",
    TaskStatus.LATE_DONE: "completed",
    TaskStatus.MISSED: "failed",
    TaskStatus.CANCELLED: "cancelled",
}
"""carenav's task status (as of today) → Task.status."""


def fhir_status(status: TaskStatus, due_on: date, on: date, attempted: bool = False) -> str:
    """The Task.status of a task as of ``on``."""
    current = task_status_on(status, due_on, on)
    if current is TaskStatus.OPEN and attempted:
        return "in-progress"
    return FHIR_STATUS[current]


def transition_task_resource(row: TransitionTask, refs: Refs) -> FHIRDict:
    kind = TaskKind(row.kind)
    status = TaskStatus(row.status)
    on = today()
    timeliness = task_timeliness(status, row.due_on, on)
    encounter = reference("Encounter", refs.encounters.get(row.episode.encounter_id))
    notes = [
        {
            "authorString": a.by,
            "time": instant(a.at),
            "text": f"attempt: {a.outcome.replace('-', ' ')}" + (f": {a.note}" if a.note else ""),
        }
        for a in row.attempts
    ]
    if row.note:
        notes.append({"authorString": row.done_by or "carenav", "text": row.note})
    return resource(
        "Task",
        row.uuid,
        row.updated_at,
        status=fhir_status(status, row.due_on, on, attempted=bool(row.attempts)),
        businessStatus=concept(TCM_TIMELINESS_SYSTEM, timeliness.value, TIMELINESS_DISPLAY[timeliness]),
        statusReason={"text": f"closed: {row.episode.closed_reason}"}
        if status is TaskStatus.CANCELLED and row.episode.closed_reason
        else None,
        intent="plan",
        priority="urgent" if kind is TaskKind.INTERACTIVE_CONTACT else None,
        code=concept(TCM_TASK_SYSTEM, kind.value, KIND_DISPLAY[kind]),
        description=KIND_DISPLAY[kind],
        focus=encounter,
        **{"for": reference("Patient", refs.patients.get(row.patient_id)) or {"display": "unknown patient"}},
        executionPeriod=period(instant(row.episode.discharged_at), instant(row.done_at)),
        authoredOn=instant(row.created_at),
        lastModified=instant(row.updated_at),
        restriction={"period": {"end": day(row.due_on)}},
        reasonReference=encounter,
        note=notes,
    )
