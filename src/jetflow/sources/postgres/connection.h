// PgConnection: one libpq connection, and the one place libpq errors become Status.
//
// Every connection jetflow opens to PostgreSQL goes through Connect(): it adds the
// connect timeout and TCP keepalives, then sets the session to what the COPY decoder and
// the partition planner expect (client_encoding UTF8 — SQL_ASCII for a SQL_ASCII
// database, whose bytes are not UTF-8 and must reach the decoder unconverted —,
// DateStyle ISO, TimeZone UTC, extra_float_digits 3, the optional statement_timeout).
// Passwords never appear in a message: errors name the DSN through RedactDsn().
//
// Threading: a PgConnection is used by one thread at a time.
#pragma once

#include <arrow/result.h>
#include <arrow/status.h>
#include <libpq-fe.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace jetflow::postgres {

/// How to reach the server. `dsn` is a libpq URI or key=value string; `params` are extra
/// libpq keywords (sslmode, sslrootcert, application_name, ...) that override it.
struct ConnectionOptions {
  std::string dsn;
  std::vector<std::pair<std::string, std::string>> params;
  /// Read from the environment variable named by `password_env`; never logged.
  std::optional<std::string> password;
  std::chrono::seconds connect_timeout{10};
  /// 0 = no limit.
  std::chrono::milliseconds statement_timeout{0};
};

/// Maps a libpq failure to a Status. Connection failures, a backend that went away, and
/// timeouts/cancels (SQLSTATE classes 08, 57, 53, 40, and statement timeouts) are
/// retryable IOErrors; SQL errors (unknown table/column, syntax, permissions) are
/// permanent Invalid; anything else is a permanent IOError. `result` may be nullptr.
/// The message is "<what>: <server message>".
arrow::Status PgStatus(PGconn* conn, const PGresult* result, const std::string& what);

/// `dsn` with any password (URI user:password@ or key=value password=) replaced by
/// "***", for messages and logs.
std::string RedactDsn(const std::string& dsn);

/// Why libpq cannot use `dsn` as meant: it does not parse (e.g. a key=value password
/// with a space, unquoted), or a URI's password holds '@', '/', '?', '#', '[', ']' or a
/// '%' that starts no escape (libpq splits the URI at the first '@' and echoes the
/// pieces, password included, in its errors). nullopt if it is fine. The message never
/// shows the password: libpq's own text only when the DSN holds none.
std::optional<std::string> DsnProblem(const std::string& dsn);

/// The secrets a message about a connection to `dsn` must not show: `password` (from
/// `password_env`) and every password written in the DSN, as written and unquoted.
std::vector<std::string> DsnSecrets(const std::string& dsn,
                                    const std::optional<std::string>& password);

struct ResultDeleter {
  void operator()(PGresult* result) const { PQclear(result); }
};
using PgResult = std::unique_ptr<PGresult, ResultDeleter>;

class PgConnection {
 public:
  /// Connects and prepares the session. IOError (retryable when a retry may help) naming
  /// the redacted DSN otherwise.
  static arrow::Result<std::unique_ptr<PgConnection>> Connect(
      const ConnectionOptions& options);
  ~PgConnection();
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;

  PGconn* get() const { return conn_; }
  /// The server's pid for this session (pg_stat_activity.pid).
  int backend_pid() const { return PQbackendPID(conn_); }

  /// Runs a command that returns no rows (or whose rows are ignored).
  arrow::Status Exec(const std::string& sql, const std::string& what);
  /// Runs a query; its rows as text (nullopt for NULL).
  using Row = std::vector<std::optional<std::string>>;
  arrow::Result<std::vector<Row>> Query(const std::string& sql, const std::string& what);
  /// Runs a parameterized query (text parameters).
  arrow::Result<std::vector<Row>> Query(const std::string& sql,
                                        const std::vector<std::string>& params,
                                        const std::string& what);

 private:
  explicit PgConnection(PGconn* conn) : conn_(conn) {}
  PGconn* conn_;
};

// Checks of an answer's shape and text: a server (or a proxy in front of it) that answers
// something else than the query asks for is a SerializationError naming `what`, never an
// exception or a silently wrong plan.

/// SerializationError unless every row of `rows` has `columns` values.
arrow::Status ExpectColumns(const std::vector<PgConnection::Row>& rows, size_t columns,
                            const std::string& what);
/// The value of an answer of exactly one row of one column (nullopt: NULL).
arrow::Result<std::optional<std::string>> SingleValue(
    const std::vector<PgConnection::Row>& rows, const std::string& what);
/// `text` as a 64-bit integer in the server's decimal notation; SerializationError naming
/// `what` if it is NULL or anything else.
arrow::Result<int64_t> ServerInt(const std::optional<std::string>& text,
                                 const std::string& what);

/// `name` as a quoted SQL identifier ("my ""odd"" name").
std::string QuoteIdentifier(const std::string& name);
/// `value` as a quoted SQL string literal ('it''s').
std::string QuoteLiteral(const std::string& value);

}  // namespace jetflow::postgres
