"""Patient education: a library of topics in the patient's language and reading level, teaching recorded
with teach-back and reinforcement scheduled, and a plain-language schedule of the patient's medicines."""
