"""`jetflow test`: pipeline test cases in YAML, run with no live source.

Passing suites must exit 0 with one PASS line per case; a wrong expected value must make
the command exit 1 and print the diff (row, column, expected, actual); invalid test files
exit 2 with file:line:col; --junit writes XML that Python's ElementTree parses.
"""
from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from conftest import line_col, run_jetflow, write_text_pipeline

PIPELINE = """\
pipeline: orders
run_instance: {key: dt, value: "2026-11-25"}
consumer: {type: file, path: orders.csv}
transformers:
  - type: filter
    name: only_paid
    where: "status = 'paid'"
  - type: derive
    name: totals
    columns:
      total: "amount * 2"
  - type: select
    name: trim
    drop: [note]
loaders:
  - {type: parquet, name: lake, path: lake}
"""

CSV = "id,status,amount,note\n1,paid,12.5,x\n2,open,3.25,y\n"

CASES = """\
cases:
  - name: filter keeps paid rows
    input:
      rows:
        - {id: 1, status: paid, amount: 1.5}
        - {id: 2, status: open, amount: 2}
        - {id: 3, status: paid}
    stages: only_paid
    expect:
      rows: [{id: 1, status: paid, amount: 1.5}, {id: 3, status: paid, amount: null}]
      rule_counts: {where: 1}
      dropped: 1
  - name: whole chain
    input: {rows: [{id: 1, status: paid, amount: 1.5, note: a}, {id: 3, status: paid, amount: 4}]}
    expect:
      schema: {id: int64, status: string, amount: float64, total: float64}
      rows: [{id: 1, total: 3.0}, {id: 3, total: 8}]
  - name: unordered rows and json input
    input: {json: '[{"id": 7, "status": "paid", "amount": 0.1}, {"id": 8, "status": "paid", "amount": 0.2}]'}
    stages: [totals, trim]
    expect:
      ordered: false
      rows: [{id: 8, total: 0.4}, {id: 7, total: 0.2}]
      row_count: 2
  - name: csv fixture
    input: {file: fixtures/more.csv}
    stages: [0, 1]
    expect:
      rows: [{id: 10, total: 20}]
  - name: jsonl fixture with a schema
    input:
      file: fixtures/more.jsonl
      schema: {id: int64, status: string, amount: float64, note: string}
    expect:
      rows: [{id: 21, total: 5}]
  - name: parquet fixture
    input: {file: fixtures/more.parquet}
    stages: none
    expect:
      schema: {id: int64, status: string, amount: double, note: string}
      row_count: 2
  - name: bind error is expected
    input:
      rows: [{id: 1}]
      schema: {id: int64}
    stages: trim
    expect: {error: "note"}
  - name: through the loader into a temporary lake
    through_loader: true
    input:
      rows:
        - {id: 1, status: paid, amount: 1.25, note: n}
        - {id: 2, status: open, amount: 9}
        - {id: 3, status: paid, amount: -4}
      batch_rows: 1
    expect:
      rows: [{id: 3, total: -8}, {id: 1, total: 2.5}]
      schema: {id: int64, status: string, amount: double, total: double}
      dropped: 1
"""


def make_suite(folder: Path, cases: str = CASES) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "orders.csv").write_text(CSV, encoding="utf-8")
    fixtures = folder / "fixtures"
    fixtures.mkdir(exist_ok=True)
    (fixtures / "more.csv").write_text("id,status,amount,note\n10,paid,10,a\n11,open,1,b\n",
                                       encoding="utf-8")
    (fixtures / "more.jsonl").write_text(
        '{"id": 20, "status": "open", "amount": 1.0, "note": "a"}\n'
        '{"id": 21, "status": "paid", "amount": 2.5, "note": "b"}\n', encoding="utf-8")
    pq.write_table(pa.table({"id": pa.array([1, 2], pa.int64()),
                             "status": ["paid", "open"], "amount": [1.0, 2.0],
                             "note": ["a", None]}), fixtures / "more.parquet")
    pipeline = write_text_pipeline(folder, PIPELINE, "orders.yaml")
    (folder / "orders.test.yaml").write_text(cases, encoding="utf-8")
    return pipeline


def case_lines(stdout: str) -> dict[str, str]:
    """case name -> PASS/FAIL, from the one line per case."""
    out = {}
    for line in stdout.splitlines():
        if line.startswith(("PASS  ", "FAIL  ")):
            status, rest = line.split("  ", 1)
            name = rest.split(" :: ", 1)[1].rsplit(" (", 1)[0]
            out[name] = status
    return out


def test_passing_suite(tmp_path):
    pipeline = make_suite(tmp_path / "p")
    result = run_jetflow("test", pipeline, expect=0)
    lines = case_lines(result.stdout)
    assert len(lines) == 8, result.describe()
    assert set(lines.values()) == {"PASS"}, result.describe()
    assert "8 passed, 0 failed" in result.stdout
    # No live source, and nothing written next to the pipeline: through_loader used a
    # temporary lake and state store.
    assert not (tmp_path / "p" / "lake").exists()
    assert not (tmp_path / "p" / ".jetflow").exists()


def test_folder_and_test_file_arguments(tmp_path):
    make_suite(tmp_path / "p")
    by_folder = run_jetflow("test", tmp_path / "p", expect=0)
    assert "8 passed, 0 failed" in by_folder.stdout
    by_file = run_jetflow("test", tmp_path / "p" / "orders.test.yaml", expect=0)
    assert "8 passed, 0 failed" in by_file.stdout
    filtered = run_jetflow("test", tmp_path / "p", "--filter", "fixture", expect=0)
    assert set(case_lines(filtered.stdout)) == {"csv fixture", "jsonl fixture with a schema",
                                                "parquet fixture"}


def test_wrong_expected_value_fails_with_diff(tmp_path):
    cases = CASES.replace("rows: [{id: 1, total: 3.0}, {id: 3, total: 8}]",
                          "rows: [{id: 1, total: 3.0}, {id: 3, total: 99}]")
    cases = cases.replace("rows: [{id: 8, total: 0.4}, {id: 7, total: 0.2}]",
                          "rows: [{id: 8, total: 0.4}, {id: 6, total: 0.2}, {id: 5}]")
    assert cases != CASES
    pipeline = make_suite(tmp_path / "p", cases)
    result = run_jetflow("test", pipeline, expect=1)
    lines = case_lines(result.stdout)
    assert lines["whole chain"] == "FAIL", result.describe()
    assert lines["unordered rows and json input"] == "FAIL", result.describe()
    assert lines["filter keeps paid rows"] == "PASS"
    assert "row 1, column 'total': expected 99, actual 8" in result.stdout, result.describe()
    # Unordered: the row that differs in one cell is paired; the other is missing.
    assert "column 'id': expected 6, actual 7" in result.stdout, result.describe()
    assert "missing row (expected row 2): {id: 5, total: null}" in result.stdout
    assert "row count: expected 3, actual 2" in result.stdout
    assert "6 passed, 2 failed" in result.stdout
    # The failing case's location is printed.
    text = (tmp_path / "p" / "orders.test.yaml").read_text()
    line, col = line_col(text, "name: whole chain")
    assert f"orders.test.yaml:{line}:{col}" in result.stdout, result.describe()


def test_expected_error_that_does_not_happen_fails(tmp_path):
    cases = """\
cases:
  - name: no error
    input: {rows: [{id: 1, status: paid, amount: 1, note: x}]}
    expect: {error: "boom"}
  - name: a different error
    input:
      rows: [{id: 1}]
      schema: {id: int64}
    stages: trim
    expect: {error: "this text is not in the message"}
  - name: bad expected value
    input: {rows: [{id: 1, status: paid, amount: 1, note: x}]}
    expect: {rows: [{id: "one"}]}
"""
    pipeline = make_suite(tmp_path / "p", cases)
    result = run_jetflow("test", pipeline, expect=1)
    assert set(case_lines(result.stdout).values()) == {"FAIL"}, result.describe()
    assert 'expected an error containing "boom", but the case succeeded' in result.stdout
    assert 'expected an error containing "this text is not in the message", got:' in result.stdout
    assert 'value "one" is not a valid int64' in result.stdout, result.describe()


def test_invalid_test_files_exit_2_with_location(tmp_path):
    cases = """\
cases:
  - name: typo in a key
    input: {rows: [{id: 1}]}
    expect: {rows: [{id: 1}], orderd: false}
  - name: unknown stage
    input: {rows: [{id: 1}]}
    stages: only_payd
    expect: {row_count: 1}
  - name: unknown type
    input: {rows: [{id: 1}], schema: {id: int65}}
    expect: {row_count: 1}
"""
    pipeline = make_suite(tmp_path / "p", cases)
    result = run_jetflow("test", pipeline, expect=2)
    test_file = tmp_path / "p" / "orders.test.yaml"
    text = test_file.read_text()
    line, col = line_col(text, "orderd")
    assert f"orders.test.yaml:{line}:{col}: error: unknown key 'orderd'" in result.stderr, \
        result.describe()
    assert "did you mean 'ordered'?" in result.stderr
    line, col = line_col(text, "only_payd")
    assert f"orders.test.yaml:{line}:{col}: error: no transformer 'only_payd'" in result.stderr
    assert "did you mean 'only_paid'?" in result.stderr
    line, col = line_col(text, "int65")
    assert f"orders.test.yaml:{line}:{col}: error: column 'id': unknown type" in result.stderr
    assert "1 invalid test file(s)" in result.stdout
    assert not case_lines(result.stdout)  # nothing of an invalid file runs

    # A YAML syntax error, and a test file of a broken pipeline, are invalid too.
    test_file.write_text("cases:\n  - name: [unclosed\n", encoding="utf-8")
    broken = run_jetflow("test", pipeline, expect=2)
    assert "orders.test.yaml:" in broken.stderr and "error:" in broken.stderr, broken.describe()


def test_no_test_cases_is_an_error(tmp_path):
    pipeline = make_suite(tmp_path / "p")
    (tmp_path / "p" / "orders.test.yaml").unlink()
    result = run_jetflow("test", pipeline, expect=2)
    assert "no test cases found" in result.stderr


def test_tests_folder_discovery(tmp_path):
    folder = tmp_path / "p"
    make_suite(folder)
    (folder / "orders.test.yaml").unlink()
    tests = folder / "tests"
    tests.mkdir()
    shutil.copy(folder / "orders.csv", folder / "other.csv")
    write_text_pipeline(folder, PIPELINE.replace("orders.csv", "other.csv")
                        .replace("pipeline: orders", "pipeline: other"), "other.yaml")
    (tests / "a.yaml").write_text(
        "pipeline: ../orders.yaml\ncases:\n  - name: a1\n    input: {rows: [{id: 1}]}\n"
        "    stages: none\n    expect: {row_count: 1}\n", encoding="utf-8")
    (tests / "b.yaml").write_text(
        "pipeline: ../other.yaml\ncases:\n  - name: b1\n    input: {rows: []}\n"
        "    expect: {rows: []}\n", encoding="utf-8")
    only_orders = run_jetflow("test", folder / "orders.yaml", expect=0)
    assert set(case_lines(only_orders.stdout)) == {"a1"}, only_orders.describe()
    both = run_jetflow("test", folder, expect=0)
    assert set(case_lines(both.stdout)) == {"a1", "b1"}, both.describe()
    # Two pipelines in the folder: a test file without `pipeline:` is ambiguous.
    (tests / "c.yaml").write_text(
        "cases:\n  - name: c1\n    input: {rows: []}\n    expect: {row_count: 0}\n",
        encoding="utf-8")
    ambiguous = run_jetflow("test", folder, expect=2)
    assert "cannot tell which pipeline" in ambiguous.stderr, ambiguous.describe()


def test_junit_xml(tmp_path):
    cases = CASES.replace("name: whole chain", "name: 'chain <&> \"quoted\"'").replace(
        "rows: [{id: 1, total: 3.0}, {id: 3, total: 8}]",
        "rows: [{id: 1, total: 3.0}, {id: 3, total: 99}]")
    pipeline = make_suite(tmp_path / "p", cases)
    report = tmp_path / "junit.xml"
    result = run_jetflow("test", pipeline, "--junit", report, expect=1)
    root = ET.parse(report).getroot()
    assert root.tag == "testsuites"
    assert root.get("tests") == "8" and root.get("failures") == "1", ET.tostring(root)
    suites = root.findall("testsuite")
    assert len(suites) == 1 and suites[0].get("name").endswith("orders.test.yaml")
    cases_by_name = {c.get("name"): c for c in suites[0].findall("testcase")}
    assert len(cases_by_name) == 8
    failing = cases_by_name['chain <&> "quoted"']  # escaped in the file, intact here
    failure = failing.find("failure")
    assert failure is not None
    assert "row 1, column 'total': expected 99, actual 8" in failure.text
    assert failure.get("message").startswith("row 1, column 'total'")
    assert cases_by_name["csv fixture"].find("failure") is None
    assert float(failing.get("time")) >= 0
    assert "1 failed" in result.stdout

    # Invalid files appear as errors.
    (tmp_path / "p" / "orders.test.yaml").write_text("cases: 3\n", encoding="utf-8")
    run_jetflow("test", pipeline, "--junit", report, expect=2)
    root = ET.parse(report).getroot()
    assert root.get("errors") == "1"
    assert root.find("testsuite/testcase/error") is not None


def test_json_output(tmp_path):
    pipeline = make_suite(tmp_path / "p")
    result = run_jetflow("test", pipeline, "--json", expect=0)
    doc = json.loads(result.stdout)
    assert doc["passed"] == 8 and doc["failed"] == 0 and doc["invalid_files"] == []
    assert {c["status"] for c in doc["cases"]} == {"passed"}
    assert all(c["line"] > 0 for c in doc["cases"])


VALIDATED = """\
pipeline: validated
run_instance: {key: dt, value: "2026-11-25"}
consumer: {type: file, path: orders.csv}
transformers:
  - type: validate
    name: checks
    rules:
      - {name: id_not_null, not_null: id, on_fail: drop}
      - {name: known_status, allowed: {column: status, values: [paid, open]}, on_fail: quarantine}
    quarantine: {path: quarantine}
loaders:
  - {type: parquet, name: lake, path: lake}
"""

VALIDATED_CASES = """\
cases:
  - name: rule counts per rule
    input:
      rows:
        - {id: 1, status: paid}
        - {status: open}
        - {id: 3, status: lost}
        - {id: 4, status: open}
    expect:
      rows: [{id: 1}, {id: 4}]
      rule_counts: {id_not_null: 1, known_status: 1, checks.known_status: 1}
      dropped: 1
      quarantined: 1
  - name: quarantine through the loader
    through_loader: true
    input: {rows: [{id: 1, status: paid}, {id: 3, status: lost}]}
    expect:
      rows: [{id: 1, status: paid}]
      quarantined: 1
"""


def test_validation_rule_counts_and_quarantine(tmp_path):
    folder = tmp_path / "v"
    folder.mkdir()
    (folder / "orders.csv").write_text(CSV, encoding="utf-8")
    pipeline = write_text_pipeline(folder, VALIDATED, "validated.yaml")
    (folder / "validated.test.yaml").write_text(VALIDATED_CASES, encoding="utf-8")
    result = run_jetflow("test", pipeline, expect=0)
    assert set(case_lines(result.stdout).values()) == {"PASS"}, result.describe()
    # The quarantine side output went to the temporary folder, not next to the pipeline.
    assert not (folder / "quarantine").exists()
    assert not (folder / "lake").exists()

    wrong = VALIDATED_CASES.replace("known_status: 1, checks", "known_status: 2, checks")
    (folder / "validated.test.yaml").write_text(wrong, encoding="utf-8")
    failed = run_jetflow("test", pipeline, expect=1)
    assert "rule 'known_status': expected 2 rows, actual 1" in failed.stdout, failed.describe()
