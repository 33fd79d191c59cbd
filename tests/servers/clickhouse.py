"""A throw-away ClickHouse server for tests and benchmarks.

Starts the Debian package's /usr/sbin/clickhouse-server (it runs as root) with a copy of
/etc/clickhouse-server/{config.xml,users.xml} rewritten to use a temporary folder for data
and logs and free loopback ports, waits until HTTP /ping answers, and stops it again.
Raises (never skips) if the server does not come up, with the end of its log.

    with ClickHouseServer() as ch:
        ch.query("CREATE TABLE t (x UInt64) ENGINE = MergeTree ORDER BY x")
        ch.url  # http://127.0.0.1:PORT

Besides `default` (no password) the server has a user `jetflow` with password
`jetflow-secret` (PASSWORD), for authentication tests.
"""
from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

SERVER_BIN = "/usr/sbin/clickhouse-server"
CONFIG_DIR = Path("/etc/clickhouse-server")
USER = "jetflow"
PASSWORD = "jetflow-secret"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ClickHouseError(RuntimeError):
    pass


class ClickHouseServer:
    def __init__(self, folder: str | Path | None = None, start_timeout: float = 60.0):
        self._own_folder = folder is None
        self.folder = Path(folder or tempfile.mkdtemp(prefix="jetflow-ch-"))
        self.start_timeout = start_timeout
        self.http_port = 0
        self.tcp_port = 0
        self.proc: subprocess.Popen | None = None
        self._config = self.folder / "config.xml"

    # -- lifecycle -----------------------------------------------------------------------

    def _write_config(self) -> None:
        if not os.path.exists(SERVER_BIN):
            raise ClickHouseError(f"{SERVER_BIN} not found: install the Debian package "
                                  "clickhouse-server (scripts/install_deps.sh)")
        data = self.folder / "data"
        logs = self.folder / "log"
        for d in (data, logs, data / "tmp", data / "user_files", data / "format_schemas"):
            d.mkdir(parents=True, exist_ok=True)
        if not self.http_port:
            self.http_port, self.tcp_port, inter = free_port(), free_port(), free_port()
        else:
            inter = free_port()
        text = (CONFIG_DIR / "config.xml").read_text()
        text = text.replace("/var/lib/clickhouse/", f"{data}/")
        text = text.replace("/var/log/clickhouse-server/", f"{logs}/")
        text = re.sub(r"<http_port>\d+</http_port>", f"<http_port>{self.http_port}</http_port>", text)
        text = re.sub(r"<tcp_port>\d+</tcp_port>", f"<tcp_port>{self.tcp_port}</tcp_port>", text)
        text = re.sub(r"<interserver_http_port>\d+</interserver_http_port>",
                      f"<interserver_http_port>{inter}</interserver_http_port>", text)
        text = re.sub(r"<level>\w+</level>", "<level>warning</level>", text, count=1)
        # Loopback IPv4 only, whatever the packaged default says.
        text = text.replace("<yandex>", "<yandex>\n    <listen_host>127.0.0.1</listen_host>", 1)
        self._config.write_text(text)
        users = (CONFIG_DIR / "users.xml").read_text()
        extra = (f"<{USER}><password>{PASSWORD}</password><networks><ip>::/0</ip></networks>"
                 f"<profile>default</profile><quota>default</quota></{USER}>")
        users = users.replace("</users>", extra + "</users>", 1)
        (self.folder / "users.xml").write_text(users)

    def start(self) -> "ClickHouseServer":
        self._write_config()
        log = open(self.folder / "stdout.log", "ab")
        self.proc = subprocess.Popen([SERVER_BIN, f"--config-file={self._config}"],
                                     cwd=self.folder, stdin=subprocess.DEVNULL, stdout=log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise ClickHouseError(f"clickhouse-server exited with {self.proc.returncode}:\n"
                                      + self.log_tail())
            try:
                with urllib.request.urlopen(f"{self.url}/ping", timeout=1) as r:
                    if r.read().strip() == b"Ok.":
                        return self
            except (OSError, urllib.error.URLError):
                pass
            time.sleep(0.1)
        self.kill()
        raise ClickHouseError(f"clickhouse-server did not answer /ping within "
                              f"{self.start_timeout}s:\n" + self.log_tail())

    def kill(self) -> None:
        """SIGKILL, as a crash would (the data folder stays: start() again restarts it)."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)
        self.proc = None

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=30)
        self.proc = None

    def close(self) -> None:
        self.stop()
        if self._own_folder:
            shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> "ClickHouseServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()

    def log_tail(self, chars: int = 4000) -> str:
        out = []
        for name in ("stdout.log", "log/clickhouse-server.err.log"):
            p = self.folder / name
            if p.exists():
                out.append(f"--- {name}\n" + p.read_text(errors="replace")[-chars:])
        return "\n".join(out)

    # -- queries -------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def query(self, sql: str, settings: dict | None = None, timeout: float = 600,
              data: bytes | None = None) -> str:
        """Runs `sql` over HTTP; returns the body as text. Raises ClickHouseError with the
        server's message on failure."""
        return self.query_bytes(sql, settings, timeout, data).decode("utf-8")

    def query_bytes(self, sql: str, settings: dict | None = None, timeout: float = 600,
                    data: bytes | None = None) -> bytes:
        params = dict(settings or {})
        if data is None:
            body = sql.encode("utf-8")
        else:
            params["query"] = sql
            body = data
        url = self.url + "/?" + urllib.parse.urlencode(params)
        request = urllib.request.Request(url, data=body, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=timeout) as r:
                return r.read()
        except urllib.error.HTTPError as e:
            raise ClickHouseError(f"{e.code}: {e.read().decode(errors='replace')}\nquery: {sql[:300]}")
