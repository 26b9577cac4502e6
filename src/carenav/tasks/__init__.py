"""Work for the care team and alerts on patients.

- ``Task``: something a person must do for a patient, by a date: who it is for (a care manager, or the
  team's queue when the patient has none), its priority (urgent: due the same day), where it came from (an
  assessment's critical answer, say), open until done or cancelled.
- ``PatientAlert``: a banner on the patient (suicide risk, a safety concern) until a person clears it.
The follow-up worklists (issue 7) build on these tables.
"""
