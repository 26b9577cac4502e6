"""Outreach: follow-ups scheduled from cadence rules kept as data, the contact log with structured notes
per program (symptom review, red flags, goal progress, proposed plan adjustments), and the unable-to-reach
protocol.

- ``rules``: pure: contact kinds, directions, parties and outcomes; cadence rules (``cadence.toml``); the
  unable-to-reach protocol (``unable_to_reach.toml``); note templates (``note_templates/*.toml``) and their
  red flags.
- ``models``: ``FollowUp``, ``Contact``, ``ContactGoalUpdate``.
- ``schedule``: the follow-up schedule: ``followups_sync`` (and ``followups_sync_patient``, which the writes
  it depends on call), ``followups_sync_for_run``, ``followups_sync_all``, ``followup_reschedule``,
  ``followups_due``.
- ``services``: ``contact_log`` (which also tries or does an open transition's interactive contact) and
  the reads of the patient page.
"""
