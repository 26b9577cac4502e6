"""Transitions of care (issue 7 §3): a discharge home opens an episode of five deadlines.

See docs/transitions.md."""
