"""Assessments: standard screening and assessment instruments as data, and what a patient's answers lead to.

- ``questionnaire``: a FHIR R4 Questionnaire read into an item tree (types, required items, enableWhen,
  repeating groups, LOINC codes on items and answers, ordinal values).
- ``responses``: a FHIR QuestionnaireResponse checked against its Questionnaire, item by item (linkId and
  what is wrong), and read into answers; items named in the LOINC ``/CODE`` linkId style of other systems
  resolve to the shipped items by their LOINC codes.
- ``scoring``: an instrument's scoring rules (totals, subscales, bands, positive domains, critical-item
  flags, cascades), kept as data beside the Questionnaire and independent of the UI and of storage.
- ``instruments``: the shipped instruments (``instruments/<id>.json`` + ``instruments/<id>.scoring.toml``).

Pure: no SQL, no HTTP.
"""
