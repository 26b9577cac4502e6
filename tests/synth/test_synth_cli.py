"""`carenav synth` at the command line: output layout, determinism, refusal of a non-empty --out."""

from __future__ import annotations

import hashlib
from pathlib import Path

import orjson
from click.testing import CliRunner

from carenav.cli.main import cli
from carenav.synth.writer import OUTPUT_TYPES


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["synth", *args])
    return result.exit_code, result.stdout, result.stderr


def _digests(out: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(out.iterdir())}


def test_writes_one_ndjson_file_per_type_and_a_json_summary(tmp_path: Path) -> None:
    out = tmp_path / "pop"
    code, stdout, _ = _run("--patients", "40", "--seed", "5", "--out", str(out), "--json")
    assert code == 0
    summary = orjson.loads(stdout)
    assert summary["patients"] == 40
    assert summary["counts"]["Patient"] == 40
    assert summary["patients_per_second"] > 0
    for name in OUTPUT_TYPES:
        lines = (out / f"{name}.ndjson").read_bytes().splitlines()
        assert len(lines) == summary["counts"][name]
        assert all(orjson.loads(line)["resourceType"] == name for line in lines)
    manifest = orjson.loads((out / "manifest.json").read_bytes())
    assert {item["type"]: item["count"] for item in manifest["output"]} == summary["counts"]


def test_same_arguments_give_byte_identical_files(tmp_path: Path) -> None:
    args = ("--patients", "60", "--seed", "11", "--as-of", "2024-12-31")
    assert _run(*args, "--out", str(tmp_path / "a"))[0] == 0
    assert _run(*args, "--out", str(tmp_path / "b"), "--workers", "2")[0] == 0
    assert _digests(tmp_path / "a") == _digests(tmp_path / "b")


def test_another_seed_or_date_gives_other_data(tmp_path: Path) -> None:
    assert _run("--patients", "20", "--seed", "1", "--out", str(tmp_path / "a"))[0] == 0
    assert _run("--patients", "20", "--seed", "2", "--out", str(tmp_path / "b"))[0] == 0
    assert (
        _run("--patients", "20", "--seed", "1", "--as-of", "2023-01-01", "--out", str(tmp_path / "c"))[0] == 0
    )
    a, b, c = (_digests(tmp_path / x)["Encounter.ndjson"] for x in "abc")
    assert len({a, b, c}) == 3


def test_refuses_a_non_empty_out_without_force(tmp_path: Path) -> None:
    out = tmp_path / "pop"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    code, _, stderr = _run("--patients", "5", "--out", str(out))
    assert code == 1
    assert "not empty" in stderr
    assert "--force" in stderr
    assert not (out / "Patient.ndjson").exists()
    code, _, _ = _run("--patients", "5", "--out", str(out), "--force")
    assert code == 0
    assert len((out / "Patient.ndjson").read_bytes().splitlines()) == 5
    assert (out / "keep.txt").read_text() == "mine"


def test_rejects_bad_arguments_with_a_reason(tmp_path: Path) -> None:
    out = str(tmp_path / "x")
    assert _run("--patients", "0", "--out", out)[2].startswith("carenav: --patients:")
    assert _run("--patients", "3", "--seed", "-1", "--out", out)[2].startswith("carenav: --seed:")
    assert _run("--patients", "3", "--as-of", "30/06/2025", "--out", out)[2].startswith("carenav: --as-of:")
    assert _run("--patients", "3", "--workers", "0", "--out", out)[2].startswith("carenav: --workers:")
    file_out = tmp_path / "file"
    file_out.write_text("")
    code, _, _ = _run("--patients", "3", "--out", str(file_out))
    assert code != 0


def test_human_summary_names_every_type(tmp_path: Path) -> None:
    code, stdout, _ = _run("--patients", "10", "--out", str(tmp_path / "p"))
    assert code == 0
    for name in OUTPUT_TYPES:
        assert name in stdout
    assert "patients/s" in stdout
