"""Outreach: follow-ups scheduled from cadence rules kept as data, the contact log with structured notes
per program (symptom review, red flags, goal progress, proposed plan adjustments), and the unable-to-reach
protocol.

- ``rules``: pure: contact kinds, directions, parties and outcomes; cadence rules (``cadence.toml``); the
  unable-to-reach protocol (``unable_to_reach.toml``); note templates (``note_templates/*.toml``) and their
  red flags.
- ``models``: ``FollowUp``, ``Contact``, ``ContactGoalUpdate``.
- ``services``: ``followups_sync``, ``contact_log``, ``followups_due``.
"""
