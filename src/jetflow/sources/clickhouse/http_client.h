// ClickHouse's HTTP interface, through libcurl: small queries answered as text, and
// streaming responses (`FORMAT Native`) read as an arrow::io::InputStream.
//
// Every failure of curl, of HTTP and of ClickHouse itself becomes a Status in exactly one
// function, ClickHouseHttpStatus: a connection that cannot be made or drops, a timeout,
// or a 5xx without a ClickHouse exception is a retryable IOError; a ClickHouse exception
// ("Code: 60, e.displayText() = DB::Exception: Table default.x doesn't exist.") is
// permanent (Invalid) unless its code is one a retry may fix (memory limit, too many
// queries, network, timeouts).
//
// Streaming: the response body is pulled from the network only when Read() needs bytes
// (curl's multi interface, driven from Read()), and at most `buffer_bytes` beyond the
// request are held, so memory stays bounded whatever the size of the result. ClickHouse
// reports an error that happens after it started sending data by appending the exception
// text to the body; ExceptionInTail() finds it so the caller can report it instead of
// the decoder's complaint about malformed data.
//
// Threading: a QueryStream is used by one thread. The free functions are thread-safe.
#pragma once

#include <arrow/io/interfaces.h>
#include <arrow/result.h>
#include <arrow/status.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace jetflow::clickhouse {

/// Where and how to send queries.
struct HttpOptions {
  /// Base URL of the HTTP interface, e.g. "http://127.0.0.1:8123".
  std::string url;
  std::string user = "default";
  /// Sent with HTTP basic authentication; never logged or put into messages.
  std::string password;
  /// The database unqualified table names resolve in (URL parameter `database`).
  std::string database;
  /// ClickHouse settings sent as URL parameters, e.g. {"max_block_size", "65536"}.
  std::vector<std::pair<std::string, std::string>> settings;
  /// HTTP compression of the response: "" (none), "gzip" or "deflate". Sets
  /// enable_http_compression=1 and Accept-Encoding; curl decompresses.
  std::string compression;
  std::chrono::milliseconds connect_timeout{10000};
  /// Longest wait for the next byte of a response before giving up (retryable).
  std::chrono::milliseconds receive_timeout{300000};
  /// Bytes a stream may buffer beyond what Read() asked for.
  int64_t buffer_bytes = int64_t{1} << 20;
};

/// The one mapping of curl codes, HTTP statuses and ClickHouse exception texts to Status.
/// `curl_code` is a CURLcode (0 = OK), `http_status` 0 when no response arrived, `body`
/// the response body (or its tail) that may hold "Code: NNN ... DB::Exception".
/// `what` says what was being done ("cannot read partition part_2024 of table db.t").
arrow::Status ClickHouseHttpStatus(int curl_code, long http_status, std::string_view body,
                                   std::string_view what);

/// The ClickHouse error code and message of an exception text in `body`, if any.
struct ClickHouseException {
  int code = 0;
  std::string message;
};
std::optional<ClickHouseException> FindClickHouseException(std::string_view body);

/// Runs `sql` and returns the whole response body; for small metadata queries. `sql`
/// must end with its FORMAT clause when one matters.
arrow::Result<std::string> QueryText(const HttpOptions& options, const std::string& sql,
                                     std::string_view what);

/// A streaming response body.
class QueryStream : public arrow::io::InputStream {
 public:
  /// Sends `sql` and waits for the response headers. A failure before any body byte
  /// arrives (connection refused, HTTP 4xx/5xx with the exception text) is returned here.
  static arrow::Result<std::shared_ptr<QueryStream>> Open(const HttpOptions& options,
                                                          const std::string& sql,
                                                          std::string what);

  ~QueryStream() override;

  arrow::Status Close() override;
  bool closed() const override;
  arrow::Result<int64_t> Tell() const override;
  arrow::Result<int64_t> Read(int64_t nbytes, void* out) override;
  arrow::Result<std::shared_ptr<arrow::Buffer>> Read(int64_t nbytes) override;

  /// After a decoding failure: reads what is left of the body (at most 64 KiB more) and
  /// returns the error ClickHouse appended to it, mapped by ClickHouseHttpStatus, or
  /// nullopt if the body holds no exception text.
  std::optional<arrow::Status> ExceptionInTail();

  /// Bytes of body received so far (for messages and tests).
  int64_t bytes_received() const;

  struct State;

 private:
  explicit QueryStream(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

/// `text` as a ClickHouse string literal: 'it\'s'.
std::string QuoteString(std::string_view text);
/// `name` as a ClickHouse identifier: `weird name`.
std::string QuoteIdentifier(std::string_view name);

}  // namespace jetflow::clickhouse
