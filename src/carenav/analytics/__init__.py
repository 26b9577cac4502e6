"""Population analytics: risk models and program rules defined once, run on DuckDB or Apache Spark.

- ``snapshot``: the tables every definition reads (one schema, whatever the source: the record store or
  a Bulk Data NDJSON folder).
- ``definitions/``: one module per model (Charlson, CMS-HCC, LACE, utilisation, programs...), each a
  ``Definition``: reference tables (CSV data files under ``tables/``, with their sources cited in the
  file header) and SQL written once, in DuckDB's dialect, transpiled for Spark with sqlglot.
- ``engines/``: DuckDB (default, in-process) and Spark (PySpark; local mode in tests) run the same
  definitions and must give identical per-patient results.
Nothing here imports SQLAlchemy, FastAPI or Jinja2; engines import their own engine only.
"""
