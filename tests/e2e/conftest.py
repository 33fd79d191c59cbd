"""Shared helpers of the end-to-end tests.

The tests run the real `jetflow` binary (env JETFLOW_BIN) on pipelines written into a
temporary folder, and check what it wrote with independent readers: pyarrow and DuckDB.

Nothing here skips: a missing binary, a hung process or a crash fails the test.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import sqlite3
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

# Generous: the suite also runs under AddressSanitizer, which is several times slower.
DEFAULT_TIMEOUT = float(os.environ.get("JETFLOW_E2E_TIMEOUT", "300"))

# Run instance used by most tests.
INSTANCE_KEY = "dt"
INSTANCE = "2026-11-25"
INSTANCE_DIR = f"{INSTANCE_KEY}={INSTANCE}"

STAGING_DIR = "_jetflow_staging"
TRASH_DIR = "_jetflow_trash"
MANIFEST = "_jetflow_manifest.json"
RUN_MANIFEST = "_jetflow_run.json"
SUCCESS = "_SUCCESS"


# ---------------------------------------------------------------------------------------
# The binary.

def jetflow_bin() -> str:
    path = os.environ.get("JETFLOW_BIN")
    if not path:
        pytest.fail("JETFLOW_BIN is not set: point it at the built jetflow binary "
                    "(ctest sets it; by hand: JETFLOW_BIN=build/release/bin/jetflow)")
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        pytest.fail(f"JETFLOW_BIN={path} is not an executable file")
    return path


def run_server_unit_tests(binary: str, suite: str, env: dict) -> None:
    """Runs the gtest suite `suite` of the unit-test binary `binary` (built next to the
    jetflow binary under test) against a server the caller started, named in `env`; the
    suite registers its tests only when that variable is set. Fails unless they ran and
    passed."""
    path = Path(jetflow_bin()).resolve().parents[1] / "src" / "jetflow" / binary
    if not path.is_file():
        pytest.fail(f"{path} is not built (cmake --build ... --target {binary})")
    proc = subprocess.run([str(path), f"--gtest_filter={suite}.*"], env={**os.environ, **env},
                          capture_output=True, text=True, timeout=DEFAULT_TIMEOUT)
    output = proc.stdout + proc.stderr
    passed = re.search(r"\[  PASSED  \] (\d+) tests?", proc.stdout)
    assert proc.returncode == 0 and passed and int(passed.group(1)) > 0, output[-6000:]


def source_dir() -> Path:
    path = os.environ.get("JETFLOW_SOURCE_DIR")
    if path:
        return Path(path)
    return Path(__file__).resolve().parents[2]


@dataclass
class Result:
    args: list
    code: int
    stdout: str
    stderr: str

    def json(self):
        """The one JSON object that --json prints on stdout."""
        text = self.stdout.strip()
        assert text, f"no JSON on stdout; stderr:\n{self.stderr}"
        try:
            return json.loads(text)
        except json.JSONDecodeError as e:
            pytest.fail(f"stdout is not one JSON document ({e}):\n{self.stdout}\n"
                        f"stderr:\n{self.stderr}")

    def describe(self) -> str:
        return (f"$ jetflow {' '.join(map(str, self.args))}\nexit {self.code}\n"
                f"--- stdout\n{self.stdout}\n--- stderr\n{self.stderr}")


SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                     "ThreadSanitizer", "terminate called")


def assert_not_crashed(result: Result) -> None:
    """A crash (signal, abort, sanitizer report) is never an acceptable outcome."""
    crashed = result.code < 0 or result.code in (134, 136, 139)
    sanitizer = next((m for m in SANITIZER_MARKERS if m in result.stderr), None)
    if crashed or sanitizer:
        what = f"signal {-result.code}" if result.code < 0 else f"exit {result.code}"
        pytest.fail(f"jetflow crashed ({what}{', ' + sanitizer if sanitizer else ''}):\n"
                    + result.describe())


def run_jetflow(*args, timeout: float = DEFAULT_TIMEOUT, env: dict | None = None,
                preexec_fn=None, cwd=None, expect: int | None = None) -> Result:
    """Runs jetflow to completion with a timeout; returns (code, stdout, stderr).

    Any crash fails the test. `expect` checks the exit code (and shows all output if wrong).
    `env` adds variables to the environment; a value of None removes one.
    """
    argv = [jetflow_bin(), *map(str, args)]
    full_env = dict(os.environ)
    for name, value in (env or {}).items():
        if value is None:
            full_env.pop(name, None)
        else:
            full_env[name] = value
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=full_env, cwd=cwd,
                            preexec_fn=preexec_fn, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        pytest.fail(f"jetflow {' '.join(map(str, args))} did not finish within {timeout}s\n"
                    f"--- stdout\n{out.decode(errors='replace')}\n"
                    f"--- stderr\n{err.decode(errors='replace')}")
    result = Result(list(args), proc.returncode, out.decode("utf-8", errors="replace"),
                    err.decode("utf-8", errors="replace"))
    assert_not_crashed(result)
    if expect is not None and result.code != expect:
        pytest.fail(f"expected exit {expect}\n" + result.describe())
    return result


def run_ok(pipeline, *extra, **kwargs) -> dict:
    """`jetflow run PIPELINE --json --no-progress ...` that must succeed; returns the summary."""
    result = run_jetflow("run", pipeline, "--json", "--no-progress", *extra, expect=0, **kwargs)
    summary = result.json()
    assert summary["status"] == "succeeded", result.describe()
    return summary


def replaced(value):
    """What `invalid_utf8: replace` must make of a server's bytes (a list: of each)."""
    if value is None:
        return None
    if isinstance(value, list):
        return [replaced(v) for v in value]
    return value.decode("utf-8", errors="replace")


def replaced_counts(summary: dict) -> dict:
    """column -> text values `invalid_utf8: replace` repaired, from the value changes of a
    run summary or a partition (`jetflow status --run N --json`)."""
    return {c["column"]: c["values"] for c in summary["value_changes"]
            if c["change"] == "invalid UTF-8"}


def check_replaced_reported(pipeline, result, stage: str, expected: dict) -> None:
    """A run of one partition (`result`, with --json) that replaced `expected` (column ->
    values) under `invalid_utf8: replace` reports them as value changes of `stage`: in
    its summary, one warning per column, and in the partition's record (`status`)."""
    summary = result.json()
    assert replaced_counts(summary) == expected, summary["value_changes"]
    assert all((c["stage"], c["action"]) == (stage, "replace")
               for c in summary["value_changes"]), summary["value_changes"]
    for column, count in expected.items():
        assert re.search(rf"partition all of .*: {stage} changed {count} invalid UTF-8 "
                         rf"values? of column {column} written with U\+FFFD",
                         result.stderr), result.stderr
    runs = run_jetflow("status", pipeline, "--json", expect=0).json()
    detail = run_jetflow("status", pipeline, "--run", runs[0]["run_id"], "--json",
                         expect=0).json()
    assert [replaced_counts(p) for p in detail["partitions"]] == [expected]


# ---------------------------------------------------------------------------------------
# Pipelines as YAML.

def _scalar(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    # A JSON string is a valid YAML double-quoted scalar.
    return json.dumps(str(value), ensure_ascii=False)


def to_yaml(obj, indent: int = 0) -> str:
    """Block-style YAML for dicts, lists and scalars (no PyYAML in the test venv)."""
    pad = "  " * indent
    lines = []
    if isinstance(obj, dict):
        for key, value in obj.items():
            if isinstance(value, (dict, list)) and value:
                lines.append(f"{pad}{key}:")
                lines.append(to_yaml(value, indent + 1))
            elif isinstance(value, dict):
                lines.append(f"{pad}{key}: {{}}")
            elif isinstance(value, list):
                lines.append(f"{pad}{key}: []")
            else:
                lines.append(f"{pad}{key}: {_scalar(value)}")
    elif isinstance(obj, list):
        for item in obj:
            if isinstance(item, (dict, list)) and item:
                sub = to_yaml(item, indent + 1).split("\n")
                lines.append(f"{pad}- {sub[0].lstrip()}")
                lines.extend(sub[1:])
            else:
                lines.append(f"{pad}- {_scalar(item)}")
    else:
        lines.append(pad + _scalar(obj))
    return "\n".join(lines)


def parquet_loader(path="lake", **options) -> dict:
    loader = {"type": "parquet", "name": "lake", "path": str(path), "partition_column": "part"}
    loader.update(options)
    return loader


def write_pipeline(folder: Path, consumer: dict, *, name: str = "e2e",
                   loaders: list | None = None, engine: dict | None = None,
                   state: str | None = "state.db", instance: str | None = INSTANCE,
                   file_name: str = "pipeline.yaml", extra: dict | None = None) -> Path:
    """Writes FOLDER/pipeline.yaml; relative paths in it resolve against FOLDER."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    doc = {"pipeline": name}
    if instance is not None:
        doc["run_instance"] = {"key": INSTANCE_KEY, "value": instance}
    doc["consumer"] = consumer
    doc["loaders"] = loaders if loaders is not None else [parquet_loader()]
    if state is not None:
        doc["state"] = {"path": state}
    if engine:
        doc["engine"] = engine
    if extra:
        doc.update(extra)
    path = folder / file_name
    path.write_text(to_yaml(doc) + "\n", encoding="utf-8")
    return path


def write_text_pipeline(folder: Path, text: str, file_name: str = "pipeline.yaml") -> Path:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / file_name
    path.write_text(text, encoding="utf-8")
    return path


def line_col(text: str, needle: str, occurrence: int = 0) -> tuple[int, int]:
    """1-based (line, column) of the start of `needle` in `text`."""
    index = -1
    for _ in range(occurrence + 1):
        index = text.index(needle, index + 1)
    line = text.count("\n", 0, index) + 1
    col = index - (text.rfind("\n", 0, index) + 1) + 1
    return line, col


# ---------------------------------------------------------------------------------------
# The lake.

def data_files(lake: Path) -> list[Path]:
    """Every Parquet file a reader of the lake would see, sorted: paths with a "_" or "."
    folder (staging, trash) are skipped, as Spark, Hive and pyarrow skip them."""
    lake = Path(lake)
    if not lake.exists():
        return []
    files = [p for p in lake.rglob("*.parquet") if p.is_file()
             and not any(part.startswith(("_", ".")) for part in p.relative_to(lake).parts)]
    return sorted(files)


def relative_files(lake: Path, pattern: str = "*") -> list[str]:
    lake = Path(lake)
    return sorted(str(p.relative_to(lake)) for p in lake.rglob(pattern) if p.is_file())


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def lake_digest(lake: Path) -> dict[str, str]:
    """relative path -> sha256 of every data file."""
    return {str(p.relative_to(lake)): sha256(p) for p in data_files(lake)}


def partition_dirs(lake: Path, instance_dir: str = INSTANCE_DIR) -> dict[str, Path]:
    """partition value -> directory, for the `part=<id>` directories of one run instance."""
    root = Path(lake) / instance_dir
    if not root.is_dir():
        return {}
    out = {}
    for child in sorted(root.iterdir()):
        if child.is_dir() and "=" in child.name:
            key, value = child.name.split("=", 1)
            out[value] = child
    return out


def read_lake_arrow(lake: Path, files: list[Path] | None = None) -> pa.Table:
    """All rows of all data files, read by pyarrow (no Hive columns added)."""
    files = data_files(lake) if files is None else files
    assert files, f"no Parquet files under {lake}"
    return ds.dataset([str(f) for f in files], format="parquet").to_table()


def duckdb_file_list(files) -> str:
    """A read_parquet() argument: the list of files, and no Hive columns added."""
    return ("[" + ", ".join("'" + str(f).replace("'", "''") + "'" for f in files) + "]"
            + ", hive_partitioning = false")


def duckdb_connect():
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    return con


def read_lake_duckdb(lake: Path, select: str = "*", order_by: str | None = None,
                     files: list[Path] | None = None) -> list[tuple]:
    """Rows of all data files, read by DuckDB."""
    files = data_files(lake) if files is None else files
    assert files, f"no Parquet files under {lake}"
    sql = f"SELECT {select} FROM read_parquet({duckdb_file_list(files)})"
    if order_by:
        sql += f" ORDER BY {order_by}"
    con = duckdb_connect()
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def duckdb_types(lake: Path) -> dict[str, str]:
    con = duckdb_connect()
    try:
        rows = con.execute(
            f"DESCRIBE SELECT * FROM read_parquet({duckdb_file_list(data_files(lake))})"
        ).fetchall()
        return {r[0]: r[1] for r in rows}
    finally:
        con.close()


def assert_no_staging_leftovers(lake: Path, empty_dirs_ok: bool = False) -> None:
    """Nothing left of attempts in progress or of replaced partitions (after a failed run,
    `empty_dirs_ok` tolerates empty folders: they hold nothing a reader could see)."""
    for name in (STAGING_DIR, TRASH_DIR):
        folder = Path(lake) / name
        if folder.exists():
            leftovers = [str(p.relative_to(lake)) for p in folder.rglob("*")
                         if not (empty_dirs_ok and p.is_dir())]
            assert not leftovers, f"leftovers after the run: {leftovers}"


def load_json(path: Path):
    assert Path(path).is_file(), f"missing {path}"
    return json.loads(Path(path).read_text(encoding="utf-8"))


# ---------------------------------------------------------------------------------------
# The state store.

def state_query(db: Path, sql: str, params=()) -> list[tuple]:
    """Read-only query of the state store, retried while the writer holds a lock."""
    deadline = time.monotonic() + 10
    while True:
        try:
            con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1)
            try:
                return con.execute(sql, params).fetchall()
            finally:
                con.close()
        except sqlite3.OperationalError as e:
            if time.monotonic() > deadline:
                raise
            if "locked" not in str(e) and "busy" not in str(e) and "unable to open" not in str(e):
                raise
            time.sleep(0.01)


def committed_partitions(db: Path) -> set[str]:
    """Partition ids the state store records as committed in its latest run; empty while
    the store does not exist or is being created."""
    if not db.exists():
        return set()
    try:
        return {r[0] for r in state_query(
            db, "SELECT partition_id FROM partitions WHERE status = 'committed' AND run_id = "
                "(SELECT max(run_id) FROM runs)")}
    except sqlite3.OperationalError as e:
        if "no such table" in str(e):
            return set()
        raise


def start_and_signal(pipeline: Path, db: Path, ready, log: Path, sig) -> int:
    """Starts `jetflow run PIPELINE`, polls the state store until ready(db) holds, sends
    it `sig` and returns its exit code (negative: the signal that killed it)."""
    with open(log, "ab") as out:
        proc = subprocess.Popen([jetflow_bin(), "run", str(pipeline), "--no-progress"],
                                stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                                start_new_session=True)
        try:
            deadline = time.monotonic() + DEFAULT_TIMEOUT
            while not ready(db):
                if proc.poll() is not None:
                    pytest.fail(f"jetflow exited ({proc.returncode}) before it could be "
                                f"signalled; log:\n{log.read_text(errors='replace')}")
                if time.monotonic() > deadline:
                    pytest.fail("the run never reached the point where it is signalled")
                time.sleep(0.005)
            proc.send_signal(sig)
            return proc.wait(timeout=60)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def start_and_kill(pipeline: Path, db: Path, ready, log: Path) -> set[str]:
    """start_and_signal with SIGKILL; returns the partitions the store recorded as
    committed."""
    code = start_and_signal(pipeline, db, ready, log, signal.SIGKILL)
    assert code == -signal.SIGKILL, f"exit {code}, not killed"
    return committed_partitions(db)


def natural_key(text: str):
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", text)]


def xxh3_128(path: Path) -> str:
    import xxhash  # pinned in scripts/requirements-test.txt
    return "xxh3-128:" + xxhash.xxh3_128_hexdigest(Path(path).read_bytes())


def check_partition_dir(lake: Path, folder: Path) -> dict:
    """A visible partition directory is complete: its manifest lists exactly its data
    files, with the right rows, bytes and checksums. Returns the manifest."""
    manifest = load_json(folder / MANIFEST)
    listed = {f["path"]: f for f in manifest["files"]}
    present = {str(p.relative_to(lake)) for p in folder.glob("*.parquet") if p.is_file()}
    assert set(listed) == present, (f"{folder}: manifest lists {sorted(listed)} but the "
                                    f"folder holds {sorted(present)}")
    others = sorted(p.name for p in folder.iterdir() if p.suffix != ".parquet"
                    and p.name != MANIFEST)
    assert not others, f"{folder}: unexpected entries {others}"
    assert manifest["location"] == str(folder.relative_to(lake))
    total = 0
    for rel, entry in listed.items():
        path = lake / rel
        rows = pq.ParquetFile(path).metadata.num_rows
        assert entry["rows"] == rows, f"{rel}: manifest says {entry['rows']} rows, file has {rows}"
        assert entry["bytes"] == path.stat().st_size, rel
        assert entry["checksum"] == xxh3_128(path), f"{rel}: checksum does not match the file"
        total += rows
    assert manifest["rows"] == total
    assert manifest["bytes"] == sum(e["bytes"] for e in listed.values())
    return manifest


def check_published_run(lake: Path, instance_dir: str = INSTANCE_DIR) -> dict:
    """A finished run instance: _SUCCESS and _jetflow_run.json present, consistent with the
    partition manifests and the files, written last; no staging leftovers. Returns the run
    manifest."""
    lake = Path(lake)
    run_dir = lake / instance_dir
    success = run_dir / SUCCESS
    assert success.is_file(), f"no {SUCCESS} in {run_dir}"
    run = load_json(run_dir / RUN_MANIFEST)
    assert run["instance"] == instance_dir
    parts = partition_dirs(lake, instance_dir)
    listed = {p["location"]: p for p in run["partitions"]}
    assert set(listed) == {str(d.relative_to(lake)) for d in parts.values()}, (
        f"run manifest lists {sorted(listed)}, lake holds {sorted(parts)}")
    newest = 0.0
    fingerprints = set()
    for folder in parts.values():
        manifest = check_partition_dir(lake, folder)
        assert manifest == listed[str(folder.relative_to(lake))], (
            f"{folder}: partition manifest differs from its entry in {RUN_MANIFEST}")
        fingerprints.add(manifest["schema_fingerprint"])
        for p in folder.iterdir():
            newest = max(newest, p.stat().st_mtime)
    assert len(fingerprints) <= 1, f"partitions written with different schemas: {fingerprints}"
    assert run["rows"] == sum(p["rows"] for p in run["partitions"])
    assert run["bytes"] == sum(p["bytes"] for p in run["partitions"])
    files = [f for folder in parts.values() for f in folder.glob("*.parquet") if f.is_file()]
    if files:
        assert run["rows"] == read_lake_arrow(lake, sorted(files)).num_rows
    # Written last: the marker after the run manifest, both after every partition.
    run_mtime = (run_dir / RUN_MANIFEST).stat().st_mtime
    assert success.stat().st_mtime >= run_mtime >= newest, "_SUCCESS is not the last write"
    assert_no_staging_leftovers(lake)
    return run


def check_visible_partitions_complete(lake: Path, instance_dir: str = INSTANCE_DIR) -> dict:
    """After a failed or killed run: every partition a reader can see is complete."""
    parts = partition_dirs(lake, instance_dir)
    for folder in parts.values():
        check_partition_dir(Path(lake), folder)
    stray = [p for p in data_files(lake)
             if p.parent not in set(parts.values())]
    assert not stray, f"data files outside committed partitions: {stray}"
    return parts
