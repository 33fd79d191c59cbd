"""A corpus of malformed pipeline configs (tests/bad_configs/), each refused with the exit
code and message its header states.

One case per file. The file is copied into a fresh folder (with the input files it names)
and `jetflow <command> FILE` runs there with a short timeout; then:
- the exit code is exactly the expected one, and no crash or internal error shows;
- every `expect-message` is in stderr, and `expect-location` LINE:COL as `FILE:LINE:COL:`;
- a refused config wrote nothing: no lake, no state store, no `_SUCCESS`, no Parquet file,
  no new file or folder at all;
- no part of a `secret-env` value is printed (stdout or stderr): not the value, its URL
  spellings, nor any 6 characters in a row of them.

The header format is described in tests/bad_configs/README.md.
"""
from __future__ import annotations

import codecs
import os
import re
import sqlite3
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from conftest import run_jetflow, source_dir

CORPUS = source_dir() / "tests" / "bad_configs"
MIN_CASES = 100
# A refused config is refused at once; a hang is a failure. Sanitizer builds may raise it.
TIMEOUT = float(os.environ.get("JETFLOW_BAD_CONFIG_TIMEOUT", "20"))

HEADER_LINE = re.compile(r"^# ([a-z-]+): ?(.*)$")
KNOWN_KEYS = {"expect-exit", "expect-message", "expect-location", "command", "args", "env",
              "secret-env", "files", "expand", "strip-header", "about"}
COMMANDS = ("validate", "plan", "run")
CRASH_MARKERS = ("terminate called", "Segmentation", "AddressSanitizer", "LeakSanitizer",
                 "UndefinedBehaviorSanitizer", "runtime error:", "internal error",
                 "Assertion", "core dumped", "std::bad_alloc", "what():")
# Variables a case may set; removed from the environment of every other case so that a
# developer's shell cannot make a case pass or fail.
CASE_VARIABLES = ("ROWS", "PGPW", "CHPW", "JETFLOW_BADCFG_UNSET",
                  "JETFLOW_BADCFG_NO_PASSWORD", "JETFLOW_BADCFG_NO_SALT")


@dataclass
class Case:
    path: Path
    exit: int | None = None
    messages: list[str] = field(default_factory=list)
    location: tuple[int, int | None] | None = None  # (line, column or None)
    command: str = "validate"
    args: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    secrets: dict[str, str] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)
    expand: list[tuple[str, bytes]] = field(default_factory=list)
    strip_header: bool = False
    header_lines: int = 0
    problems: list[str] = field(default_factory=list)


def _expansion(spec: str) -> tuple[str, bytes]:
    """`TOKEN repeat TEXT COUNT` (TEXT may use \\x20-style escapes) or `TOKEN hex HEX`."""
    parts = spec.split(" ")
    if len(parts) >= 4 and parts[1] == "repeat" and parts[-1].isdigit():
        text = codecs.decode(" ".join(parts[2:-1]), "unicode_escape")
        return parts[0], text.encode("utf-8") * int(parts[-1])
    if len(parts) == 3 and parts[1] == "hex":
        return parts[0], bytes.fromhex(parts[2])
    raise ValueError(f"bad expand: {spec!r}")


def parse_case(path: Path) -> Case:
    case = Case(path)
    lines = path.read_bytes().split(b"\n")
    for raw in lines:
        match = HEADER_LINE.match(raw.decode("utf-8", errors="replace"))
        if not match:
            break
        case.header_lines += 1
        key, value = match.group(1), match.group(2).strip()
        try:
            if key not in KNOWN_KEYS:
                case.problems.append(f"unknown header key {key!r}")
            elif key == "expect-exit":
                case.exit = int(value)
            elif key == "expect-message":
                if not value:
                    case.problems.append("empty expect-message")
                case.messages.append(value)
            elif key == "expect-location":
                line, _, col = value.partition(":")
                case.location = (int(line), int(col) if col else None)
            elif key == "command":
                if value not in COMMANDS:
                    case.problems.append(f"command must be one of {COMMANDS}")
                case.command = value
            elif key == "args":
                case.args += value.split()
            elif key in ("env", "secret-env"):
                name, _, val = value.partition("=")
                (case.env if key == "env" else case.secrets)[name] = val
            elif key == "files":
                case.files += value.split()
            elif key == "expand":
                case.expand.append(_expansion(value))
            elif key == "strip-header":
                case.strip_header = value == "true"
        except ValueError as e:
            case.problems.append(f"{key}: {e}")
    if case.exit is None:
        case.problems.append("no '# expect-exit:' line")
    if not case.messages:
        case.problems.append("no '# expect-message:' line")
    unknown_files = set(case.files) - set(FIXTURES)
    if unknown_files:
        case.problems.append(f"unknown files {sorted(unknown_files)}")
    return case


def case_text(case: Case) -> bytes:
    """What jetflow reads: the file, its header dropped if `strip-header`, the tokens of the
    body replaced by their `expand` values."""
    lines = case.path.read_bytes().splitlines(keepends=True)
    header = b"" if case.strip_header else b"".join(lines[:case.header_lines])
    body = b"".join(lines[case.header_lines:])
    for token, value in case.expand:
        assert token.encode() in body, f"{case.path.name}: expand token {token} not in body"
        body = body.replace(token.encode(), value)
    return header + body


# ---------------------------------------------------------------------------------------
# Input files a case may name in `# files:`.

def _orders_csv(folder: Path) -> None:
    (folder / "orders.csv").write_text("id,amount,status\n1,10.5,paid\n2,3.25,new\n",
                                       encoding="utf-8")


def _orders_parquet(folder: Path) -> None:
    table = pa.table({"id": [1, 2], "amount": [10.5, 3.25], "status": ["paid", "new"]})
    pq.write_table(table, folder / "orders.parquet")


def _shop_db(folder: Path) -> None:
    con = sqlite3.connect(folder / "shop.db")
    try:
        con.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, amount REAL, status TEXT)")
        con.executemany("INSERT INTO orders VALUES (?, ?, ?)",
                        [(i, i * 1.5, "paid" if i % 2 else "new") for i in range(1, 21)])
        con.commit()
    finally:
        con.close()


FIXTURES = {"orders.csv": _orders_csv, "orders.parquet": _orders_parquet,
            "shop.db": _shop_db}


# ---------------------------------------------------------------------------------------
# Checks.

def snapshot(folder: Path) -> dict[str, tuple]:
    out = {}
    for p in folder.rglob("*"):
        stat = p.stat()
        out[str(p.relative_to(folder))] = (p.is_dir(), stat.st_size, stat.st_mtime_ns)
    return out


SECRET_WINDOW = 6


def secret_fragments(value: str) -> set[str]:
    """What must not be printed of a password: the value as is, URL-encoded or URL-decoded,
    and every run of SECRET_WINDOW characters of those (a library that splits the value at
    a space, a quote or a '%' prints a part of it). Secrets in the corpus are random-looking,
    so that no such run occurs elsewhere in a message."""
    spellings = {value, urllib.parse.quote(value, safe=""), urllib.parse.unquote(value)}
    fragments = set()
    for spelling in spellings:
        if len(spelling) <= SECRET_WINDOW:
            fragments.add(spelling)
        for i in range(len(spelling) - SECRET_WINDOW + 1):
            fragments.add(spelling[i:i + SECRET_WINDOW])
    return fragments


def corpus_files() -> list[Path]:
    return sorted(CORPUS.glob("*.yaml"))


@pytest.mark.parametrize("path", corpus_files(), ids=lambda p: p.name)
def test_bad_config_is_refused(path: Path, tmp_path: Path):
    case = parse_case(path)
    assert not case.problems, f"{path.name}: bad header: {case.problems}"
    for name in case.files:
        FIXTURES[name](tmp_path)
    pipeline = tmp_path / path.name
    pipeline.write_bytes(case_text(case))
    before = snapshot(tmp_path)

    env = {name: None for name in CASE_VARIABLES}
    env.update(case.env)
    env.update(case.secrets)
    args = [case.command, pipeline, *case.args]
    if case.command == "run":
        args.append("--no-progress")
    result = run_jetflow(*args, timeout=TIMEOUT, env=env, cwd=tmp_path)
    output = result.stdout + result.stderr
    shown = result.describe()

    assert result.code == case.exit, f"expected exit {case.exit}\n{shown}"
    crash = [m for m in CRASH_MARKERS if m in output]
    assert not crash, f"crash or internal error ({crash})\n{shown}"
    # Messages are looked for with the file's name taken out: a case named after its
    # message must not pass on the name alone.
    text = result.stderr.replace(str(pipeline), "FILE").replace(path.name, "FILE")
    for message in case.messages:
        assert message in text, f"expected {message!r} in stderr\n{shown}"
    if case.location:
        line, col = case.location
        where = re.escape(f"{path.name}:{line}:") + (str(col) if col else r"\d+") + ":"
        assert re.search(where, result.stderr), (
            f"expected the location {path.name}:{line}:{col or 'COL'}: in stderr\n{shown}")
    for name, value in case.secrets.items():
        printed = sorted(f for f in secret_fragments(value) if f in output)
        assert not printed, f"the secret in ${name} is printed ({printed})\n{shown}"

    if case.exit != 0:
        written = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*")
                         if p.name == "_SUCCESS" or
                         (p.suffix == ".parquet" and p.name not in case.files))
        assert not written, f"a refused config wrote {written}\n{shown}"
        after = snapshot(tmp_path)
        changed = sorted(name for name in after if before.get(name) != after[name]
                         and not (after[name][0] and name in before))
        assert not changed, f"a refused config created or changed {changed}\n{shown}"


def test_corpus_is_large_and_every_file_has_a_header():
    files = corpus_files()
    assert len(files) >= MIN_CASES, f"{len(files)} cases in {CORPUS}, expected {MIN_CASES}+"
    names = [p.name for p in files]
    assert all(re.fullmatch(r"\d{3}_[a-z0-9_]+\.yaml", n) for n in names), names
    numbers = [n[:3] for n in names]
    assert len(set(numbers)) == len(numbers), "two cases share a number"
    bad = {p.name: parse_case(p).problems for p in files}
    bad = {name: problems for name, problems in bad.items() if problems}
    assert not bad, f"cases with a bad header: {bad}"
    others = sorted(p.name for p in CORPUS.iterdir()
                    if p.suffix != ".yaml" and p.name != "README.md")
    assert not others, f"files in {CORPUS} that are not cases: {others}"


def test_header_parser_reads_every_key(tmp_path: Path):
    """The parser the corpus relies on: a case it misread would test nothing."""
    path = tmp_path / "999_example.yaml"
    path.write_text("# expect-exit: 2\n# expect-message: one\n# expect-message: two\n"
                    "# expect-location: 7:3\n# command: run\n# args: --instance x\n"
                    "# env: A=1=2\n# secret-env: PW=p@ss%\n# files: shop.db\n"
                    "# expand: @@X@@ repeat [\\x20 3\n# expand: @@Y@@ hex 00ff\n"
                    "# strip-header: true\n# about: anything\n"
                    "pipeline: @@X@@@@Y@@\n# a comment after the header\n",
                    encoding="utf-8")
    case = parse_case(path)
    assert not case.problems, case.problems
    assert (case.exit, case.messages, case.location) == (2, ["one", "two"], (7, 3))
    assert (case.command, case.args, case.env) == ("run", ["--instance", "x"], {"A": "1=2"})
    assert (case.secrets, case.files, case.header_lines) == ({"PW": "p@ss%"}, ["shop.db"], 13)
    assert case_text(case) == b"pipeline: [ [ [ \x00\xff\n# a comment after the header\n"
    assert parse_case(tmp_path / "999_example.yaml").strip_header
    path.write_text("# expect-exit: 3\n# expect-message: m\n# expect-location: 12\n"
                    "# expand: @@Z@@ repeat ab 2\nx: @@Z@@\n", encoding="utf-8")
    case = parse_case(path)
    assert (case.exit, case.location, case.strip_header) == (3, (12, None), False)
    assert case_text(case) == (b"# expect-exit: 3\n# expect-message: m\n# expect-location: 12\n"
                               b"# expand: @@Z@@ repeat ab 2\nx: abab\n")
    path.write_text("# expect-exit: 2\n# expect-mesage: x\n", encoding="utf-8")
    assert parse_case(path).problems == ["unknown header key 'expect-mesage'",
                                         "no '# expect-message:' line"]
