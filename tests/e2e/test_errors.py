"""Mistakes in configs, inputs and the environment: precise messages (file:line:col where
there is a line), the documented exit codes, nothing moved before a config error, no crash,
no partial partition after a failed write, and no secret from the environment echoed."""
from __future__ import annotations

import os
import re
import resource
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from conftest import (INSTANCE_DIR, SUCCESS, check_published_run,
                      check_visible_partitions_complete, line_col,
                      parquet_loader, read_lake_arrow, run_jetflow, run_ok, state_query,
                      write_pipeline, write_text_pipeline)

GOOD = """\
pipeline: errors
run_instance: {key: dt, value: "2026-11-25"}
consumer:
  type: generate
  rows: 100
  partitions: 2
loaders:
  - type: parquet
    name: lake
    path: lake
    compression: zstd
state:
  path: state.db
"""


def assert_located(stderr: str, text: str, needle: str, message: str, occurrence: int = 0):
    """stderr has 'pipeline.yaml:LINE:COL: error: ...message...' at the needle's position."""
    line, col = line_col(text, needle, occurrence)
    pattern = re.compile(rf"pipeline\.yaml:{line}:{col}: error: .*{re.escape(message)}")
    assert pattern.search(stderr), (f"expected an error at pipeline.yaml:{line}:{col} "
                                    f"saying {message!r}; stderr:\n{stderr}")


def assert_nothing_moved(folder: Path):
    assert not (folder / "lake").exists(), "the lake was created although the config is bad"
    assert not (folder / "state.db").exists(), "the state store was touched"


def test_good_config_validates(tmp_path):
    """The baseline the other tests mutate is itself valid."""
    path = write_text_pipeline(tmp_path, GOOD)
    run_jetflow("validate", path, expect=0)


def test_malformed_yaml_bad_indentation(tmp_path):
    text = GOOD.replace("  rows: 100", "   rows: 100")
    path = write_text_pipeline(tmp_path, text)
    for command in ("validate", "run", "plan"):
        result = run_jetflow(command, path, expect=2)
        line, _ = line_col(text, "   rows: 100")
        assert re.search(rf"pipeline\.yaml:{line}:\d+: error: ", result.stderr), result.describe()
    assert_nothing_moved(tmp_path)


def test_malformed_yaml_tab(tmp_path):
    text = GOOD.replace("  partitions: 2", "\tpartitions: 2")
    path = write_text_pipeline(tmp_path, text)
    result = run_jetflow("run", path, expect=2)
    line, _ = line_col(text, "\tpartitions")
    assert re.search(rf"pipeline\.yaml:{line}:\d+: error: ", result.stderr), result.describe()
    assert_nothing_moved(tmp_path)


def test_unterminated_quote(tmp_path):
    """yaml-cpp reads an unterminated quote up to the end of the file; what is then
    missing must be reported, not crash the process (uncaught YAML::InvalidNode)."""
    path = write_text_pipeline(tmp_path, 'pipeline: "errors\nconsumer: {type: generate}\n')
    result = run_jetflow("validate", path)
    assert result.code == 2, result.describe()
    assert "pipeline.yaml:" in result.stderr and "error:" in result.stderr, result.describe()


def test_missing_loaders_key(tmp_path):
    """Required sections missing: errors, not a crash."""
    text = GOOD[:GOOD.index("loaders:")]
    path = write_text_pipeline(tmp_path, text)
    result = run_jetflow("validate", path)
    assert result.code == 2, result.describe()
    assert "missing required key 'loaders'" in result.stderr, result.describe()


def test_empty_file(tmp_path):
    path = write_text_pipeline(tmp_path, "")
    result = run_jetflow("validate", path, expect=2)
    assert "pipeline.yaml" in result.stderr and "error" in result.stderr


def test_unknown_key_did_you_mean(tmp_path):
    text = GOOD.replace("    compression: zstd", "    compresion: zstd")
    path = write_text_pipeline(tmp_path, text)
    result = run_jetflow("run", path, expect=2)
    assert_located(result.stderr, text, "compresion",
                   "unknown key 'compresion' in 'loaders[0]' (did you mean 'compression'?)")
    assert_nothing_moved(tmp_path)


def test_all_mistakes_reported_at_once(tmp_path):
    text = (GOOD.replace("  partitions: 2", "  partitons: 2")
                .replace("    compression: zstd", "    compresion: zstd\n    profile: sprak")
            + "engine:\n  memory_budget: lots\n  partitions_in_flight: -1\n"
              "  retries: {max_attemps: 3}\n")
    path = write_text_pipeline(tmp_path, text)
    result = run_jetflow("validate", path, expect=2)
    err = result.stderr
    assert_located(err, text, "partitons", "unknown key 'partitons'")
    assert_located(err, text, "partitons", "did you mean 'partitions'?")
    assert_located(err, text, "compresion", "did you mean 'compression'?")
    assert_located(err, text, "sprak", "'sprak'")
    assert_located(err, text, "lots", "'engine.memory_budget'")
    assert_located(err, text, "-1\n", "'engine.partitions_in_flight'")
    assert_located(err, text, "max_attemps", "did you mean 'max_attempts'?")
    assert len(re.findall(r"pipeline\.yaml:\d+:\d+: error: ", err)) == 6, err
    assert_nothing_moved(tmp_path)


def test_unknown_consumer_type(tmp_path):
    text = GOOD.replace("type: generate", "type: genrate")
    path = write_text_pipeline(tmp_path, text)
    result = run_jetflow("run", path, expect=2)
    assert_located(result.stderr, text, "genrate", "unknown consumer type 'genrate'")
    assert "did you mean 'generate'?" in result.stderr
    assert_nothing_moved(tmp_path)


def test_missing_input_file(tmp_path):
    path = write_pipeline(tmp_path, {"type": "file", "path": "in/nothing_here.csv",
                                     "format": "csv"})
    result = run_jetflow("run", path, expect=2)
    assert "nothing_here.csv" in result.stderr, result.describe()
    assert_nothing_moved(tmp_path)


def test_glob_matching_nothing(tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "other.txt").write_text("x\n")
    path = write_pipeline(tmp_path, {"type": "file", "path": "in/*.jsonl", "format": "jsonl"})
    result = run_jetflow("run", path, expect=2)
    assert "*.jsonl" in result.stderr, result.describe()
    assert_nothing_moved(tmp_path)


def test_declared_schema_mismatch_lists_every_column(tmp_path):
    declared = [
        {"name": "id", "type": "int64"},
        {"name": "nope", "type": "int32"},             # not in the stream
        {"name": "created_at", "type": "bool"},        # timestamp -> bool: no cast
        {"name": "is_active", "type": "date"},         # bool -> date: no cast
        {"name": "amount", "type": "decimal(18,4)"},
    ]
    path = write_pipeline(tmp_path, {"type": "generate", "rows": 100, "preset": "mixed10"},
                          loaders=[parquet_loader(schema=declared)])
    for command in ("run", "validate"):
        result = run_jetflow(command, path, expect=2)
        err = result.stderr
        for column in ("nope", "created_at", "is_active"):
            assert f"'{column}'" in err, f"{column} not named:\n{err}"
        # Undeclared stream columns are errors too by default (extra_columns: error).
        for column in ("account_id", "price", "name", "country", "score", "comment"):
            assert f"'{column}'" in err, f"{column} not named:\n{err}"
        for column in ("id", "amount"):
            assert f"column '{column}'" not in err, f"{column} is fine but was reported"
    assert_nothing_moved(tmp_path)


def test_output_under_a_regular_file(tmp_path):
    (tmp_path / "blocker").write_text("I am a file\n")
    path = write_pipeline(tmp_path, {"type": "generate", "rows": 100},
                          loaders=[parquet_loader("blocker/lake")])
    result = run_jetflow("run", path)
    assert result.code in (1, 2), result.describe()
    assert "blocker/lake" in result.stderr, result.describe()
    assert (tmp_path / "blocker").read_text() == "I am a file\n"


def test_state_store_not_writable(tmp_path):
    (tmp_path / "blocker").write_text("I am a file\n")
    path = write_pipeline(tmp_path, {"type": "generate", "rows": 100}, state="blocker/state.db")
    result = run_jetflow("run", path)
    assert result.code == 3, result.describe()
    assert "blocker" in result.stderr, result.describe()
    assert not (tmp_path / "lake").exists()


def test_state_store_file_of_another_program(tmp_path):
    (tmp_path / "state.db").write_bytes(b"not a database at all\n" * 100)
    path = write_pipeline(tmp_path, {"type": "generate", "rows": 100})
    result = run_jetflow("run", path)
    assert result.code == 3, result.describe()
    assert "state.db" in result.stderr, result.describe()
    assert (tmp_path / "state.db").read_bytes() == b"not a database at all\n" * 100, \
        "jetflow overwrote a file that is not its state store"
    assert not (tmp_path / "lake").exists()


def test_instance_value_cannot_escape_the_lake(tmp_path):
    path = write_pipeline(tmp_path / "p", {"type": "generate", "rows": 10})
    result = run_jetflow("run", path, "--instance", "../../escape", expect=2)
    assert "../../escape" in result.stderr
    assert not (tmp_path / "escape").exists()
    assert not (tmp_path / "p" / "lake").exists()


def write_mixed_size_inputs(folder: Path) -> int:
    """Three small Parquet inputs and one whose output is several MiB (random strings
    do not compress)."""
    folder.mkdir(parents=True)
    sizes = {"a_small": 500, "b_small": 800, "c_big": 120_000, "d_small": 300}
    total = 0
    for k, (name, n) in enumerate(sizes.items()):
        ids = pa.array(range(k * 1_000_000, k * 1_000_000 + n), pa.int64())
        noise = pa.array([os.urandom(24).hex() for _ in range(n)], pa.string())
        pq.write_table(pa.table({"id": ids, "noise": noise}), folder / f"{name}.parquet")
        total += n
    return total


def test_file_size_limit_fails_cleanly_then_resumes(tmp_path):
    """RLIMIT_FSIZE makes a write fail with EFBIG, like a full disk: the run fails with a
    clear message, publishes no partial partition, and a run without the limit completes."""
    total = write_mixed_size_inputs(tmp_path / "in")
    path = write_pipeline(tmp_path, {"type": "file", "path": "in", "format": "parquet"},
                          loaders=[parquet_loader(compression="none")],
                          engine={"partitions_in_flight": 1,
                                  "retries": {"max_attempts": 2, "backoff": "10ms"}})
    limit = 1 << 20

    def limit_file_size():
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    result = run_jetflow("run", path, "--json", "--no-progress", preexec_fn=limit_file_size)
    # SIGXFSZ would kill the process (-25): jetflow must ignore it and see EFBIG.
    assert result.code == 1, result.describe()
    summary = result.json()
    assert summary["status"] == "failed"
    assert re.search(r"File too large|EFBIG|errno 27", summary["error"], re.I), summary["error"]
    lake = tmp_path / "lake"
    assert not (lake / INSTANCE_DIR / SUCCESS).exists()
    visible = check_visible_partitions_complete(lake) if lake.exists() else {}
    db = tmp_path / "state.db"
    committed = state_query(db, "SELECT count(*) FROM partitions WHERE status = 'committed'")[0][0]
    assert committed == 2 and len(visible) == 2, (committed, sorted(visible))

    summary = run_ok(path)
    assert summary["resumed"] is True and summary["partitions_kept"] == 2, summary
    check_published_run(lake)
    assert read_lake_arrow(lake).num_rows == total


def test_full_state_store_exits_3_and_the_next_run_completes(tmp_path):
    """A state store that cannot grow (RLIMIT_FSIZE at its size, like a full disk under
    it): the run stops with exit 3, the README's code for the state store, naming the
    store; once there is room, the instance runs to completion, every row once."""
    path = write_pipeline(tmp_path, {"type": "generate", "rows": 1000, "partitions": 40})
    run_ok(path, "--instance", "first")
    store = tmp_path / "state.db"
    size = store.stat().st_size

    def store_cannot_grow():
        resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))

    result = run_jetflow("run", path, "--instance", "second", "--no-progress",
                         preexec_fn=store_cannot_grow)
    assert result.code == 3, result.describe()
    assert "state store" in result.stderr and "state.db" in result.stderr, result.describe()
    assert not (tmp_path / "lake" / "dt=second" / SUCCESS).exists()

    summary = run_ok(path, "--instance", "second")
    assert summary["status"] == "succeeded", summary
    check_published_run(tmp_path / "lake", "dt=second")
    assert read_lake_arrow(tmp_path / "lake" / "dt=second").num_rows == 1000


def tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_a_lake_path_holding_foreign_data_is_refused_unless_adopted(tmp_path):
    """A loader path pointing at a folder that already holds another tool's data: the run
    is refused (exit 2) before anything is replaced or removed, naming what is foreign;
    with adopt_existing: true the run replaces it. Files readers skip ('_', '.') and
    other run instances' folders are never touched."""
    lake = tmp_path / "lake"
    instance = lake / INSTANCE_DIR
    (instance / "part=p00000").mkdir(parents=True)
    (instance / "part=p00000" / "theirs.parquet").write_bytes(b"another tool's data")
    (instance / "region=eu").mkdir()
    (instance / "region=eu" / "data.parquet").write_bytes(b"more of it")
    (instance / "_SUCCESS").write_bytes(b"")  # Spark's marker, not jetflow's
    (lake / "dt=2026-01-01").mkdir()
    (lake / "dt=2026-01-01" / "keep.csv").write_bytes(b"another instance")
    before = tree(tmp_path / "lake")

    path = write_pipeline(tmp_path, {"type": "generate", "rows": 100, "partitions": 2})
    result = run_jetflow("run", path, "--no-progress", expect=2)
    for foreign in ("part=p00000/theirs.parquet", "region=eu/data.parquet", "_SUCCESS",
                    "adopt_existing: true"):
        assert foreign in result.stderr, result.describe()
    assert tree(tmp_path / "lake") == before, "a refused run changed the lake"

    consumer = {"type": "generate", "rows": 100, "partitions": 2}
    path = write_pipeline(tmp_path, consumer, loaders=[parquet_loader(adopt_existing=True)])
    result = run_jetflow("run", path, "--no-progress", "--json", expect=0)
    assert "adopting" in result.stderr, result.describe()
    check_published_run(lake)
    assert read_lake_arrow(lake / INSTANCE_DIR).num_rows == 100
    assert not (instance / "region=eu").exists()
    assert (lake / "dt=2026-01-01" / "keep.csv").read_bytes() == b"another instance"
    # jetflow's own output is replaced by the next run without a word.
    run_ok(write_pipeline(tmp_path, consumer), "--restart")
    check_published_run(lake)


def test_env_substitution(tmp_path):
    elsewhere = tmp_path / "elsewhere"
    path = write_pipeline(tmp_path / "p",
                          {"type": "generate", "rows": "${JF_E2E_ROWS}",
                           "partitions": "${JF_E2E_UNSET_PARTITIONS:-3}"},
                          loaders=[parquet_loader("${JF_E2E_LAKE}/lake")])
    summary = run_ok(path, env={"JF_E2E_ROWS": "1234", "JF_E2E_LAKE": str(elsewhere)})
    assert summary["rows_written"] == 1234 and summary["partitions_total"] == 3
    assert read_lake_arrow(elsewhere / "lake").num_rows == 1234
    assert not (tmp_path / "p" / "lake").exists()


def test_missing_env_var_is_located(tmp_path):
    text = GOOD.replace("path: lake", 'path: "${JF_E2E_NOT_SET_ANYWHERE}/lake"')
    path = write_text_pipeline(tmp_path, text)
    assert "JF_E2E_NOT_SET_ANYWHERE" not in os.environ
    result = run_jetflow("run", path, expect=2)
    assert_located(result.stderr, text, '"${JF_E2E_NOT_SET_ANYWHERE}',
                   "JF_E2E_NOT_SET_ANYWHERE")
    assert_nothing_moved(tmp_path)


SECRET = "s3cr3t-Tok3n-9f8e7d"


def test_secret_not_echoed_in_errors(tmp_path):
    """A value from the environment may be a secret: messages about it must not print it."""
    text = GOOD.replace("state:", 'engine:\n  memory_budget: "${JF_E2E_SECRET}"\nstate:')
    path = write_text_pipeline(tmp_path, text)
    for command in ("validate", "run"):
        result = run_jetflow("--log-level", "debug", command, path,
                             env={"JF_E2E_SECRET": SECRET}, expect=2)
        assert "memory_budget" in result.stderr, result.describe()
        assert SECRET not in result.stderr + result.stdout, \
            f"the secret from JF_E2E_SECRET was printed:\n{result.describe()}"


def test_dsn_passwords_with_uri_delimiters_are_never_printed(tmp_path):
    """Passwords with '%', '@', '[', quotes and spaces, written into a PostgreSQL DSN in
    every form: libpq's own error text quotes a malformed URI's user-info, and the masked
    DSN must hide the whole password, not the part before its '@'."""
    cases = [
        ("postgresql://etl:${PGPW}@127.0.0.1:1/shop", "Tr0ub4dor%&3"),
        ("postgresql://etl:${PGPW}@127.0.0.1:1/shop", "p@ss[w0rd]@x"),
        ("postgres://127.0.0.1:1/shop?user=etl&password=${PGPW}", "Tr0ub4dor%&3"),
        ("host=127.0.0.1 port=1 dbname=shop user=etl password=${PGPW}", "Tr0ub4dor%&3"),
        ("host=127.0.0.1 port=1 dbname=shop user=etl password='${PGPW}'", "s3cret w1th space"),
    ]
    for dsn, password in cases:
        consumer = {"type": "postgres", "dsn": dsn, "table": "orders",
                    "connect_timeout": "2s"}
        path = write_pipeline(tmp_path, consumer)
        for command in ("validate", "run"):
            extra = ["--no-progress"] if command == "run" else []
            result = run_jetflow("--log-level", "debug", command, path, *extra,
                                 env={"PGPW": password})
            # 2: refused as written; 4: a well-formed DSN whose server is down.
            assert result.code in (2, 4), result.describe()
            assert "dsn" in result.stderr, result.describe()
            output = result.stderr + result.stdout
            # The password, and the pieces libpq would make of it by splitting at '@',
            # '%' or a space.
            pieces = {password} | set(re.split(r"[@% ]", password))
            for shown in (piece for piece in pieces if len(piece) >= 4):
                assert shown not in output, \
                    f"password part {shown!r} printed for dsn {dsn}:\n{result.describe()}"
            if "${PGPW}@" in dsn or "password=${PGPW}" in dsn and "://" in dsn:
                # Refused before connecting, with the remedy.
                assert result.code == 2 and "percent-encoded" in result.stderr, \
                    result.describe()


def test_secret_not_in_logs_of_a_run(tmp_path):
    consumer = {"type": "generate", "rows": 2000, "partitions": 2, "columns": [
        {"name": "id", "type": "int64", "sequence": True},
        {"name": "token", "type": "string", "values": ["${JF_E2E_SECRET}"]}]}
    path = write_pipeline(tmp_path, consumer)
    env = {"JF_E2E_SECRET": SECRET}
    outputs = []
    for args in (("validate",), ("plan",), ("schema",),
                 ("run", "--log-interval", "0.1")):
        result = run_jetflow("--log-level", "debug", args[0], path, *args[1:], env=env,
                             expect=0)
        outputs.append(result.stdout + result.stderr)
    outputs.append(run_jetflow("--log-level", "debug", "status", path, env=env,
                               expect=0).stdout)
    # The secret reached the data (so it was substituted) ...
    assert set(read_lake_arrow(tmp_path / "lake").column("token").to_pylist()) == {SECRET}
    # ... but no output line.
    for out in outputs:
        assert SECRET not in out, out


def test_schema_drift_between_input_files(tmp_path):
    """A later file whose columns differ from the first one's is an error naming the file
    and the column; its partition is not published and the run is not marked done."""
    cases = {
        "csv": ("a.csv", "id,name\n1,x\n", "b.csv", "id,nom\n2,y\n", "nom"),
        "parquet": ("a.parquet", pa.table({"id": pa.array([1], pa.int64()),
                                            "name": ["x"]}),
                    "b.parquet", pa.table({"id": pa.array([2], pa.int32()),
                                            "name": ["y"]}), "id"),
    }
    for fmt, (first, first_data, second, second_data, column) in cases.items():
        folder = tmp_path / fmt
        (folder / "in").mkdir(parents=True)
        for name, data in ((first, first_data), (second, second_data)):
            if isinstance(data, str):
                (folder / "in" / name).write_text(data)
            else:
                pq.write_table(data, folder / "in" / name)
        path = write_pipeline(folder, {"type": "file", "path": "in", "format": fmt})
        result = run_jetflow("run", path, "--no-progress")
        assert result.code in (1, 2), result.describe()
        assert second in result.stderr and f"{column}" in result.stderr, result.describe()
        lake = folder / "lake"
        assert not (lake / INSTANCE_DIR / SUCCESS).exists()
        for part in check_visible_partitions_complete(lake).values() if lake.exists() else []:
            assert second not in part.name, f"the partition of {second} was published"
