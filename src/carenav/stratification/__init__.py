"""Saved stratification runs: who was scored when, with which rules, each patient's results and evidence."""
