"""The longitudinal patient record: demographics, coverage, problems, encounters, results, medications."""
