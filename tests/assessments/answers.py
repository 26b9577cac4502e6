"""Answer codes and item lists the assessment tests share (LOINC, care-management-standards.md section 3)."""

from __future__ import annotations

FREQ = ["LA6568-5", "LA6569-3", "LA6570-1", "LA6571-9"]
"""PHQ and GAD answers, scoring 0..3: not at all, several days, more than half the days, nearly every day."""
PHQ9 = [
    "/44250-9",
    "/44255-8",
    "/44259-0",
    "/44254-1",
    "/44251-7",
    "/44258-2",
    "/44252-5",
    "/44253-3",
    "/44260-8",
]
GAD7 = ["/69725-0", "/68509-9", "/69733-4", "/69734-2", "/69735-9", "/69689-8", "/69736-7"]
SAFETY_ITEMS = ["/95618-5", "/95617-7", "/95616-9", "/95615-1"]
SAFETY = ["LA6270-8", "LA10066-1", "LA10082-8", "LA16644-9", "LA6482-9"]
"""AHC safety answers, scoring 1..5: never, rarely, sometimes, fairly often, frequently."""
CALM_SOCIAL = {
    "/71802-3": "LA31993-1",
    "/96778-6": ["LA9-3"],
    "/88122-7": "LA28398-8",
    "/88123-5": "LA28398-8",
    "/93030-5": "LA32-8",
    "/96779-4": "LA32-8",
}
"""The AHC core items answered with no social need (the safety items apart)."""
