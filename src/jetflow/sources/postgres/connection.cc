#include "jetflow/sources/postgres/connection.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstring>
#include <iterator>
#include <regex>
#include <string_view>
#include <system_error>

#include "jetflow/core/error.h"
#include "jetflow/core/secret_redaction.h"

namespace jetflow::postgres {

namespace {

// libpq messages end with a newline; their "ERROR:  " / "FATAL:  " prefix is kept.
std::string Trim(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

bool IsRetryableSqlState(const char* state) {
  if (state == nullptr || std::strlen(state) != 5) return false;
  const std::string cls(state, 2);
  // 08 connection exception, 40 transaction rollback (serialization, deadlock),
  // 53 insufficient resources, 57 operator intervention (admin shutdown, terminated
  // backend, query_canceled = statement timeout), 58 system error (I/O).
  return cls == "08" || cls == "40" || cls == "53" || cls == "57" || cls == "58";
}

bool IsUserErrorSqlState(const char* state) {
  if (state == nullptr || std::strlen(state) != 5) return false;
  const std::string cls(state, 2);
  // 42 syntax error or access rule violation (undefined table/column, permission),
  // 22 data exception, 0A feature not supported, 28 invalid authorization,
  // 3D invalid catalog (database) name, 3F invalid schema name, 25 invalid transaction
  // state (e.g. SET TRANSACTION SNAPSHOT rules), 2B/2F/0L/0P.
  return cls == "42" || cls == "22" || cls == "0A" || cls == "28" || cls == "3D" ||
         cls == "3F" || cls == "0L" || cls == "0P";
}

// What libpq says when the server is down, starting, stopping, full or out of reach.
bool IsTransientConnectFailure(std::string_view message) {
  static constexpr std::string_view kTransient[] = {
      "Connection refused",
      "timeout expired",
      "Connection timed out",
      "No route to host",
      "Network is unreachable",
      "Temporary failure in name resolution",
      "server closed the connection unexpectedly",
      "the database system is starting up",
      "the database system is shutting down",
      "the database system is in recovery mode",
      "the database system is not yet accepting connections",
      "too many connections",
      "remaining connection slots are reserved",
      "Connection reset by peer",
      "could not receive data from server",
      "could not send data to server",
  };
  return std::any_of(std::begin(kTransient), std::end(kTransient),
                     [&](std::string_view cause) {
                       return message.find(cause) != std::string_view::npos;
                     });
}

}  // namespace

arrow::Status PgStatus(PGconn* conn, const PGresult* result, const std::string& what) {
  std::string message;
  const char* state = nullptr;
  if (result != nullptr) {
    message = PQresultErrorMessage(result);
    state = PQresultErrorField(result, PG_DIAG_SQLSTATE);
  }
  if (message.empty() && conn != nullptr) message = PQerrorMessage(conn);
  if (message.empty()) message = "unknown libpq error";
  const std::string text = what + ": " + Trim(message);
  const bool connection_lost = conn == nullptr || PQstatus(conn) == CONNECTION_BAD;
  if (IsRetryableSqlState(state) || (state == nullptr && connection_lost)) {
    return MarkRetryable(arrow::Status::IOError(text));
  }
  if (IsUserErrorSqlState(state)) return arrow::Status::Invalid(text);
  if (connection_lost) return MarkRetryable(arrow::Status::IOError(text));
  return arrow::Status::IOError(text);
}

namespace {

// key=value: password=secret or password='se cret' (backslash escapes inside quotes).
const std::regex& KeyValuePassword() {
  static const std::regex kKeyValue(R"((password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+))",
                                    std::regex::icase);
  return kKeyValue;
}

// URI query parameter: ?password=secret
const std::regex& QueryPassword() {
  static const std::regex kQuery(R"(([?&]password=)([^&]*))", std::regex::icase);
  return kQuery;
}

// libpq's rule: a connection string is a URI if it starts with one of its designators.
bool IsUri(const std::string& dsn) {
  return dsn.rfind("postgresql://", 0) == 0 || dsn.rfind("postgres://", 0) == 0;
}

}  // namespace

std::string RedactDsn(const std::string& dsn) {
  if (IsUri(dsn)) {
    return std::regex_replace(RedactUriUserInfo(dsn), QueryPassword(), "$1***");
  }
  return std::regex_replace(dsn, KeyValuePassword(), "$1***");
}

std::optional<std::string> DsnProblem(const std::string& dsn) {
  // A URI's password first: libpq may parse it, but wrongly.
  if (IsUri(dsn)) {
    bool misread = false;
    if (const auto span = UriPasswordSpan(dsn)) {
      const std::string_view password =
          std::string_view(dsn).substr(span->offset, span->length);
      misread = password.find_first_of("@/?#[]") != std::string_view::npos ||
                !PercentDecode(password);
    }
    for (std::sregex_iterator it(dsn.begin(), dsn.end(), QueryPassword()), end;
         it != end && !misread; ++it) {
      misread = !PercentDecode((*it)[2].str());
    }
    if (misread) {
      return "the password in the dsn URI holds characters that must be percent-encoded "
             "('@' as %40, '%' as %25, '/' as %2F, '?' as %3F, '#' as %23, '[' as %5B, "
             "']' as "
             "%5D, '&' as %26), or leave it out of the URI and set password_env";
    }
  }
  // libpq's own parser, as Connect() would use it; its message may quote any part of
  // the DSN, so it is shown only when the DSN holds no password.
  char* parse_error = nullptr;
  PQconninfoOption* parsed = PQconninfoParse(dsn.c_str(), &parse_error);
  if (parsed == nullptr) {
    std::string message = parse_error != nullptr ? parse_error : "out of memory";
    if (parse_error != nullptr) PQfreemem(parse_error);
    while (!message.empty() && std::isspace(static_cast<unsigned char>(message.back()))) {
      message.pop_back();
    }
    std::string lowered = dsn;
    std::transform(lowered.begin(), lowered.end(), lowered.begin(),
                   [](unsigned char c) { return std::tolower(c); });
    const bool may_hold_password = lowered.find("password") != std::string::npos ||
                                   (IsUri(dsn) && UriPasswordSpan(dsn).has_value());
    if (!may_hold_password)
      return "the dsn is not a valid libpq connection string: " + message;
    return "the dsn is not a valid libpq connection string (libpq's message is not "
           "shown: "
           "it may quote the password). In key=value form, single-quote a value holding "
           "spaces, quotes or backslashes, with \\' and \\\\ inside ('...'); in a URI, "
           "percent-encode it; or set password_env";
  }
  PQconninfoFree(parsed);
  return std::nullopt;
}

std::vector<std::string> DsnSecrets(const std::string& dsn,
                                    const std::optional<std::string>& password) {
  std::vector<std::string> secrets;
  if (password) secrets.push_back(*password);
  if (IsUri(dsn)) {
    if (auto span = UriPasswordSpan(dsn)) {
      secrets.push_back(dsn.substr(span->offset, span->length));
    }
    for (std::sregex_iterator it(dsn.begin(), dsn.end(), QueryPassword()), end; it != end;
         ++it) {
      secrets.push_back((*it)[2].str());
    }
    return secrets;
  }
  for (std::sregex_iterator it(dsn.begin(), dsn.end(), KeyValuePassword()), end;
       it != end; ++it) {
    std::string value = (*it)[2].str();
    if (value.size() >= 2 && value.front() == '\'' && value.back() == '\'') {
      std::string unquoted;
      for (size_t i = 1; i + 1 < value.size(); ++i) {
        if (value[i] == '\\' && i + 2 < value.size()) ++i;
        unquoted.push_back(value[i]);
      }
      secrets.push_back(value);
      value = unquoted;
    }
    secrets.push_back(value);
  }
  return secrets;
}

std::string QuoteIdentifier(const std::string& name) {
  std::string out = "\"";
  for (char c : name) {
    out.push_back(c);
    if (c == '"') out.push_back('"');
  }
  return out + "\"";
}

std::string QuoteLiteral(const std::string& value) {
  std::string out = "'";
  for (char c : value) {
    out.push_back(c);
    if (c == '\'') out.push_back('\'');
  }
  return out + "'";
}

arrow::Result<std::unique_ptr<PgConnection>> PgConnection::Connect(
    const ConnectionOptions& options) {
  std::vector<std::string> keys = {"dbname"};
  std::vector<std::string> values = {options.dsn};
  for (const auto& [key, value] : options.params) {
    keys.push_back(key);
    values.push_back(value);
  }
  auto set = [&](const std::string& key, const std::string& value) {
    keys.push_back(key);
    values.push_back(value);
  };
  set("connect_timeout",
      std::to_string(std::max<int64_t>(1, options.connect_timeout.count())));
  // Detect a dead server or a broken network during a long COPY within ~1 minute.
  set("keepalives", "1");
  set("keepalives_idle", "30");
  set("keepalives_interval", "10");
  set("keepalives_count", "3");
  set("client_encoding", "UTF8");
  if (options.password) set("password", *options.password);
  if (!std::any_of(options.params.begin(), options.params.end(),
                   [](const auto& p) { return p.first == "application_name"; })) {
    set("fallback_application_name", "jetflow");
  }
  std::vector<const char*> key_ptrs;
  std::vector<const char*> value_ptrs;
  for (size_t i = 0; i < keys.size(); ++i) {
    key_ptrs.push_back(keys[i].c_str());
    value_ptrs.push_back(values[i].c_str());
  }
  key_ptrs.push_back(nullptr);
  value_ptrs.push_back(nullptr);
  if (auto problem = DsnProblem(options.dsn)) {
    return arrow::Status::Invalid("cannot connect to PostgreSQL (dsn ",
                                  RedactDsn(options.dsn), "): ", *problem);
  }
  PGconn* raw =
      PQconnectdbParams(key_ptrs.data(), value_ptrs.data(), /*expand_dbname=*/1);
  if (raw == nullptr) {
    return arrow::Status::OutOfMemory("libpq could not allocate a connection");
  }
  std::unique_ptr<PgConnection> conn(new PgConnection(raw));
  if (PQstatus(raw) != CONNECTION_OK) {
    const std::string what =
        "cannot connect to PostgreSQL (dsn " + RedactDsn(options.dsn) + ")";
    if (PQconnectionNeedsPassword(raw) && !options.password) {
      return arrow::Status::Invalid(
          what,
          ": the server asks for a password and none was given (set `password_env` "
          "to the name of an environment variable holding it)");
    }
    // libpq quotes parts of the DSN it cannot parse ("invalid percent-encoded token"),
    // passwords included.
    arrow::Status failed = PgStatus(raw, nullptr, what);
    failed = failed.WithMessage(
        RedactSecrets(failed.message(), DsnSecrets(options.dsn, options.password)));
    // libpq gives no code for a failed connection: only the causes that pass by
    // themselves are worth retrying (and a scheduler's retry, at plan time); a wrong
    // password, an unknown database or host name, a bad option are not.
    if (IsRetryable(failed) && !IsTransientConnectFailure(PQerrorMessage(raw))) {
      return arrow::Status::Invalid(failed.message());
    }
    return failed;
  }
  std::string session =
      "SET DateStyle = ISO; SET TimeZone = 'UTC'; SET extra_float_digits = 3; "
      "SET IntervalStyle = iso_8601";
  session +=
      "; SET statement_timeout = " + std::to_string(options.statement_timeout.count());
  // A SQL_ASCII database holds whatever bytes were written; converting them to UTF8 the
  // server would refuse the first that are not ("invalid byte sequence", naming no
  // column). Unconverted, they reach the decoder, whose `invalid_utf8` policy applies.
  const char* server_encoding = PQparameterStatus(raw, "server_encoding");
  if (server_encoding != nullptr && std::string_view(server_encoding) == "SQL_ASCII") {
    session += "; SET client_encoding = SQL_ASCII";
  }
  ARROW_RETURN_NOT_OK(conn->Exec(session, "cannot prepare the PostgreSQL session"));
  return conn;
}

PgConnection::~PgConnection() {
  if (conn_ != nullptr) PQfinish(conn_);
}

arrow::Status PgConnection::Exec(const std::string& sql, const std::string& what) {
  PgResult result(PQexec(conn_, sql.c_str()));
  const ExecStatusType status = result ? PQresultStatus(result.get()) : PGRES_FATAL_ERROR;
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    return PgStatus(conn_, result.get(), what);
  }
  return arrow::Status::OK();
}

namespace {

std::vector<PgConnection::Row> RowsOf(const PGresult* result) {
  std::vector<PgConnection::Row> rows;
  const int n = PQntuples(result);
  const int m = PQnfields(result);
  rows.reserve(n);
  for (int i = 0; i < n; ++i) {
    PgConnection::Row row(m);
    for (int j = 0; j < m; ++j) {
      if (!PQgetisnull(result, i, j)) {
        row[j] = std::string(PQgetvalue(result, i, j),
                             static_cast<size_t>(PQgetlength(result, i, j)));
      }
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

}  // namespace

arrow::Result<std::vector<PgConnection::Row>> PgConnection::Query(
    const std::string& sql, const std::string& what) {
  return Query(sql, {}, what);
}

arrow::Result<std::vector<PgConnection::Row>> PgConnection::Query(
    const std::string& sql, const std::vector<std::string>& params,
    const std::string& what) {
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const auto& p : params) values.push_back(p.c_str());
  PgResult result(PQexecParams(conn_, sql.c_str(), static_cast<int>(values.size()),
                               nullptr, values.data(), nullptr, nullptr, 0));
  if (!result || PQresultStatus(result.get()) != PGRES_TUPLES_OK) {
    return PgStatus(conn_, result.get(), what);
  }
  return RowsOf(result.get());
}

arrow::Status ExpectColumns(const std::vector<PgConnection::Row>& rows, size_t columns,
                            const std::string& what) {
  for (const auto& row : rows) {
    if (row.size() != columns) {
      return arrow::Status::SerializationError(
          "unexpected answer of the server: ", row.size(), " columns, expected ", columns,
          " (", what, ")");
    }
  }
  return arrow::Status::OK();
}

arrow::Result<std::optional<std::string>> SingleValue(
    const std::vector<PgConnection::Row>& rows, const std::string& what) {
  if (rows.size() != 1 || rows[0].size() != 1) {
    return arrow::Status::SerializationError(
        "unexpected answer of the server: ", rows.size(), " rows of ",
        rows.empty() ? 0 : rows[0].size(), " columns, expected one value (", what, ")");
  }
  return rows[0][0];
}

arrow::Result<int64_t> ServerInt(const std::optional<std::string>& text,
                                 const std::string& what) {
  int64_t value = 0;
  if (text) {
    const char* end = text->data() + text->size();
    auto [ptr, ec] = std::from_chars(text->data(), end, value);
    if (!text->empty() && ec == std::errc() && ptr == end) return value;
  }
  return arrow::Status::SerializationError(
      "unexpected answer of the server: ",
      text ? "'" + text->substr(0, 64) + "'" : "NULL", " is not a 64-bit integer (", what,
      ")");
}

}  // namespace jetflow::postgres
