"""The command line: validate, plan, schema, status, --help, --version, progress lines on a
non-terminal stderr, and JSON log lines."""
from __future__ import annotations

import json
import os
import re
import sqlite3
import pyarrow as pa
import pyarrow.parquet as pq

from conftest import (INSTANCE, INSTANCE_KEY, parquet_loader, run_jetflow, run_ok,
                      write_pipeline)

SUBCOMMANDS = ["run", "validate", "plan", "schema", "status"]


def generate(rows=10_000, partitions=3, **extra):
    consumer = {"type": "generate", "rows": rows, "partitions": partitions, "seed": 5}
    consumer.update(extra)
    return consumer


def test_help_of_every_subcommand(tmp_path):
    top = run_jetflow("--help", expect=0)
    for name in SUBCOMMANDS:
        assert re.search(rf"^\s+{name}\s", top.stdout, re.M), top.stdout
    for name in SUBCOMMANDS:
        result = run_jetflow(name, "--help", expect=0)
        assert "Usage" in result.stdout and name in result.stdout, result.describe()
        assert "--json" in result.stdout


def test_version():
    result = run_jetflow("--version", expect=0)
    assert re.fullmatch(r"jetflow \d+\.\d+\.\d+\S*", result.stdout.strip()), result.stdout


def test_bad_arguments_exit_2(tmp_path):
    assert run_jetflow().code == 2
    assert run_jetflow("frobnicate").code == 2
    path = write_pipeline(tmp_path, generate())
    assert run_jetflow("run", path, "--no-such-flag").code == 2
    result = run_jetflow("run", tmp_path / "missing.yaml")
    assert result.code == 2 and "missing.yaml" in result.stderr, result.describe()


def test_validate(tmp_path):
    path = write_pipeline(tmp_path, generate(partitions=4))
    text = run_jetflow("validate", path, expect=0)
    assert "valid" in text.stdout and "4 partition" in text.stdout, text.stdout
    assert run_jetflow("validate", path, "--json", expect=0).json() == {"valid": True,
                                                                      "partitions": 4}
    assert not (tmp_path / "lake").exists() and not (tmp_path / "state.db").exists()


def test_plan_lists_partitions_and_rows(tmp_path):
    rows, partitions = 10_000, 3
    path = write_pipeline(tmp_path, generate(rows, partitions))
    plan = run_jetflow("plan", path, "--json", expect=0).json()
    assert plan["pipeline"] == "e2e"
    assert plan["instance"] == f"{INSTANCE_KEY}={INSTANCE}"
    ids = [p["id"] for p in plan["partitions"]]
    assert ids == [f"p{k:05d}" for k in range(partitions)]
    # Documented split: partition k covers rows [k*rows/p, (k+1)*rows/p).
    assert [p["expected_rows"] for p in plan["partitions"]] == [
        (k + 1) * rows // partitions - k * rows // partitions for k in range(partitions)]
    assert all(p["description"] for p in plan["partitions"])

    other = run_jetflow("plan", path, "--json", "--instance", "2026-12-01", expect=0).json()
    assert other["instance"] == f"{INSTANCE_KEY}=2026-12-01"

    text = run_jetflow("plan", path, expect=0).stdout
    for pid in ids:
        assert pid in text
    assert f"{partitions} partition" in text
    assert not (tmp_path / "lake").exists() and not (tmp_path / "state.db").exists()


def test_schema_source_and_output(tmp_path):
    table = pa.table({
        "id": pa.array([1, 2], pa.int64()),
        "u64": pa.array([1, 2**64 - 1], pa.uint64()),
        "ts": pa.array([0, 1000], pa.int64()).cast(pa.timestamp("ns", tz="UTC")),
        "name": pa.array(["a", None], pa.string()),
    })
    (tmp_path / "in").mkdir()
    pq.write_table(table, tmp_path / "in" / "a.parquet")
    path = write_pipeline(tmp_path, {"type": "file", "path": "in", "format": "parquet"},
                          loaders=[parquet_loader(), parquet_loader("raw", name="raw",
                                                                    profile="lossless")])
    schema = run_jetflow("schema", path, "--json", expect=0).json()
    source = {f["name"]: f["type"] for f in schema["source"]}
    assert source == {"id": "int64", "u64": "uint64", "ts": "timestamp[ns, tz=UTC]",
                      "name": "string"}, source
    spark = {f["name"]: f["type"] for f in schema["outputs"]["lake"]}
    assert spark == {"id": "int64", "u64": "decimal128(20, 0)", "ts": "timestamp[us, tz=UTC]",
                     "name": "string"}, spark
    lossless = {f["name"]: f["type"] for f in schema["outputs"]["raw"]}
    assert lossless == source
    text = run_jetflow("schema", path, expect=0).stdout
    assert "decimal128(20, 0)" in text and "uint64" in text


def test_status_after_runs(tmp_path):
    path = write_pipeline(tmp_path, generate(6000, 3))
    first = run_ok(path)
    second = run_ok(path, "--instance", "2026-11-26")

    runs = run_jetflow("status", path, "--json", expect=0).json()
    assert [r["run_id"] for r in runs] == [second["run_id"], first["run_id"]], runs
    assert [r["instance"] for r in runs] == [f"{INSTANCE_KEY}=2026-11-26",
                                             f"{INSTANCE_KEY}={INSTANCE}"]
    assert all(r["status"] == "succeeded" and r["rows_written"] == 6000 for r in runs)
    assert all(r["finished_at"] >= r["started_at"] for r in runs)

    limited = run_jetflow("status", path, "--json", "--limit", "1", expect=0).json()
    assert [r["run_id"] for r in limited] == [second["run_id"]]

    detail = run_jetflow("status", path, "--run", first["run_id"], "--json", expect=0).json()
    assert detail["run_id"] == first["run_id"] and detail["status"] == "succeeded"
    parts = detail["partitions"]
    assert [p["partition"] for p in parts] == ["p00000", "p00001", "p00002"]
    assert all(p["status"] == "committed" and p["attempts"] == 1 for p in parts)
    assert sum(p["rows_written"] for p in parts) == 6000
    assert sum(p["bytes_written"] for p in parts) == first["bytes_written"]

    text = run_jetflow("status", path, expect=0).stdout
    assert "succeeded" in text and "2026-11-26" in text
    text = run_jetflow("status", path, "--run", first["run_id"], expect=0).stdout
    assert "p00002" in text and "committed" in text


def test_status_only_reads(tmp_path):
    """status never writes: no store is created where there is none, and an existing
    one is opened read-only."""
    path = write_pipeline(tmp_path, generate(600, 2), state="store/state.db")
    store = tmp_path / "store" / "state.db"
    empty = run_jetflow("status", path, expect=0)
    assert "no runs" in empty.stdout, empty.describe()
    assert not (tmp_path / "store").exists(), "status created the state store"
    assert run_jetflow("status", path, "--json", expect=0).json() == []

    first = run_ok(path)
    assert [r["run_id"] for r in run_jetflow("status", path, "--json", expect=0).json()] \
        == [first["run_id"]]

    # A store of an older layout is read-only to status: refused with the remedy, and
    # left byte for byte as it was (a writing open would migrate it).
    con = sqlite3.connect(store)
    con.executescript("""
        DROP TABLE workers;
        ALTER TABLE runs DROP COLUMN finisher;
        ALTER TABLE partitions DROP COLUMN split;
        ALTER TABLE partitions DROP COLUMN owner;
        ALTER TABLE partitions DROP COLUMN config_fingerprint;
        ALTER TABLE attempts DROP COLUMN worker;
        ALTER TABLE runs DROP COLUMN opened_at;
        DELETE FROM schema_version WHERE version >= 3;
        PRAGMA user_version = 2;
        PRAGMA wal_checkpoint(TRUNCATE);
    """)
    con.close()
    before = store.read_bytes()
    old = run_jetflow("status", path, expect=3)
    assert "schema version 2" in old.stderr and "jetflow run" in old.stderr, old.describe()
    assert store.read_bytes() == before, "status wrote to the state store"
    run_ok(path, "--instance", "2026-11-26")  # run upgrades it
    assert len(run_jetflow("status", path, "--json", expect=0).json()) == 2


def test_status_needs_no_source_secret_or_input(tmp_path):
    """status reads the state store only: the source's password variable may be unset
    and its inputs absent, but the file's own mistakes are still reported."""
    consumer = {"type": "postgres", "dsn": "host=127.0.0.1 port=1 dbname=shop",
                "password_env": "JF_E2E_UNSET_PASSWORD", "table": "orders"}
    path = write_pipeline(tmp_path, consumer)
    env = {k: v for k, v in os.environ.items() if k != "JF_E2E_UNSET_PASSWORD"}
    result = run_jetflow("status", path, env=env, expect=0)
    assert "no runs of e2e yet" in result.stdout, result.describe()
    # run still needs it.
    result = run_jetflow("validate", path, env=env, expect=2)
    assert "JF_E2E_UNSET_PASSWORD" in result.stderr, result.describe()
    # A mistake outside the stages is still one.
    text = path.read_text() + "stat: {}\n"
    path.write_text(text)
    result = run_jetflow("status", path, env=env, expect=2)
    assert "unknown key 'stat'" in result.stderr, result.describe()


def test_status_of_unknown_run(tmp_path):
    path = write_pipeline(tmp_path, generate(100, 1))
    run_ok(path)
    result = run_jetflow("status", path, "--run", "999")
    assert result.code == 2, result.describe()
    assert "999" in result.stderr


def test_arrow_allocator_settings(tmp_path):
    """jetflow runs on Arrow's jemalloc pool with purged pages returned at once
    (JE_ARROW_MALLOC_CONF, which jetflow sets and executes itself again with, since
    jemalloc reads it before main); a user's own setting wins."""
    path = write_pipeline(tmp_path, generate(1000, 1))
    default = run_jetflow("--log-level", "debug", "validate", path, expect=0,
                          env={"JE_ARROW_MALLOC_CONF": None})
    assert "Arrow pool 'jemalloc'" in default.stderr, default.describe()
    assert ("jemalloc dirty_decay_ms 1000, muzzy_decay_ms 0 "
            "(JE_ARROW_MALLOC_CONF='muzzy_decay_ms:0', set by jetflow)"
            ) in default.stderr, default.describe()
    own = run_jetflow("--log-level", "debug", "validate", path, expect=0,
                      env={"JE_ARROW_MALLOC_CONF": "dirty_decay_ms:500"})
    assert ("jemalloc dirty_decay_ms 500, muzzy_decay_ms 1000 "
            "(JE_ARROW_MALLOC_CONF='dirty_decay_ms:500', from the environment)"
            ) in own.stderr, own.describe()


def test_human_summary(tmp_path):
    path = write_pipeline(tmp_path, generate(5000, 2))
    result = run_jetflow("run", path, "--no-progress", expect=0)
    assert "succeeded" in result.stdout
    assert "5,000" in result.stdout, result.stdout
    assert re.search(r"peak memory .+ RSS, .+ in the memory budget, .+ allocated by Arrow",
                     result.stdout), result.stdout


PROGRESS = re.compile(r"progress: rows ([\d,]+) .*partitions (\d+)/(\d+)")

LONG_RUN = generate(8_000_000, 30, columns=[
    {"name": "id", "type": "int64", "sequence": True},
    {"name": "v", "type": "int32"},
    {"name": "c", "type": "string", "values": ["a", "b", "c"]}])


def test_progress_lines_on_non_tty_stderr(tmp_path):
    path = write_pipeline(tmp_path, LONG_RUN, engine={"partitions_in_flight": 2})
    result = run_jetflow("run", path, "--json", "--log-interval", "0.05", expect=0)
    seconds = result.json()["seconds"]
    assert seconds > 0.3, f"the run took {seconds}s; it must last > 0.3s for this test"
    lines = [m for m in map(PROGRESS.search, result.stderr.splitlines()) if m]
    # At least half the expected lines: the reporter thread may be delayed on a busy machine.
    assert len(lines) >= max(3, int(seconds / 0.05 / 2)), (seconds, result.stderr)
    rows = [int(m.group(1).replace(",", "")) for m in lines]
    assert rows == sorted(rows) and rows[-1] > 0
    assert {int(m.group(3)) for m in lines} == {30}
    assert "\r" not in result.stderr and "\033[" not in result.stderr, \
        "terminal control characters on a non-terminal stderr"

    quiet = run_jetflow("run", path, "--json", "--no-progress", "--log-interval", "0.2",
                        expect=0)
    assert not PROGRESS.search(quiet.stderr), quiet.stderr


def test_json_log_lines(tmp_path):
    path = write_pipeline(tmp_path, LONG_RUN, engine={"partitions_in_flight": 2})
    result = run_jetflow("--log-format", "json", "--log-level", "debug", "run", path,
                         "--log-interval", "0.2", expect=0)
    lines = [l for l in result.stderr.splitlines() if l.strip()]
    assert lines, "no log lines at debug level"
    messages = []
    for line in lines:
        try:
            record = json.loads(line)
        except json.JSONDecodeError as e:
            raise AssertionError(f"log line is not JSON ({e}): {line!r}")
        assert {"ts", "level", "msg"} <= set(record), record
        messages.append(record["msg"])
    assert any(m.startswith("progress: ") for m in messages), messages


def test_json_log_lines_escape_quotes(tmp_path):
    """A message holding quotes or backslashes must still be one JSON document per line.
    Here: the info line about a stale partition names a lake path with both."""
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("a", "b"):
        (folder / f"{name}.csv").write_text("id,x\n1,2\n")
    path = write_pipeline(tmp_path, {"type": "file", "path": "in", "format": "csv"},
                          loaders=[parquet_loader('lake "x" \\ y')])
    run_ok(path)
    (folder / "b.csv").unlink()
    result = run_jetflow("--log-format", "json", "--log-level", "debug", "run", path,
                         "--json", "--no-progress", expect=0)
    lines = [l for l in result.stderr.splitlines() if l.strip()]
    assert any("stale" in l for l in lines), f"no line about the stale partition:\n{result.stderr}"
    for line in lines:
        try:
            json.loads(line)
        except json.JSONDecodeError as e:
            raise AssertionError(f"log line is not JSON ({e}): {line!r}")


def test_relative_paths_resolve_against_the_pipeline_folder(tmp_path):
    """Not against the working directory; the default state store is .jetflow/state.db
    next to the pipeline file."""
    folder = tmp_path / "project"
    path = write_pipeline(folder, generate(1000, 1), state=None)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    run_ok(path, cwd=elsewhere)
    assert (folder / "lake").is_dir() and (folder / ".jetflow" / "state.db").is_file()
    assert list(elsewhere.iterdir()) == []


def test_state_option_overrides_the_pipeline(tmp_path):
    path = write_pipeline(tmp_path, generate(1000, 1))
    other = tmp_path / "other" / "state.db"
    first = run_ok(path, "--state", other)
    assert other.is_file() and not (tmp_path / "state.db").exists()
    runs = run_jetflow("status", path, "--state", other, "--json", expect=0).json()
    assert [r["run_id"] for r in runs] == [first["run_id"]]
    assert run_jetflow("status", path, "--json", expect=0).json() == []
