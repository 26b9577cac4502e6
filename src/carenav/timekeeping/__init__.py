"""Time tracking: a timer on the patient page, entries by hand, edits audited, monthly totals per program
against the thresholds of the program's billing codes (``billing_codes.toml``). See ``docs/time.md``."""
