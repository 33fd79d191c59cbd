"""A throw-away PostgreSQL 15 server for tests and benchmarks.

    with PostgresServer() as pg:          # initdb + start on a free loopback port
        pg.execute("CREATE TABLE t (id int)")
        pipeline_dsn = pg.dsn             # postgresql://postgres@127.0.0.1:PORT/postgres

The cluster lives in a new temporary folder owned by the `postgres` system user (initdb
and postgres refuse to run as root; when the caller is not root they run as the caller),
with the socket in that folder, `-A trust` (or scram-sha-256 over TCP when a `password` is
given), fsync off. `stop()` (or leaving the `with` block) stops it and deletes the folder.
A server that does not start raises ServerError with its log: tests that need it fail.
"""
from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

PG_BIN = Path(os.environ.get("JETFLOW_PG_BIN", "/usr/lib/postgresql/15/bin"))


class ServerError(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PostgresServer:
    def __init__(self, password: str | None = None, settings: dict | None = None,
                 start_timeout: float = 60.0):
        self.password = password
        self.settings = dict(settings or {})
        self.start_timeout = start_timeout
        self.port: int | None = None
        self.folder: Path | None = None
        self._as_postgres = os.geteuid() == 0

    # -- lifecycle ----------------------------------------------------------------------

    def _run(self, args: list, check: bool = True, **kwargs) -> subprocess.CompletedProcess:
        argv = [str(a) for a in args]
        if self._as_postgres:
            argv = ["runuser", "-u", "postgres", "--"] + argv
        result = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True, **kwargs)
        if check and result.returncode != 0:
            raise ServerError(f"{' '.join(argv)} failed ({result.returncode}):\n{result.stdout}")
        return result

    def start(self) -> "PostgresServer":
        if not (PG_BIN / "initdb").exists():
            raise ServerError(f"PostgreSQL binaries not found in {PG_BIN} "
                              "(install postgresql-15: scripts/install_deps.sh)")
        self.folder = Path(tempfile.mkdtemp(prefix="jetflow-pg-"))
        try:
            if self._as_postgres:
                user = pwd.getpwnam("postgres")
                os.chown(self.folder, user.pw_uid, user.pw_gid)
            data = self.folder / "data"
            init = [PG_BIN / "initdb", "-D", data, "-U", "postgres", "-E", "UTF8",
                    "--locale=C.UTF-8", "--no-sync", "--auth-local=trust"]
            init.append("--auth-host=" + ("scram-sha-256" if self.password else "trust"))
            self._run(init)
            self.port = free_port()
            settings = {"listen_addresses": "127.0.0.1", "port": self.port,
                        "unix_socket_directories": str(self.folder), "fsync": "off",
                        "synchronous_commit": "off", "full_page_writes": "off",
                        "max_connections": 50, "shared_buffers": "128MB",
                        "log_min_messages": "warning"}
            settings.update(self.settings)
            with open(data / "postgresql.auto.conf", "a", encoding="utf-8") as conf:
                for key, value in settings.items():
                    conf.write(f"{key} = '{value}'\n")
            self._run([PG_BIN / "pg_ctl", "-D", data, "-l", self.folder / "server.log",
                       "-w", "-t", str(int(self.start_timeout)), "start"], check=False)
            self._wait_ready()
            if self.password:
                self.execute(f"ALTER USER postgres PASSWORD '{self.password}'")
        except BaseException:
            log = self.log()
            self.stop()
            raise ServerError(f"PostgreSQL did not start:\n{log}") from None
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            probe = self._run([PG_BIN / "pg_isready", "-h", self.folder, "-p", self.port,
                               "-U", "postgres"], check=False)
            if probe.returncode == 0:
                return
            time.sleep(0.2)
        raise ServerError("PostgreSQL did not become ready")

    def log(self) -> str:
        if self.folder is None:
            return ""
        path = self.folder / "server.log"
        try:
            return path.read_text(errors="replace")[-5000:]
        except OSError:
            return ""

    def stop(self) -> None:
        if self.folder is None:
            return
        data = self.folder / "data"
        if (data / "postmaster.pid").exists():
            self._run([PG_BIN / "pg_ctl", "-D", data, "-m", "immediate", "-w", "stop"],
                      check=False)
        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder = None

    def kill(self) -> None:
        """Stops the server abruptly but keeps its data (start_again() restarts it)."""
        data = self.folder / "data"
        self._run([PG_BIN / "pg_ctl", "-D", data, "-m", "immediate", "-w", "stop"],
                  check=False)

    def start_again(self) -> None:
        data = self.folder / "data"
        self._run([PG_BIN / "pg_ctl", "-D", data, "-l", self.folder / "server.log", "-w",
                   "start"])
        self._wait_ready()

    def __enter__(self) -> "PostgresServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- access -------------------------------------------------------------------------

    @property
    def dsn(self) -> str:
        """A libpq URI over TCP (no password in it)."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    @property
    def socket_dsn(self) -> str:
        """Over the Unix socket (always trusted)."""
        return f"host={self.folder} port={self.port} user=postgres dbname=postgres"

    def connect(self, autocommit: bool = True):
        import psycopg  # pinned in scripts/requirements-test.txt
        return psycopg.connect(self.socket_dsn, autocommit=autocommit)

    def execute(self, sql: str, params=None) -> None:
        with self.connect() as con:
            con.execute(sql, params)

    def query(self, sql: str, params=None) -> list[tuple]:
        with self.connect() as con:
            return con.execute(sql, params).fetchall()

    def psql(self, *args: str, input: str | None = None) -> str:
        """Runs psql over the socket; returns its stdout."""
        argv = ["psql", "-X", "-v", "ON_ERROR_STOP=1", "-h", str(self.folder), "-p",
                str(self.port), "-U", "postgres", "-d", "postgres", *args]
        result = subprocess.run(argv, input=input, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        if result.returncode != 0:
            raise ServerError(f"psql failed: {result.stderr}")
        return result.stdout


if __name__ == "__main__":  # manual check: start, print the DSN, wait for Ctrl-C
    with PostgresServer() as server:
        print(server.dsn, flush=True)
        try:
            while True:
                time.sleep(1)
        except KeyboardInterrupt:
            pass
