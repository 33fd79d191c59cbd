"""A current ClickHouse server's HTTP interface, answered by chdb (an embedded ClickHouse).

The packaged ClickHouse server is 18.16, which lacks DateTime64, Date32, Bool, Map, IPv4/6,
Int128/256, Variant, JSON, ... chdb (PyPI, pinned in scripts/requirements-test.txt) runs a
current engine in-process. ChdbClickHouseServer puts it behind an HTTP server on a free
loopback port that speaks what the jetflow `clickhouse` consumer uses of ClickHouse's HTTP
interface:

- `POST /?database=…&<setting>=<value>…` with the SQL as the body (or `?query=`), HTTP
  basic authentication (any user is accepted);
- the answer in the query's `FORMAT` (TabSeparated when it names none), streamed with
  chunked transfer encoding, as a real server sends it;
- an error as ClickHouse reports one: HTTP 500 with `Code: N. DB::Exception: …` as the
  body and the `X-ClickHouse-Exception-Code` header;
- `GET /ping` answers `Ok.`.

URL parameters other than `database`, `query`, `user`, `password` and
`enable_http_compression` are ClickHouse settings and are applied to the query (as a
SETTINGS clause). All queries run in one chdb session, one at a time; every SQL text
received is kept in `queries` so tests can check what the consumer asked.
"""
from __future__ import annotations

import re
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

NOT_SETTINGS = {"database", "query", "user", "password", "enable_http_compression"}
FORMAT_AT_END = re.compile(r"\sFORMAT\s+([A-Za-z0-9_]+)\s*;?\s*$", re.IGNORECASE)
ERROR_CODE = re.compile(r"Code: (\d+)")
CHUNK = 64 * 1024


class ChdbServerError(RuntimeError):
    pass


def split_format(sql: str) -> tuple[str, str]:
    """(the SQL without its trailing FORMAT clause, the format; TabSeparated if none)."""
    match = FORMAT_AT_END.search(sql)
    if not match:
        return sql.rstrip().rstrip(";"), "TabSeparated"
    return sql[:match.start()], match.group(1)


def setting_literal(value: str) -> str:
    if re.fullmatch(r"-?\d+(\.\d+)?", value):
        return value
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


class ChdbClickHouseServer:
    def __init__(self, folder: Path):
        import chdb.session  # the test fails (not skips) if chdb is missing
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.session = chdb.session.Session(str(self.folder / "chdb"))
        self.lock = threading.Lock()
        self.queries: list[str] = []
        self.httpd: ThreadingHTTPServer | None = None
        self.thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        assert self.httpd is not None, "the server is not started"
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def query(self, sql: str, fmt: str = "TabSeparated", settings: dict | None = None,
              database: str | None = None) -> bytes:
        """Runs `sql` in the server's chdb session; raises chdb's error."""
        if settings:
            sql = sql + "\nSETTINGS " + ", ".join(
                f"{k} = {setting_literal(str(v))}" for k, v in settings.items())
        with self.lock:
            if database:
                self.session.query(f"USE `{database}`")
            try:
                return self.session.query(sql, fmt).bytes()
            finally:
                if database:
                    self.session.query("USE default")

    def text(self, sql: str, fmt: str = "TabSeparated", **kwargs) -> str:
        return self.query(sql, fmt, **kwargs).decode("utf-8")

    def start(self, timeout: float = 10.0) -> None:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # keep pytest's output clean
                pass

            def do_GET(self):
                if urlsplit(self.path).path == "/ping":
                    self.reply(200, b"Ok.\n")
                    return
                self.answer(dict(parse_qsl(urlsplit(self.path).query)), "")

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode("utf-8")
                self.answer(dict(parse_qsl(urlsplit(self.path).query)), body)

            def answer(self, params: dict, body: str):
                sql = (params.get("query", "") + "\n" + body).strip()
                server.queries.append(sql)
                settings = {k: v for k, v in params.items() if k not in NOT_SETTINGS}
                statement, fmt = split_format(sql)
                try:
                    data = server.query(statement, fmt, settings,
                                        params.get("database") or None)
                except Exception as e:  # chdb's error: report it as ClickHouse does
                    message = str(e).strip()
                    code = ERROR_CODE.search(message)
                    if not code:
                        message = "Code: 1000. DB::Exception: " + message
                    self.reply(500, (message + "\n").encode(),
                               {"X-ClickHouse-Exception-Code":
                                code.group(1) if code else "1000"})
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream"
                                 if fmt == "Native" else "text/plain; charset=UTF-8")
                self.send_header("Transfer-Encoding", "chunked")
                self.send_header("X-ClickHouse-Format", fmt)
                self.end_headers()
                for at in range(0, len(data), CHUNK):
                    piece = data[at:at + CHUNK]
                    self.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
                self.wfile.write(b"0\r\n\r\n")

            def reply(self, status: int, body: bytes, headers: dict | None = None):
                self.send_response(status)
                self.send_header("Content-Type", "text/plain; charset=UTF-8")
                self.send_header("Content-Length", str(len(body)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + timeout
        last_error = None
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(self.url + "/ping", timeout=2) as response:
                    if response.read() == b"Ok.\n":
                        return
            except OSError as e:
                last_error = e
            time.sleep(0.1)
        raise ChdbServerError(f"the chdb HTTP server at {self.url} does not answer /ping: "
                              f"{last_error}")

    def close(self) -> None:
        if self.httpd is not None:
            self.httpd.shutdown()
            self.httpd.server_close()
            self.httpd = None
        with self.lock:
            self.session.close()
