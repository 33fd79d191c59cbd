#include "jetflow/sources/clickhouse/http_client.h"

#include <arrow/buffer.h>
#include <curl/curl.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <mutex>
#include <system_error>

#include "jetflow/core/error.h"

namespace jetflow::clickhouse {

namespace {

// ClickHouse error codes a retry may fix (src/Common/ErrorCodes.cpp).
bool IsRetryableClickHouseCode(int code) {
  switch (code) {
    case 159:  // TIMEOUT_EXCEEDED
    case 202:  // TOO_MANY_SIMULTANEOUS_QUERIES
    case 203:  // NO_FREE_CONNECTION
    case 209:  // SOCKET_TIMEOUT
    case 210:  // NETWORK_ERROR
    case 236:  // ABORTED
    case 241:  // MEMORY_LIMIT_EXCEEDED
    case 394:  // QUERY_WAS_CANCELLED
    case 425:  // SYSTEM_ERROR
      return true;
    default:
      return false;
  }
}

bool IsRetryableCurlCode(int code) {
  switch (static_cast<CURLcode>(code)) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_PARTIAL_FILE:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_GOT_NOTHING:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
      return true;
    default:
      return false;
  }
}

void GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_ALL); });
}

std::string Escape(CURL* easy, const std::string& text) {
  char* escaped = curl_easy_escape(easy, text.c_str(), static_cast<int>(text.size()));
  std::string out = escaped != nullptr ? escaped : "";
  curl_free(escaped);
  return out;
}

std::string BuildUrl(CURL* easy, const HttpOptions& options) {
  std::string url = options.url;
  while (!url.empty() && url.back() == '/') url.pop_back();
  url += "/?";
  bool first = true;
  auto add = [&](const std::string& key, const std::string& value) {
    if (!first) url += "&";
    first = false;
    url += Escape(easy, key) + "=" + Escape(easy, value);
  };
  if (!options.database.empty()) add("database", options.database);
  if (!options.compression.empty()) add("enable_http_compression", "1");
  for (const auto& [key, value] : options.settings) add(key, value);
  return url;
}

}  // namespace

std::optional<ClickHouseException> FindClickHouseException(std::string_view body) {
  const size_t marker = body.rfind("DB::Exception");
  if (marker == std::string_view::npos) return std::nullopt;
  size_t code_at = body.rfind("Code: ", marker);
  if (code_at == std::string_view::npos) return std::nullopt;
  // "e.what() = DB::Exception" closes the 18.x text; the exception proper starts at the
  // "Code: " before the first DB::Exception that follows it.
  ClickHouseException out;
  // The code as written; 0 (no known code) if it is not digits that fit an int.
  const char* digits = body.data() + code_at + 6;
  const char* end = body.data() + body.size();
  if (digits == end || *digits < '0' || *digits > '9' ||
      std::from_chars(digits, end, out.code).ec != std::errc()) {
    out.code = 0;
  }
  std::string_view rest = body.substr(code_at);
  if (const size_t display = rest.find("e.displayText() = "); display != rest.npos) {
    rest = rest.substr(display + 18);
  } else if (const size_t comma = rest.find(", "); comma != rest.npos) {
    rest = rest.substr(comma + 2);
  }
  if (const size_t what = rest.find(", e.what() = "); what != rest.npos) {
    rest = rest.substr(0, what);
  }
  while (!rest.empty() &&
         (rest.back() == '\n' || rest.back() == '\r' || rest.back() == ' ')) {
    rest.remove_suffix(1);
  }
  if (rest.size() > 2000) rest = rest.substr(0, 2000);
  out.message = std::string(rest);
  return out;
}

arrow::Status ClickHouseHttpStatus(int curl_code, long http_status, std::string_view body,
                                   std::string_view what) {
  if (auto exception = FindClickHouseException(body)) {
    std::string message = "ClickHouse error " + std::to_string(exception->code) + ": " +
                          exception->message + " (" + std::string(what) + ")";
    if (IsRetryableClickHouseCode(exception->code)) {
      return MarkRetryable(arrow::Status::IOError(message));
    }
    return arrow::Status::Invalid(message);
  }
  if (curl_code != CURLE_OK) {
    std::string message = std::string("ClickHouse HTTP request failed: ") +
                          curl_easy_strerror(static_cast<CURLcode>(curl_code)) + " (" +
                          std::string(what) + ")";
    if (curl_code == CURLE_URL_MALFORMAT || curl_code == CURLE_UNSUPPORTED_PROTOCOL) {
      return arrow::Status::Invalid(message);
    }
    if (IsRetryableCurlCode(curl_code))
      return MarkRetryable(arrow::Status::IOError(message));
    return arrow::Status::IOError(message);
  }
  if (http_status >= 400 || http_status == 0) {
    std::string text(body.substr(0, 500));
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
    std::string message = "ClickHouse answered HTTP " + std::to_string(http_status) +
                          (text.empty() ? "" : ": " + text) + " (" + std::string(what) +
                          ")";
    if (http_status >= 500 || http_status == 0) {
      return MarkRetryable(arrow::Status::IOError(message));
    }
    return arrow::Status::IOError(message);
  }
  return arrow::Status::OK();
}

std::string QuoteString(std::string_view text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out + "'";
}

std::string QuoteIdentifier(std::string_view name) {
  std::string out = "`";
  for (char c : name) {
    if (c == '`' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out + "`";
}

// ---------------------------------------------------------------------------------------
// The streaming transfer.

struct QueryStream::State {
  std::string what;
  int64_t buffer_bytes = 0;
  std::chrono::milliseconds receive_timeout{0};
  CURL* easy = nullptr;
  CURLM* multi = nullptr;
  curl_slist* headers = nullptr;
  char error_text[CURL_ERROR_SIZE] = {0};

  // Body bytes received and not yet read: buffer[head, end).
  std::vector<uint8_t> buffer;
  size_t head = 0;
  // Where Read() wants bytes right now (filled first by the write callback).
  uint8_t* direct = nullptr;
  int64_t direct_left = 0;
  // The last bytes received, for the exception ClickHouse appends on a late error.
  std::string tail;

  bool paused = false;
  bool done = false;
  bool closed = false;
  CURLcode result = CURLE_OK;
  int64_t position = 0;  // bytes handed to the reader
  int64_t received = 0;  // bytes received from curl

  ~State() { Cleanup(); }

  void Cleanup() {
    if (multi != nullptr && easy != nullptr) curl_multi_remove_handle(multi, easy);
    if (easy != nullptr) curl_easy_cleanup(easy);
    if (multi != nullptr) curl_multi_cleanup(multi);
    if (headers != nullptr) curl_slist_free_all(headers);
    easy = nullptr;
    multi = nullptr;
    headers = nullptr;
  }

  int64_t available() const { return static_cast<int64_t>(buffer.size() - head); }

  static size_t OnWrite(char* data, size_t size, size_t count, void* user) {
    auto* self = static_cast<State*>(user);
    const size_t total = size * count;
    if (self->direct_left == 0 && self->available() >= self->buffer_bytes) {
      self->paused = true;
      return CURL_WRITEFUNC_PAUSE;
    }
    self->received += static_cast<int64_t>(total);
    self->tail.append(data, total);
    if (self->tail.size() > 16384) self->tail.erase(0, self->tail.size() - 8192);
    size_t offset = 0;
    if (self->direct_left > 0) {
      const size_t take = std::min(total, static_cast<size_t>(self->direct_left));
      std::memcpy(self->direct, data, take);
      self->direct += take;
      self->direct_left -= static_cast<int64_t>(take);
      offset = take;
    }
    if (offset < total) {
      if (self->head > 0 && self->head * 2 >= self->buffer.size()) {
        self->buffer.erase(
            self->buffer.begin(),
            self->buffer.begin() + static_cast<std::ptrdiff_t>(self->head));
        self->head = 0;
      }
      self->buffer.insert(self->buffer.end(), reinterpret_cast<uint8_t*>(data) + offset,
                          reinterpret_cast<uint8_t*>(data) + total);
    }
    return total;
  }

  long HttpCode() const {
    long code = 0;
    if (easy != nullptr) curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &code);
    return code;
  }

  // Moves the transfer forward until `ready()` or the end of the transfer; waits at most
  // receive_timeout without progress. Returns a retryable IOError on that timeout.
  template <typename Ready>
  arrow::Status Pump(Ready ready) {
    auto last_progress = std::chrono::steady_clock::now();
    while (!done && !ready()) {
      const int64_t before = received;
      if (paused) {
        paused = false;
        curl_easy_pause(easy, CURLPAUSE_CONT);
        if (ready()) break;
      }
      int running = 0;
      CURLMcode mc = curl_multi_perform(multi, &running);
      if (mc != CURLM_OK) {
        return arrow::Status::IOError(
            "curl_multi_perform failed: ", curl_multi_strerror(mc), " (", what, ")");
      }
      if (running == 0) {
        int queued = 0;
        while (CURLMsg* msg = curl_multi_info_read(multi, &queued)) {
          if (msg->msg == CURLMSG_DONE) result = msg->data.result;
        }
        done = true;
        break;
      }
      if (ready()) break;
      const auto now = std::chrono::steady_clock::now();
      if (received != before) {
        last_progress = now;
        continue;
      }
      if (paused) continue;
      if (now - last_progress > receive_timeout) {
        return MarkRetryable(arrow::Status::IOError(
            "ClickHouse sent no data for ",
            std::chrono::duration_cast<std::chrono::milliseconds>(receive_timeout)
                .count(),
            " ms (receive_timeout; ", what, ", after ", received, " bytes)"));
      }
      int fds = 0;
      mc = curl_multi_poll(multi, nullptr, 0, 200, &fds);
      if (mc != CURLM_OK) {
        return arrow::Status::IOError("curl_multi_poll failed: ", curl_multi_strerror(mc),
                                      " (", what, ")");
      }
    }
    return arrow::Status::OK();
  }

  // The error of a finished transfer, or OK.
  arrow::Status TransferStatus() const {
    if (result == CURLE_OK && HttpCode() < 400) return arrow::Status::OK();
    std::string detail = what;
    if (result != CURLE_OK && error_text[0] != '\0') {
      detail += "; " + std::string(error_text);
    }
    detail += ", after " + std::to_string(received) + " bytes of the response";
    return ClickHouseHttpStatus(result, HttpCode(), tail, detail);
  }
};

QueryStream::QueryStream(std::unique_ptr<State> state) : state_(std::move(state)) {}

QueryStream::~QueryStream() = default;

arrow::Result<std::shared_ptr<QueryStream>> QueryStream::Open(const HttpOptions& options,
                                                              const std::string& sql,
                                                              std::string what) {
  GlobalInit();
  auto state = std::make_unique<State>();
  state->what = std::move(what);
  state->buffer_bytes = std::max<int64_t>(options.buffer_bytes, 65536);
  state->receive_timeout = options.receive_timeout;
  state->easy = curl_easy_init();
  state->multi = curl_multi_init();
  if (state->easy == nullptr || state->multi == nullptr) {
    return arrow::Status::OutOfMemory("cannot create a curl handle (", state->what, ")");
  }
  CURL* easy = state->easy;
  const std::string url = BuildUrl(easy, options);
  curl_easy_setopt(easy, CURLOPT_URL, url.c_str());
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, state->error_text);
  curl_easy_setopt(easy, CURLOPT_POST, 1L);
  curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE, static_cast<long>(sql.size()));
  curl_easy_setopt(easy, CURLOPT_COPYPOSTFIELDS, sql.c_str());
  curl_easy_setopt(easy, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
  curl_easy_setopt(easy, CURLOPT_USERNAME, options.user.c_str());
  curl_easy_setopt(easy, CURLOPT_PASSWORD, options.password.c_str());
  curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(options.connect_timeout.count()));
  curl_easy_setopt(easy, CURLOPT_BUFFERSIZE, 256L * 1024);
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &State::OnWrite);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, state.get());
  if (!options.compression.empty()) {
    curl_easy_setopt(easy, CURLOPT_ACCEPT_ENCODING, options.compression.c_str());
  }
  state->headers = curl_slist_append(nullptr, "Expect:");
  state->headers = curl_slist_append(state->headers, "Content-Type: text/plain");
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, state->headers);
  curl_multi_add_handle(state->multi, easy);

  // Wait for the first body byte or the end: then the HTTP status is known.
  State* s = state.get();
  ARROW_RETURN_NOT_OK(s->Pump([s] { return s->available() > 0 || s->paused; }));
  if (s->HttpCode() >= 400) {
    // An error response: read its body (bounded) for the exception text.
    s->buffer_bytes = 1 << 20;
    if (!s->done) ARROW_RETURN_NOT_OK(s->Pump([s] { return s->paused; }));
    return ClickHouseHttpStatus(s->result, s->HttpCode(), s->tail, s->what);
  }
  // A failed transfer that delivered body bytes reports its error when the reader gets
  // past them.
  if (s->done && s->available() == 0) ARROW_RETURN_NOT_OK(s->TransferStatus());
  return std::shared_ptr<QueryStream>(new QueryStream(std::move(state)));
}

arrow::Status QueryStream::Close() {
  state_->closed = true;
  state_->Cleanup();
  return arrow::Status::OK();
}

bool QueryStream::closed() const { return state_->closed; }

arrow::Result<int64_t> QueryStream::Tell() const { return state_->position; }

int64_t QueryStream::bytes_received() const { return state_->received; }

arrow::Result<int64_t> QueryStream::Read(int64_t nbytes, void* out) {
  State* s = state_.get();
  if (s->closed) return arrow::Status::Invalid("read from a closed ClickHouse stream");
  auto* dest = static_cast<uint8_t*>(out);
  const int64_t from_buffer = std::min(nbytes, s->available());
  if (from_buffer > 0) {
    std::memcpy(dest, s->buffer.data() + s->head, static_cast<size_t>(from_buffer));
    s->head += static_cast<size_t>(from_buffer);
    if (s->head == s->buffer.size()) {
      s->buffer.clear();
      s->head = 0;
    }
  }
  int64_t copied = from_buffer;
  if (copied < nbytes && !s->done) {
    s->direct = dest + copied;
    s->direct_left = nbytes - copied;
    arrow::Status status = s->Pump([s] { return s->direct_left == 0; });
    copied = nbytes - s->direct_left;
    s->direct = nullptr;
    s->direct_left = 0;
    ARROW_RETURN_NOT_OK(status);
  }
  s->position += copied;
  if (copied < nbytes && s->done) {
    // The end: a clean one only if the transfer finished without error.
    ARROW_RETURN_NOT_OK(s->TransferStatus());
  }
  return copied;
}

arrow::Result<std::shared_ptr<arrow::Buffer>> QueryStream::Read(int64_t nbytes) {
  ARROW_ASSIGN_OR_RAISE(auto buffer, arrow::AllocateResizableBuffer(nbytes));
  ARROW_ASSIGN_OR_RAISE(int64_t got, Read(nbytes, buffer->mutable_data()));
  if (got < nbytes) ARROW_RETURN_NOT_OK(buffer->Resize(got, /*shrink_to_fit=*/false));
  return std::shared_ptr<arrow::Buffer>(std::move(buffer));
}

std::optional<arrow::Status> QueryStream::ExceptionInTail() {
  State* s = state_.get();
  if (s->closed) return std::nullopt;
  // Drain what is left (bounded): the exception text is at the very end of the body.
  const int64_t limit = s->received + 65536;
  while (!s->done && s->received < limit) {
    s->buffer.clear();
    s->head = 0;
    if (!s->Pump([s] { return s->available() > 0 || s->paused; }).ok()) break;
  }
  s->buffer.clear();
  s->head = 0;
  auto exception = FindClickHouseException(s->tail);
  if (!exception) return std::nullopt;
  return ClickHouseHttpStatus(CURLE_OK, 200, s->tail,
                              s->what + ", error reported after " +
                                  std::to_string(s->received) + " bytes of the response");
}

arrow::Result<std::string> QueryText(const HttpOptions& options, const std::string& sql,
                                     std::string_view what) {
  ARROW_ASSIGN_OR_RAISE(auto stream, QueryStream::Open(options, sql, std::string(what)));
  std::string out;
  char chunk[65536];
  while (true) {
    ARROW_ASSIGN_OR_RAISE(int64_t got, stream->Read(sizeof(chunk), chunk));
    out.append(chunk, static_cast<size_t>(got));
    if (got < static_cast<int64_t>(sizeof(chunk))) break;
    if (out.size() > (size_t{256} << 20)) {
      return arrow::Status::IOError("ClickHouse metadata answer over 256 MiB (", what,
                                    ")");
    }
  }
  // A late error in a text answer: the exception text is part of the body.
  if (auto exception = FindClickHouseException(
          std::string_view(out).substr(out.size() > 8192 ? out.size() - 8192 : 0))) {
    return ClickHouseHttpStatus(CURLE_OK, 200, out, what);
  }
  return out;
}

}  // namespace jetflow::clickhouse
