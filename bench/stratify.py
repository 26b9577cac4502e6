"""Benchmark of population stratification: carenav on DuckDB (and Spark, when its engine is there) against
the peer packages comorbidipy (Charlson) and hccpy (CMS-HCC V24/V28). Prints figures; asserts nothing.

    .venv/bin/python bench/stratify.py                       # 1,000,000 patients (about 22 GB of NDJSON)
    .venv/bin/python bench/stratify.py --patients 20000      # a one-minute try
    .venv/bin/python bench/stratify.py --population DIR --keep   # reuse a `carenav synth` folder

Steps, each in a process of its own so that its wall time and peak memory are its own (peak memory: the
process's maximum resident set size from wait4, and the peak of the summed RSS of its process tree,
sampled every 0.2 s, which also counts a JVM):
1. the population: `carenav synth --patients N --seed S` into a temporary folder (or `--population DIR`);
2. the snapshot (`write_bulk_snapshot`, the first half of `carenav stratify --from`), timed on its own;
3. carenav's full run on DuckDB over the snapshot: every registered definition (crosswalk, Charlson, LACE,
   utilisation, HCC V24 and V28, programs and tiers), scores, evidence rows and reports as a saved run gets
   them, scores written to Parquet as `--out` does; target <= 30 s and <= 4 GB on the 2-core machine;
   then the same without evidence rows (`Engine.run(evidence=False)`: scores and reports, what
   `carenav stratify --from` computes and what the peers compute);
4. carenav Charlson only (crosswalk + Charlson, scores only) on DuckDB;
5. comorbidipy 0.8.0 Charlson (1987 and Quan 2011 weights, age-adjusted) on every patient, in the peers
   venv (`make peers`), on the diagnoses our `dx_as_of` view counts; target: ours at least as fast;
6. hccpy 0.1.9 V24 and V28 on a sample (`--sample`), scaled per patient; target: our full run >= 10x the
   combined per-patient throughput of the peers doing the same scores (comorbidipy + hccpy V24 + V28);
7. Spark local mode on the same snapshot when `carenav.analytics.engines.spark_engine` imports: wall time
   and whether its per-patient results equal DuckDB's.
The temporary folder (population unless `--population`, snapshot, outputs) is removed unless `--keep`.
"""

from __future__ import annotations

import argparse
import atexit
import importlib.util
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PEERS_PYTHON = ROOT / ".venv-peers" / "bin" / "python"
COMORBIDIPY_SCRIPT = ROOT / "bench" / "peers" / "comorbidipy_charlson.py"
CARENAV = Path(sys.executable).parent / "carenav"
AS_OF = date(2025, 6, 30)  # carenav synth's default as-of
BYTES_PER_PATIENT = 24_000  # NDJSON written by carenav synth, with a margin (docs/synth.md: 22.5 KB)
TARGET_SECONDS = 30.0
TARGET_MB = 4096.0
PAGE = os.sysconf("SC_PAGE_SIZE")


# --------------------------------------------------------------------------- measuring a process


@dataclass
class Measured:
    label: str
    seconds: float
    cpu_seconds: float  # user + system of the process and the descendants it waited for
    max_rss_mb: float  # the process's own peak (wait4)
    tree_peak_mb: float  # peak of the summed RSS of the process and its descendants (sampled)
    load: float  # 1-minute load average when it ended (other work on the machine)
    output: dict[str, Any] = field(default_factory=dict)  # its last stdout line, when JSON
    failed: str | None = None  # why it did not finish


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                ppid = int(handle.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        tree.setdefault(ppid, []).append(int(entry))
    return tree


def _tree_rss(pid: int) -> int:
    tree, pending, total = _children(), [pid], 0
    while pending:
        current = pending.pop()
        pending.extend(tree.get(current, []))
        try:
            with open(f"/proc/{current}/statm") as handle:
                total += int(handle.read().split()[1]) * PAGE
        except (OSError, IndexError, ValueError):
            continue
    return total


def measure(
    label: str,
    command: list[str],
    work: Path,
    *,
    timeout: float | None = None,
    env: dict[str, str] | None = None,
) -> Measured:
    """Run ``command`` (its stdout and stderr to files in ``work``); its wall and CPU time, its peak RSS and
    its process tree's, its last JSON stdout line; ``failed`` says why when it exited non-zero or ran past
    ``timeout`` seconds (its process group, which it leads, is then killed)."""
    stem = work / label.replace(" ", "_")
    print(f"  ... {label}", flush=True)
    with stem.with_suffix(".out").open("w") as stdout, stem.with_suffix(".err").open("w") as stderr:
        started = time.perf_counter()
        process = subprocess.Popen(
            command, stdout=stdout, stderr=stderr, start_new_session=True, env={**os.environ, **(env or {})}
        )
        peak = [0]
        done = threading.Event()
        late = [False]

        def sample() -> None:
            while not done.wait(0.2):
                peak[0] = max(peak[0], _tree_rss(process.pid))
                if timeout is not None and time.perf_counter() - started > timeout and not late[0]:
                    late[0] = True
                    os.killpg(process.pid, signal.SIGKILL)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        done.set()
        sampler.join()
        process.returncode = os.waitstatus_to_exitcode(status)
    failed = None
    if late[0]:
        failed = f"stopped after {seconds:.0f} s (timeout)"
    elif process.returncode != 0:
        errors = [line for line in stem.with_suffix(".err").read_text().splitlines() if "Error" in line]
        failed = (errors[-1] if errors else f"exit {process.returncode}")[:300]
    output: dict[str, Any] = {}
    lines = stem.with_suffix(".out").read_text().strip().splitlines()
    if lines and not failed:
        try:
            output = json.loads(lines[-1])
        except ValueError:
            output = {}
    max_rss = usage.ru_maxrss / 1024
    return Measured(
        label,
        seconds,
        usage.ru_utime + usage.ru_stime,
        max_rss,
        max(peak[0] / 2**20, max_rss),
        os.getloadavg()[0],
        output,
        failed,
    )


# --------------------------------------------------------------------------- steps run in subprocesses


def step_snapshot(population: str, snapshot: str) -> None:
    from carenav.analytics.sources.bulk_ndjson import write_bulk_snapshot

    started = time.perf_counter()
    counts = write_bulk_snapshot(Path(population), Path(snapshot))
    print(json.dumps({"counts": counts, "inner_s": time.perf_counter() - started}))


def step_engine(engine_name: str, snapshot: str, out: str, which: str, profile: bool) -> None:
    """One engine run over the snapshot, the scores written as Parquet (as ``--out FILE.parquet``)."""
    import pyarrow.parquet as pq

    from carenav.analytics.definitions import ordered
    from carenav.analytics.definitions.charlson import CHARLSON
    from carenav.analytics.definitions.crosswalk import CROSSWALK
    from carenav.analytics.engines import engine_named

    timings: list[tuple[str, float, float]] = []
    if profile:
        _profile_duckdb(timings)
    definitions = ordered() if which in ("all", "no-evidence") else ordered([CROSSWALK, CHARLSON])
    # "all": scores, evidence and reports, as a saved run gets them; "no-evidence" and "charlson": scores
    # and reports only (Engine.run(evidence=False), as `carenav stratify --from` and the peers do)
    evidence = which == "all"
    engine = engine_named(engine_name)
    started = time.perf_counter()
    result = engine.run(snapshot=Path(snapshot), as_of=AS_OF, definitions=definitions, evidence=evidence)
    ran = time.perf_counter()
    pq.write_table(result.scores, out)
    written = time.perf_counter()
    report = {
        "engine_s": ran - started,
        "write_s": written - ran,
        "patients": result.scores.num_rows,
        "columns": result.scores.num_columns,
        "evidence_rows": result.evidence.num_rows,
        "scores_mb": result.scores.nbytes / 2**20,
        "evidence_mb": result.evidence.nbytes / 2**20,
        "definitions": [d.name for d in definitions],
    }
    print(json.dumps(report))


def _rss_mb() -> float:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * PAGE / 2**20


def _profile_duckdb(timings: list[tuple[str, float, float]]) -> None:
    """Time every statement the DuckDB engine runs, with this process's RSS after it, DuckDB's peak buffer
    memory and its three slowest operators (DuckDB's JSON profiling), by wrapping the engine module's
    statement helpers; the engine itself is unchanged. One ``profile: {json}`` line a statement, on stderr."""
    from carenav.analytics.engines import duckdb_engine

    folder = Path(tempfile.mkdtemp(prefix="carenav-profile-"))
    atexit.register(shutil.rmtree, folder, True)

    def timed(function: Any, label: Any, profiled: bool) -> Any:
        def wrapper(con: Any, sql: str, *rest: Any) -> Any:
            target = folder / f"{len(timings)}.json"
            if profiled:
                con.execute("SET enable_profiling = 'json'")
                con.execute(f"SET profiling_output = '{target}'")
            started = time.perf_counter()
            value = function(con, sql, *rest)
            if hasattr(value, "fetchall") and rest:
                value = _Fetched(value.fetchall())
            seconds = time.perf_counter() - started
            if profiled:
                con.execute("SET enable_profiling = 'no_output'")
            timings.append((label(sql, rest), round(seconds, 3), round(_rss_mb())))
            entry: dict[str, Any] = {"where": timings[-1][0], "s": timings[-1][1], "rss_mb": timings[-1][2]}
            if target.exists():
                entry.update(_operators(json.loads(target.read_text())))
                target.unlink()
            print("profile: " + json.dumps(entry), file=sys.stderr, flush=True)
            return value

        return wrapper

    duckdb_engine._execute = timed(duckdb_engine._execute, lambda sql, rest: rest[0], True)  # type: ignore[attr-defined]
    duckdb_engine._arrow = timed(duckdb_engine._arrow, lambda sql, rest: f"to arrow: {rest[0]}", True)  # type: ignore[attr-defined]
    duckdb_engine._run = timed(duckdb_engine._run, lambda sql, rest: " ".join(sql.split())[:60], False)  # type: ignore[attr-defined]


def _operators(profile: dict[str, Any]) -> dict[str, Any]:
    """DuckDB's peak buffer memory and the three operators with the most time, from its JSON profile."""
    found: list[tuple[float, str, int]] = []

    def walk(node: dict[str, Any]) -> None:
        kind = str(node.get("type") or node.get("operator_type") or "?")
        timing = float(node.get("timing") or node.get("operator_timing") or 0.0)
        rows = int(node.get("intermediate_rows") or node.get("operator_cardinality") or 0)
        extra = node.get("extra_info") or {}
        detail = extra.get("Join Type") or extra.get("Aggregates") or extra.get("Table") or ""
        found.append((timing, f"{kind}{' ' + str(detail)[:40] if detail else ''}", rows))
        for child in node.get("children", []):
            walk(child)

    for node in profile.get("operator", profile.get("children", [])):
        walk(node)
    found.sort(key=lambda t: -t[0])
    system = profile.get("system", {})
    return {
        "peak_buffer_mb": round(int(system.get("peak_buffer_memory", 0)) / 2**20),
        "top": [f"{t:.2f}s {name} ({rows:,} rows)" for t, name, rows in found[:3]],
    }


class _Fetched:
    def __init__(self, rows: list[Any]) -> None:
        self.rows = rows

    def fetchall(self) -> list[Any]:
        return self.rows


def step_peer_inputs(snapshot: str, scores: str, work: str, sample: int) -> None:
    """comorbidipy's input (every patient's diagnoses as ``dx_as_of`` counts them, dot-less ICD-10-CM, and
    the age as ``patient_age`` gives it) and hccpy's sample (codes that count for CMS-HCC, age at as-of,
    sex, Medicaid, our segments), from the snapshot with the crosswalk's own SQL."""
    import duckdb
    import pyarrow as pa

    from carenav.analytics.definition import read_reference_table
    from carenav.analytics.definitions.crosswalk import DX_AS_OF_SQL, DX_ICD10_SQL, PATIENT_AGE_SQL
    from carenav.analytics.hcc_reference import MEDICAID_PLANS, age_on, sex_code

    started = time.perf_counter()
    con = duckdb.connect()
    con.execute("SET memory_limit = '3GB'")
    for table in ("patients", "diagnoses", "coverages"):
        con.execute(f"CREATE VIEW {table} AS SELECT * FROM read_parquet('{Path(snapshot) / table}.parquet')")  # noqa: S608
    header, rows = read_reference_table(ROOT / "src/carenav/analytics/tables/snomed_icd10.csv")
    con.register("crosswalk_rows", pa.table({c: [r[i] for r in rows] for i, c in enumerate(header)}))
    con.execute("CREATE TABLE snomed_icd10 AS SELECT * FROM crosswalk_rows")
    con.execute(f"CREATE TABLE params AS SELECT DATE '{AS_OF.isoformat()}' AS as_of")
    con.execute(f"CREATE TABLE dx_icd10 AS {DX_ICD10_SQL}")
    con.execute(f"CREATE TABLE patient_age AS {PATIENT_AGE_SQL}")
    target = Path(work) / "comorbidipy_in.parquet"
    con.execute(f"""
        COPY (SELECT dx.patient_id AS id, dx.code, CAST(a.age AS BIGINT) AS age
              FROM ({DX_AS_OF_SQL}) AS dx JOIN patient_age AS a USING (patient_id))
        TO '{target}' (FORMAT parquet)""")  # noqa: S608
    comorbidipy_rows = con.execute(f"SELECT COUNT(*) FROM read_parquet('{target}')").fetchall()[0][0]  # noqa: S608
    chosen = con.execute(f"""
        SELECT s.patient_id, p.birth_date, p.sex, s.hcc_segment, s.hcc_segment,
               s.hcc_v24, s.hccs_v24, s.hcc_v28, s.hccs_v28
        FROM read_parquet('{scores}') AS s JOIN patients AS p USING (patient_id)
        WHERE p.birth_date IS NOT NULL ORDER BY hash(s.patient_id) LIMIT {int(sample)}""").fetchall()  # noqa: S608
    con.execute("CREATE TABLE chosen (patient_id VARCHAR)")
    con.executemany("INSERT INTO chosen VALUES (?)", [(r[0],) for r in chosen])
    codes: dict[str, list[str]] = {}
    counted = """
        SELECT d.patient_id, d.code FROM dx_icd10 AS d JOIN chosen USING (patient_id) CROSS JOIN params AS pd
        WHERE (d.onset_date IS NULL OR d.onset_date <= pd.as_of)
          AND (COALESCE(d.active, FALSE) OR d.onset_date > pd.as_of - INTERVAL 12 MONTH)"""
    for pid, code in con.execute(counted).fetchall():
        codes.setdefault(pid, []).append(code)
    plans = ", ".join(f"'{p}'" for p in sorted(MEDICAID_PLANS))
    medicaid_sql = f"""
        SELECT DISTINCT c.patient_id FROM coverages AS c JOIN chosen USING (patient_id) CROSS JOIN params AS p
        WHERE c.plan_type IN ({plans}) AND (c.start_date IS NULL OR c.start_date <= p.as_of)
          AND (c.end_date IS NULL OR c.end_date >= p.as_of)"""  # noqa: S608
    medicaid = {r[0] for r in con.execute(medicaid_sql).fetchall()}
    con.close()
    with (Path(work) / "hccpy_in.jsonl").open("w") as handle:
        for pid, birth, sex, seg24, seg28, v24, hccs24, v28, hccs28 in chosen:
            handle.write(
                json.dumps(
                    {
                        "id": pid,
                        "codes": sorted(set(codes.get(pid, []))),
                        "age": age_on(birth, AS_OF),
                        "sex": sex_code(sex),
                        "medicaid": pid in medicaid,
                        "v24": [seg24, v24, hccs24],
                        "v28": [seg28, v28, hccs28],
                    }
                )
                + "\n"
            )
    print(
        json.dumps(
            {
                "comorbidipy_rows": comorbidipy_rows,
                "hccpy_patients": len(chosen),
                "inner_s": time.perf_counter() - started,
            }
        )
    )


def step_hccpy(work: str) -> None:
    """hccpy V24 (mapping year 2022, as ours) and V28 on the sample: seconds per patient, and agreement."""
    import re

    from hccpy.hcc import HCCEngine

    patients = [json.loads(line) for line in (Path(work) / "hccpy_in.jsonl").open()]
    report: dict[str, Any] = {"patients": len(patients)}
    for version in ("24", "28"):
        engine = HCCEngine(version=version, dx2cc_year="2022" if version == "24" else "Combined")
        equal = 0
        started = time.perf_counter()
        for p in patients:
            segment, score, hccs = p[f"v{version}"]
            profile = engine.profile(
                p["codes"],
                age=p["age"],
                sex=p["sex"],
                elig=segment,
                orec="1" if p["age"] < 65 else "0",
                medicaid=p["medicaid"],
            )
            listed = sorted(
                (h for h in profile["hcc_lst"] if re.fullmatch(r"HCC\d+", h)), key=lambda h: int(h[3:])
            )
            equal += (round(profile["risk_score"], 3), ";".join(listed)) == (score, hccs)
        report[f"v{version}_s"] = time.perf_counter() - started
        report[f"v{version}_equal"] = equal
    print(json.dumps(report))


# --------------------------------------------------------------------------- comparing (in this process)


def compare_comorbidipy(scores: Path, theirs: Path) -> dict[str, int]:
    """Per-patient agreement of our Charlson with comorbidipy's, every patient (absent = no diagnosis = 0)."""
    import duckdb

    con = duckdb.connect()
    con.execute("SET memory_limit = '2GB'")
    row = con.execute(
        f"""
        SELECT COUNT(*),
               COUNT(*) FILTER (WHERE o.charlson = COALESCE(t.charlson, 0)
                                  AND o.charlson_quan2011 = COALESCE(t.charlson_quan2011, 0)
                                  AND (t.id IS NULL OR o.charlson_age_adjusted = t.charlson_age_adjusted)),
               COUNT(*) FILTER (WHERE o.charlson = COALESCE(t.charlson, 0)
                                  AND (t.id IS NULL OR o.charlson_age_adjusted = t.charlson_age_adjusted)
                                  AND o.charlson_quan2011 - t.charlson_quan2011 = 2
                                  AND list_contains(string_split(o.charlson_categories, ';'), 'aids')),
               COUNT(*) FILTER (WHERE t.id IS NULL)
        FROM read_parquet('{scores}') AS o LEFT JOIN read_parquet('{theirs}') AS t ON t.id = o.patient_id
        """  # noqa: S608
    ).fetchall()[0]
    con.close()
    return {"patients": row[0], "equal": row[1], "aids_quan2011_weight": row[2], "no_diagnosis": row[3]}


def compare_engines(duck: Path, other: Path) -> dict[str, int]:
    """Rows and, per column, how many patients differ between two engines' scores (NULLs equal)."""
    import pyarrow.parquet as pq

    columns = [c for c in pq.read_schema(duck).names if c != "patient_id"]
    import duckdb

    con = duckdb.connect()
    con.execute("SET memory_limit = '2GB'")
    counts = ", ".join(f"COUNT(*) FILTER (WHERE a.{c} IS DISTINCT FROM b.{c})" for c in columns)
    row = con.execute(
        f"SELECT COUNT(*), COUNT(a.patient_id), COUNT(b.patient_id), {counts} "  # noqa: S608
        f"FROM read_parquet('{duck}') AS a FULL JOIN read_parquet('{other}') AS b USING (patient_id)"
    ).fetchall()[0]
    con.close()
    result = {"rows": row[0], "duckdb_rows": row[1], "other_rows": row[2]}
    result.update({c: n for c, n in zip(columns, row[3:], strict=True) if n})
    return result


# --------------------------------------------------------------------------- the benchmark


def _population_size(folder: Path) -> int:
    manifest = folder / "manifest.json"
    if manifest.is_file():
        for item in json.loads(manifest.read_text()).get("output", []):
            if item.get("type") == "Patient" and "count" in item:
                return int(item["count"])
    with (folder / "Patient.ndjson").open("rb") as handle:
        return sum(1 for _ in handle)


def _self(*args: str) -> list[str]:
    return [sys.executable, str(Path(__file__).resolve()), *args]


def _line(label: str, m: Measured, patients: int, extra: str = "") -> None:
    if m.failed:
        print(
            f"{label:<36} FAILED after {m.seconds:.1f} s (CPU {m.cpu_seconds:.1f} s), peak RSS "
            f"{m.max_rss_mb:,.0f} MB (tree {m.tree_peak_mb:,.0f} MB): {m.failed}"
        )
        return
    print(
        f"{label:<36} {m.seconds:7.1f} s  CPU {m.cpu_seconds:7.1f} s  "
        f"{patients / m.seconds:>9,.0f} patients/s  "
        f"peak RSS {m.max_rss_mb:6,.0f} MB (tree {m.tree_peak_mb:6,.0f} MB)  load {m.load:.1f}{extra}"
    )


def _verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def run(args: argparse.Namespace) -> None:
    if not PEERS_PYTHON.exists() and not args.no_peers:
        sys.exit(f"the peers venv is missing ({PEERS_PYTHON}): run `make peers` (or pass --no-peers)")
    parent = Path(args.workdir) if args.workdir else None
    work = Path(tempfile.mkdtemp(prefix="carenav-bench-stratify-", dir=parent))
    print(
        f"bench/stratify.py {date.today().isoformat()} on {platform.node()}: {os.cpu_count()} cores, "
        f"load average {os.getloadavg()[0]:.1f}, work folder {work}"
    )
    try:
        _run(args, work)
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


def _prepare(args: argparse.Namespace, work: Path, measured: dict[str, Measured]) -> tuple[Path, Path, int]:
    """The population and the snapshot: reused, or generated and built (and measured)."""
    if args.snapshot:
        import pyarrow.parquet as pq

        snapshot = Path(args.snapshot)
        patients = pq.read_metadata(snapshot / "patients.parquet").num_rows
        print(f"snapshot: {snapshot} ({patients:,} patients, reused)")
        return Path(args.population or snapshot), snapshot, patients
    if args.population:
        population = Path(args.population)
        patients = _population_size(population)
        print(f"population: {population} ({patients:,} patients, reused)")
    else:
        patients = args.patients
        population = work / "population"
        need = patients * BYTES_PER_PATIENT * 1.2
        free = shutil.disk_usage(work).free
        if free < need:
            sys.exit(
                f"{work}: {free / 1e9:.0f} GB free, {need / 1e9:.0f} GB needed; use --workdir or --population"
            )
        synth = [str(CARENAV), "synth", "--patients", str(patients), "--seed", str(args.seed)]
        synth += ["--out", str(population), "--workers", str(args.workers), "--json"]
        measured["synth"] = measure("carenav synth", synth, work)
        if measured["synth"].failed:
            sys.exit(f"carenav synth failed: {measured['synth'].failed}")
    size = sum(f.stat().st_size for f in population.glob("*.ndjson"))
    print(f"NDJSON: {size / 1e9:.2f} GB, {size / patients / 1e3:.1f} KB per patient")
    snapshot = work / "snapshot"
    measured["snapshot"] = measure("snapshot", _self("_snapshot", str(population), str(snapshot)), work)
    if measured["snapshot"].failed:
        sys.exit(f"the snapshot failed: {measured['snapshot'].failed}")
    return population, snapshot, patients


def _run(args: argparse.Namespace, work: Path) -> None:
    measured: dict[str, Measured] = {}
    population, snapshot, patients = _prepare(args, work, measured)
    scores, charlson_scores = work / "scores.parquet", work / "charlson.parquet"
    profile = ["--profile"] if args.profile else []
    engine = ["_engine", "duckdb", str(snapshot)]
    measured["full"] = measure("duckdb full", _self(*engine, str(scores), "all", *profile), work)
    if measured["full"].failed and args.retry_memory:
        measured["full_retry"] = measure(
            "duckdb full retry",
            _self(*engine, str(scores), "all", *profile),
            work,
            env={"CARENAV_DUCKDB_MEMORY": args.retry_memory},
        )
    measured["scores_only"] = measure(
        "duckdb no evidence", _self(*engine, str(work / "ne.parquet"), "no-evidence"), work
    )
    measured["charlson"] = measure("duckdb charlson", _self(*engine, str(charlson_scores), "charlson"), work)
    ours = scores if scores.exists() else work / "ne.parquet"  # the segments hccpy is given
    if not args.no_peers and ours.exists():
        inputs = _self("_peer_inputs", str(snapshot), str(ours), str(work), str(args.sample))
        measured["inputs"] = measure("peer inputs", inputs, work)
        como_in, como_out = work / "comorbidipy_in.parquet", work / "comorbidipy_out.parquet"
        measured["comorbidipy"] = measure(
            "comorbidipy", [str(PEERS_PYTHON), str(COMORBIDIPY_SCRIPT), str(como_in), str(como_out)], work
        )
        measured["hccpy"] = measure("hccpy", _self("_hccpy", str(work)), work)
    spark_wanted = (
        not args.no_spark
        and importlib.util.find_spec("pyspark") is not None
        and (ROOT / "src/carenav/analytics/engines/spark_engine.py").exists()
    )
    if spark_wanted:
        spark_out = str(work / "spark.parquet")
        measured["spark"] = measure(
            "spark full",
            _self("_engine", "spark", str(snapshot), spark_out, "all"),
            work,
            timeout=args.spark_timeout,
            env={
                "CARENAV_SPARK_DRIVER_MEMORY": args.spark_driver_memory,
                # the evidence of 1M patients is more than Spark's default 1 GB of results to the driver
                "PYSPARK_SUBMIT_ARGS": (
                    f"--conf spark.driver.maxResultSize={args.spark_max_result} pyspark-shell"
                ),
            },
        )
    if args.cli and not args.snapshot:
        command = [str(CARENAV), "stratify", "--from", str(population), "--as-of", AS_OF.isoformat()]
        measured["cli"] = measure(
            "carenav stratify --from", [*command, "--out", str(work / "cli.parquet")], work
        )
    _report(args, work, measured, patients, snapshot, scores, charlson_scores, spark_wanted)


def _report(
    args: argparse.Namespace,
    work: Path,
    measured: dict[str, Measured],
    patients: int,
    snapshot: Path,
    scores: Path,
    charlson_scores: Path,
    spark_wanted: bool,
) -> None:
    print()
    print(
        f"=== {patients:,} patients, as of {AS_OF}; wall and CPU time, peak memory of each step's process ==="
    )
    if "synth" in measured:
        _line("population (carenav synth)", measured["synth"], patients, f"  workers={args.workers}")
    if "snapshot" in measured:
        snapshot_mb = sum(f.stat().st_size for f in snapshot.glob("*.parquet")) / 2**20
        counts = measured["snapshot"].output.get("counts", {})
        _line(
            "snapshot (NDJSON -> Parquet)",
            measured["snapshot"],
            patients,
            f"\n{'':<36} {snapshot_mb:,.0f} MB: {counts}",
        )
    full = measured["full"]
    _line("carenav full run, DuckDB", full, patients, _engine_detail(full))
    if "full_retry" in measured:
        retry = measured["full_retry"]
        _line(f"  same, memory limit {args.retry_memory}", retry, patients, _engine_detail(retry))
    ran = full if not full.failed else measured.get("full_retry", full)
    _line(
        "carenav without evidence rows",
        measured["scores_only"],
        patients,
        _engine_detail(measured["scores_only"]),
    )
    charlson = measured["charlson"]
    _line("carenav Charlson only, DuckDB", charlson, patients, _engine_detail(charlson))
    fast = not full.failed and full.seconds <= TARGET_SECONDS
    print(
        f"target full run <= {TARGET_SECONDS:.0f} s: {_verdict(fast)} "
        f"({'failed' if full.failed else f'{full.seconds:.1f} s'}); <= {TARGET_MB / 1024:.0f} GB: "
        f"{_verdict(not full.failed and full.tree_peak_mb <= TARGET_MB)} ({full.tree_peak_mb / 1024:.2f} GB)"
    )
    for m in (full, measured.get("full_retry")):
        if m is not None and args.profile:
            _print_profile(m, work)
    peers = [measured[k] for k in ("inputs", "comorbidipy", "hccpy") if k in measured]
    for m in peers:
        if m.failed:
            _line(m.label, m, patients)
    if len(peers) == 3 and not any(m.failed for m in peers) and not measured["charlson"].failed:
        como, hcc = measured["comorbidipy"], measured["hccpy"]
        co, ho = como.output, hcc.output
        detail = (
            f"\n{'':<36} read {co.get('read_s', 0):.1f} s + score {co.get('score_s', 0):.1f} s + write "
            f"{co.get('write_s', 0):.1f} s; {co.get('rows_in', 0):,} diagnosis rows; comorbidipy "
            f"{co.get('comorbidipy')}, polars {co.get('polars')}, Python {co.get('python')}"
        )
        _line("comorbidipy Charlson (peers venv)", como, patients, detail)
        n = ho["patients"]
        per24, per28 = ho["v24_s"] / n, ho["v28_s"] / n
        print(
            f"{'hccpy V24 / V28 (sample)':<36} {n:,} patients: V24 {1 / per24:,.0f} patients/s "
            f"({ho['v24_equal']:,} equal to ours), V28 {1 / per28:,.0f} patients/s "
            f"({ho['v28_equal']:,} equal)"
        )
        agreement = compare_comorbidipy(charlson_scores, work / "comorbidipy_out.parquet")
        other = agreement["patients"] - agreement["equal"] - agreement["aids_quan2011_weight"]
        print(
            f"comorbidipy vs ours, every patient: {agreement['equal']:,} of {agreement['patients']:,} equal; "
            f"{agreement['aids_quan2011_weight']:,} differ only by comorbidipy's Quan-2011 AIDS weight "
            "(2 vs 4); "
            f"{other:,} otherwise ({agreement['no_diagnosis']:,} without a counted diagnosis are absent from "
            "comorbidipy's output and compared as 0)"
        )
        ours_c, theirs_c = patients / charlson.seconds, patients / como.seconds
        print(
            f"target Charlson at least as fast as comorbidipy: {_verdict(ours_c >= theirs_c)} (ours "
            f"{ours_c:,.0f} vs comorbidipy {theirs_c:,.0f} patients/s, x{ours_c / theirs_c:.2f}; CPU time "
            f"{charlson.cpu_seconds:.1f} s vs {como.cpu_seconds:.1f} s)"
        )
        peers_per_patient = como.seconds / patients + per24 + per28
        for label, m in (("full run", ran), ("run without evidence", measured["scores_only"])):
            if m.failed:
                continue
            ours_f = patients / m.seconds
            ratio = ours_f * peers_per_patient
            print(
                f"target {label} >= 10x the peers' combined throughput: {_verdict(ratio >= 10)} (ours "
                f"{ours_f:,.0f} patients/s, every score; peers {1 / peers_per_patient:,.0f} patients/s for "
                f"Charlson + HCC V24 + V28 = comorbidipy {como.seconds / patients * 1e6:.0f} us + hccpy V24 "
                f"{per24 * 1e6:.0f} us + V28 {per28 * 1e6:.0f} us per patient; x{ratio:,.1f})"
            )
    if "spark" in measured:
        spark = measured["spark"]
        _line("carenav full run, Spark local", spark, patients, _engine_detail(spark))
        if not spark.failed:
            same = compare_engines(scores if scores.exists() else work / "ne.parquet", work / "spark.parquet")
            differing = {k: v for k, v in same.items() if k not in ("rows", "duckdb_rows", "other_rows")}
            identical = not differing and same["rows"] == same["duckdb_rows"] == same["other_rows"]
            print(
                f"Spark vs DuckDB per-patient results: {'identical' if identical else 'DIFFERENT'} ({same})"
            )
    elif not args.no_spark and not spark_wanted:
        print("Spark: no Spark engine in this tree (carenav.analytics.engines.spark_engine) or no pyspark")
    if "cli" in measured:
        _line("carenav stratify --from (end to end)", measured["cli"], patients)


def _engine_detail(m: Measured) -> str:
    o = m.output
    if m.failed or not o:
        return ""
    return (
        f"\n{'':<36} engine {o['engine_s']:.1f} s + write {o['write_s']:.1f} s; {o['columns']} columns, "
        f"{o['evidence_rows']:,} evidence rows ({o['evidence_mb']:,.0f} MB as Arrow)"
    )


def _print_profile(m: Measured, work: Path) -> None:
    """The statements of a profiled DuckDB run (kept on its stderr, even when it failed), slowest first."""
    rows = []
    for line in (work / m.label.replace(" ", "_")).with_suffix(".err").read_text().splitlines():
        if line.startswith("profile: "):
            rows.append(json.loads(line.removeprefix("profile: ")))
    print(
        f"where the time of '{m.label}' goes: seconds, process RSS after it, DuckDB peak buffer; "
        "top operators"
    )
    for row in sorted(rows, key=lambda r: -float(r["s"]))[:12]:
        print(
            f"  {row['s']:7.2f} s  {row['rss_mb']:6,.0f} MB  {row.get('peak_buffer_mb', 0):6,} MB  "
            f"{row['where']}"
        )
        for top in row.get("top", []):
            print(f"  {'':>34}{top}")
    print(f"  {sum(float(r['s']) for r in rows):7.2f} s  in all {len(rows)} statements")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1].startswith("_"):
        step, rest = sys.argv[1], sys.argv[2:]
        if step == "_snapshot":
            step_snapshot(*rest)
        elif step == "_engine":
            step_engine(rest[0], rest[1], rest[2], rest[3], "--profile" in rest[4:])
        elif step == "_peer_inputs":
            step_peer_inputs(rest[0], rest[1], rest[2], int(rest[3]))
        elif step == "_hccpy":
            step_hccpy(rest[0])
        else:
            sys.exit(f"unknown step {step}")
        return
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--patients", type=int, default=1_000_000, help="population size (default 1,000,000)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--workers", type=int, default=2, help="carenav synth workers")
    parser.add_argument("--population", help="reuse this `carenav synth` folder instead of generating one")
    parser.add_argument("--snapshot", help="reuse this snapshot folder (kept by an earlier --keep run)")
    parser.add_argument(
        "--spark-driver-memory", default="8g", help="CARENAV_SPARK_DRIVER_MEMORY for the Spark run (8g)"
    )
    parser.add_argument(
        "--spark-max-result", default="6g", help="spark.driver.maxResultSize for the Spark run (6g)"
    )
    parser.add_argument(
        "--spark-timeout", type=float, default=1800.0, help="stop the Spark run after this many seconds"
    )
    parser.add_argument(
        "--sample", type=int, default=20_000, help="patients scored by hccpy (default 20,000)"
    )
    parser.add_argument("--workdir", help="where the temporary folder goes (default: the system's temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument("--no-peers", action="store_true", help="skip comorbidipy and hccpy")
    parser.add_argument("--no-spark", action="store_true", help="skip the Spark run")
    parser.add_argument("--cli", action="store_true", help="also time `carenav stratify --from` end to end")
    parser.add_argument("--profile", action="store_true", help="time every statement of the DuckDB full run")
    parser.add_argument(
        "--retry-memory",
        default="10GB",
        help="when the full run fails (out of memory), run it again with this DuckDB memory limit ('' = no)",
    )
    run(parser.parse_args())


if __name__ == "__main__":
    main()
