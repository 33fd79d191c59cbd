"""Transformers, validation and quarantine end to end: JSONL files -> cast, validate,
filter, derive, dedupe, metadata, constant -> Parquet lake plus a quarantine side output.

Checked with independent readers (DuckDB, pyarrow) and the state DB.
"""
from __future__ import annotations

import json
from pathlib import Path

import pyarrow.dataset as ds

from conftest import (INSTANCE_DIR, SUCCESS, line_col, read_lake_arrow, run_jetflow,
                      run_ok, state_query, write_text_pipeline)

ROWS = {
    "a.jsonl": [
        {"id": 1, "amount": "10.50", "status": "paid", "email": "a@x.org"},
        {"id": 2, "amount": "oops", "status": "paid", "email": "b@x.org"},   # cast
        {"id": 3, "amount": "-4", "status": "paid", "email": "c@x.org"},     # range
        {"id": 1, "amount": "11.00", "status": "paid", "email": "a@x.org"},  # duplicate
    ],
    "b.jsonl": [
        {"id": 5, "amount": "1", "status": "cancelled", "email": "e@x.org"},  # filter
        {"id": None, "amount": "2", "status": "paid", "email": "f@x.org"},    # not null
        {"id": 7, "amount": "3", "status": "lost", "email": "g@x.org"},       # allowed
        {"id": 8, "amount": "4", "status": "new", "email": "bad"},            # regex
        {"id": 9, "amount": "5", "status": "new", "email": "i@x.org"},
    ],
}

PIPELINE = """\
pipeline: checks
run_instance: {key: dt, value: "2026-11-25"}
consumer: {type: file, name: crm, path: in, format: jsonl}
transformers:
  - type: cast
    columns:
      amount: {type: "decimal(10,2)", on_error: quarantine}
    quarantine: {path: quarantine}
  - type: filter
    where: "status != 'cancelled'"
  - type: validate
    name: rules
    rules:
      - {name: has_id, not_null: id, on_fail: quarantine}
      - {range: {column: amount, min: 0}, on_fail: quarantine}
      - {allowed: {column: status, values: [paid, new]}, on_fail: quarantine}
      - {regex: {column: email, pattern: "^[^@]+@[^@]+$"}, on_fail: drop}
    quarantine: {path: quarantine}
  - type: dedupe
    keys: [id]
    keep: last
  - type: derive
    columns:
      big: "amount > 10"
  - type: metadata
  - type: constant
    columns:
      - {name: source_system, value: crm}
loaders:
  - {type: parquet, name: lake, path: lake, partition_column: part}
state: {path: state.db}
"""


def setup(tmp_path: Path) -> Path:
    (tmp_path / "in").mkdir()
    for name, rows in ROWS.items():
        (tmp_path / "in" / name).write_text(
            "".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return write_text_pipeline(tmp_path, PIPELINE)


def quarantine_rows(tmp_path: Path) -> list[dict]:
    rows = []
    # One dataset per transformer: quarantine/<transformer name>/dt=.../part=.../
    for stage in ("cast", "rules"):
        root = tmp_path / "quarantine" / stage
        files = sorted(p for p in root.rglob("*.parquet") if "_jetflow" not in str(p))
        table = ds.dataset([str(f) for f in files], format="parquet").to_table()
        rows += [{**r, "amount": str(r["amount"])} for r in table.to_pylist()]
    return sorted(rows, key=lambda r: (r["_jetflow_rule"], str(r["id"])))


def test_transforms_validation_and_quarantine(tmp_path):
    pipeline = setup(tmp_path)
    summary = run_ok(pipeline)
    assert summary["rows_read"] == 9
    assert summary["rows_written"] == 2
    assert summary["rows_quarantined"] == 4
    assert summary["rows_dropped"] == 3  # filter, regex, duplicate
    assert (summary["rows_written"] + summary["rows_dropped"] +
            summary["rows_quarantined"]) == summary["rows_read"]
    rules = {(r["stage"], r["rule"]): (r["action"], r["rows"]) for r in summary["rules"]}
    assert rules[("cast", "cast:amount")] == ("quarantine", 1)
    assert rules[("filter", "where")] == ("drop", 1)
    assert rules[("rules", "has_id")] == ("quarantine", 1)
    assert rules[("rules", "range_amount")] == ("quarantine", 1)
    assert rules[("rules", "allowed_status")] == ("quarantine", 1)
    assert rules[("rules", "regex_email")] == ("drop", 1)
    assert rules[("dedupe", "duplicates")] == ("drop", 1)

    rows = sorted(read_lake_arrow(tmp_path / "lake").to_pylist(), key=lambda r: r["id"])
    assert [r["id"] for r in rows] == [1, 9]
    assert str(rows[0]["amount"]) == "11.00"  # keep: last
    assert rows[0]["big"] is True and rows[1]["big"] is False
    assert rows[0]["source_system"] == "crm"
    assert rows[0]["_jetflow_source"] == "crm"
    assert rows[0]["_jetflow_run"] == "2026-11-25"
    assert rows[0]["_jetflow_partition"].startswith("f_a")
    assert rows[1]["_jetflow_partition"].startswith("f_b")
    assert rows[0]["_jetflow_ingested_at"] == rows[1]["_jetflow_ingested_at"]
    assert (tmp_path / "lake" / INSTANCE_DIR / SUCCESS).exists()

    quarantined = quarantine_rows(tmp_path)
    assert [(r["_jetflow_rule"], r["id"]) for r in quarantined] == [
        ("allowed_status", 7), ("cast:amount", 2), ("has_id", None), ("range_amount", 3)]
    cast_row = next(r for r in quarantined if r["_jetflow_rule"] == "cast:amount")
    assert cast_row["amount"] == "oops"  # original value, before the cast
    assert "oops" in cast_row["_jetflow_reason"]
    for stage in ("cast", "rules"):
        assert (tmp_path / "quarantine" / stage / INSTANCE_DIR / SUCCESS).exists()

    # The state DB holds per-rule counts per partition; `status --json` shows them.
    db_rules = state_query(tmp_path / "state.db",
                           "SELECT stage, rule, sum(rows) FROM partition_rules "
                           "GROUP BY stage, rule ORDER BY stage, rule")
    assert ("rules", "has_id", 1) in db_rules
    assert ("cast", "cast:amount", 1) in db_rules
    status = run_jetflow("status", pipeline, "--run", str(summary["run_id"]), "--json",
                         expect=0).json()
    per_partition = {p["partition"]: p for p in status["partitions"]}
    assert sum(p["rows_quarantined"] for p in per_partition.values()) == 4
    assert any(r["rule"] == "has_id" and r["rows"] == 1
               for p in per_partition.values() for r in p["rules"])
    text = run_jetflow("status", pipeline, "--run", str(summary["run_id"]), expect=0).stdout
    assert "rules.has_id" in text

    # A re-run replaces the quarantine: same rows, no duplicates.
    again = run_ok(pipeline, "--restart")
    assert again["rows_quarantined"] == 4
    assert quarantine_rows(tmp_path) == quarantined


def test_verify_checks_the_quarantine_too(tmp_path):
    """Quarantined rows are output like the lake's: `jetflow verify` checks each side
    output against its own manifests, and names the one that differs."""
    pipeline = setup(tmp_path)
    run_ok(pipeline)
    report = run_jetflow("verify", pipeline, "--deep", "--json", expect=0).json()
    assert report["status"] == "ok", report
    loaders = {r["loader"]: r for r in report["loaders"]}
    assert set(loaders) == {"lake", "cast.quarantine", "rules.quarantine"}, loaders
    assert (loaders["cast.quarantine"]["rows"], loaders["rules.quarantine"]["rows"]) == \
        (1, 3), loaders
    assert all(r["published"] for r in loaders.values()), loaders

    [damaged] = [p for p in (tmp_path / "quarantine" / "rules").rglob("*.parquet")
                 if "_jetflow" not in str(p)][:1]
    damaged.write_bytes(b"0123456789abcdef")
    result = run_jetflow("verify", pipeline, expect=1)
    assert "rules.quarantine: " in result.stdout, result.describe()
    assert damaged.name in result.stdout, result.describe()


def test_fail_policy_names_rule_and_rows(tmp_path):
    setup(tmp_path)
    text = PIPELINE.replace("{name: has_id, not_null: id, on_fail: quarantine}",
                            "{name: has_id, not_null: id}")
    pipeline = write_text_pipeline(tmp_path, text)
    result = run_jetflow("run", pipeline, "--no-progress", expect=1)
    assert "rule 'has_id'" in result.stderr
    assert "id: null" in result.stderr
    assert not (tmp_path / "lake" / INSTANCE_DIR / SUCCESS).exists()


def test_bad_configs_are_located(tmp_path):
    setup(tmp_path)
    text = PIPELINE.replace("not_null: id, on_fail", "not_null: idd, on_fail").replace(
        "keep: last", "keep: lastt")
    pipeline = write_text_pipeline(tmp_path, text)
    result = run_jetflow("validate", pipeline, expect=2)
    line, col = line_col(text, "lastt")
    assert f"pipeline.yaml:{line}:{col}" in result.stderr, result.stderr
    fixed = text.replace("keep: lastt", "keep: last")
    pipeline = write_text_pipeline(tmp_path, fixed)
    result = run_jetflow("validate", pipeline, expect=2)
    assert "no column 'idd' (did you mean 'id'?)" in result.stderr, result.stderr
    line, _ = line_col(fixed, "{name: has_id")
    assert f"pipeline.yaml:{line}:" in result.stderr, result.stderr
