#include "jetflow/sources/clickhouse/http_client.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <string>
#include <thread>

#include "jetflow/core/error.h"
#include "jetflow/testing/status_assertions.h"

namespace jetflow::clickhouse {
namespace {

constexpr char kUnknownTable[] =
    "Code: 60, e.displayText() = DB::Exception: Table default.nope doesn't exist., "
    "e.what() = DB::Exception\n";

TEST(FindClickHouseException, ParsesThe18xText) {
  auto e = FindClickHouseException(kUnknownTable);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->code, 60);
  EXPECT_EQ(e->message, "DB::Exception: Table default.nope doesn't exist.");
}

TEST(FindClickHouseException, FindsTheTextAfterBinaryData) {
  std::string body("\x02\x00\x01x\x06UInt64garbage", 16);
  body +=
      "Code: 241, e.displayText() = DB::Exception: Memory limit (for query) exceeded, "
      "e.what() = DB::Exception\n";
  auto e = FindClickHouseException(body);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->code, 241);
  EXPECT_FALSE(FindClickHouseException("just data").has_value());
  // A code too long for an int (a server's text is not trusted) is no known code.
  auto huge = FindClickHouseException(
      "Code: 99999999999999999999999. DB::Exception: Memory limit exceeded");
  ASSERT_TRUE(huge.has_value());
  EXPECT_EQ(huge->code, 0);
  EXPECT_NE(huge->message.find("Memory limit exceeded"), std::string::npos);
}

TEST(ClickHouseHttpStatus, MapsErrorsToStatus) {
  auto sql = ClickHouseHttpStatus(0, 404, kUnknownTable, "reading t");
  EXPECT_TRUE(sql.IsInvalid()) << sql.ToString();
  EXPECT_FALSE(IsRetryable(sql));
  EXPECT_NE(sql.message().find("doesn't exist"), std::string::npos);
  EXPECT_NE(sql.message().find("(reading t)"), std::string::npos);

  auto memory = ClickHouseHttpStatus(
      0, 500, "Code: 241, e.displayText() = DB::Exception: Memory limit exceeded", "x");
  EXPECT_TRUE(memory.IsIOError());
  EXPECT_TRUE(IsRetryable(memory));

  auto refused = ClickHouseHttpStatus(7 /* CURLE_COULDNT_CONNECT */, 0, "", "x");
  EXPECT_TRUE(refused.IsIOError());
  EXPECT_TRUE(IsRetryable(refused));

  auto proxy = ClickHouseHttpStatus(0, 502, "Bad Gateway", "x");
  EXPECT_TRUE(IsRetryable(proxy));
  auto forbidden = ClickHouseHttpStatus(0, 403, "Forbidden", "x");
  EXPECT_FALSE(IsRetryable(forbidden));
  JETFLOW_EXPECT_OK(ClickHouseHttpStatus(0, 200, "", "x"));
  auto malformed = ClickHouseHttpStatus(3 /* CURLE_URL_MALFORMAT */, 0, "", "x");
  EXPECT_TRUE(malformed.IsInvalid());
}

TEST(Quote, EscapesQuotesAndBackslashes) {
  EXPECT_EQ(QuoteString("it's \\"), "'it\\'s \\\\'");
  EXPECT_EQ(QuoteIdentifier("we`ird"), "`we\\`ird`");
}

// A one-shot HTTP server on a loopback port: answers the first request with `response`
// (raw bytes, headers included) and closes the connection.
class OneShotServer {
 public:
  explicit OneShotServer(std::string response) : response_(std::move(response)) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    socklen_t len = sizeof(addr);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    listen(fd_, 1);
    thread_ = std::thread([this] {
      const int client = accept(fd_, nullptr, nullptr);
      if (client < 0) return;
      char buf[65536];
      std::string request;
      // Headers, then the POST body (small, one read is enough in practice).
      while (request.find("\r\n\r\n") == std::string::npos) {
        const ssize_t n = recv(client, buf, sizeof(buf), 0);
        if (n <= 0) break;
        request.append(buf, static_cast<size_t>(n));
      }
      size_t sent = 0;
      while (sent < response_.size()) {
        const ssize_t n =
            send(client, response_.data() + sent, response_.size() - sent, MSG_NOSIGNAL);
        if (n <= 0) break;
        sent += static_cast<size_t>(n);
      }
      close(client);
    });
  }
  ~OneShotServer() {
    shutdown(fd_, SHUT_RDWR);
    close(fd_);
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  std::string response_;
  int fd_ = -1;
  int port_ = 0;
  std::thread thread_;
};

std::string Chunk(const std::string& data) {
  char size[32];
  snprintf(size, sizeof(size), "%zx\r\n", data.size());
  return size + data + "\r\n";
}

constexpr char kChunkedHeaders[] =
    "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
    "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n";

TEST(QueryStream, StreamsAWholeBodyInSmallReads) {
  std::string body;
  for (int i = 0; i < 200000; ++i) body.push_back(static_cast<char>(i * 7));
  std::string response = kChunkedHeaders;
  for (size_t at = 0; at < body.size(); at += 30000)
    response += Chunk(body.substr(at, 30000));
  response += "0\r\n\r\n";
  OneShotServer server(response);
  HttpOptions options;
  options.url = server.url();
  options.buffer_bytes = 65536;
  JETFLOW_ASSERT_OK_AND_ASSIGN(auto stream,
                               QueryStream::Open(options, "SELECT 1", "test"));
  std::string got;
  char buf[777];
  while (true) {
    JETFLOW_ASSERT_OK_AND_ASSIGN(auto n, stream->Read(sizeof(buf), buf));
    got.append(buf, static_cast<size_t>(n));
    if (n < static_cast<int64_t>(sizeof(buf))) break;
  }
  EXPECT_EQ(got, body);
  EXPECT_FALSE(stream->ExceptionInTail().has_value());
}

TEST(QueryStream, ConnectionDroppedMidBodyIsRetryable) {
  std::string response = kChunkedHeaders + Chunk(std::string(5000, 'x'));
  response += "4000\r\nonly a few bytes of a 16 KiB chunk";  // then the server closes
  OneShotServer server(response);
  HttpOptions options;
  options.url = server.url();
  JETFLOW_ASSERT_OK_AND_ASSIGN(auto stream,
                               QueryStream::Open(options, "SELECT 1", "partition p"));
  std::vector<char> buf(1 << 20);
  auto read = stream->Read(static_cast<int64_t>(buf.size()), buf.data());
  ASSERT_FALSE(read.ok());
  EXPECT_TRUE(read.status().IsIOError()) << read.status().ToString();
  EXPECT_TRUE(IsRetryable(read.status())) << read.status().ToString();
  EXPECT_NE(read.status().message().find("partition p"), std::string::npos);
}

TEST(QueryStream, ErrorAnswerIsReportedAtOpen) {
  std::string body = kUnknownTable;
  OneShotServer server(
      "HTTP/1.1 404 Not Found\r\nContent-Length: " + std::to_string(body.size()) +
      "\r\nConnection: close\r\n\r\n" + body);
  HttpOptions options;
  options.url = server.url();
  auto stream = QueryStream::Open(options, "SELECT 1 FROM nope", "schema of nope");
  ASSERT_FALSE(stream.ok());
  EXPECT_TRUE(stream.status().IsInvalid()) << stream.status().ToString();
  EXPECT_NE(stream.status().message().find("Table default.nope doesn't exist"),
            std::string::npos);
}

TEST(QueryStream, ExceptionAppendedToTheBodyIsFound) {
  std::string response = kChunkedHeaders + Chunk(std::string(3000, '\x01')) +
                         Chunk(kUnknownTable) + "0\r\n\r\n";
  OneShotServer server(response);
  HttpOptions options;
  options.url = server.url();
  JETFLOW_ASSERT_OK_AND_ASSIGN(auto stream, QueryStream::Open(options, "SELECT 1", "p"));
  char buf[100];
  JETFLOW_ASSERT_OK_AND_ASSIGN(auto n, stream->Read(sizeof(buf), buf));
  EXPECT_EQ(n, 100);
  auto exception = stream->ExceptionInTail();
  ASSERT_TRUE(exception.has_value());
  EXPECT_TRUE(exception->IsInvalid());
  EXPECT_NE(exception->message().find("doesn't exist"), std::string::npos);
}

TEST(QueryStream, RefusedConnectionIsRetryable) {
  int port;
  {
    OneShotServer server("");  // bound then closed: nothing listens there afterwards
    port = std::stoi(server.url().substr(server.url().rfind(':') + 1));
  }
  HttpOptions options;
  options.url = "http://127.0.0.1:" + std::to_string(port);
  auto stream = QueryStream::Open(options, "SELECT 1", "x");
  ASSERT_FALSE(stream.ok());
  EXPECT_TRUE(IsRetryable(stream.status())) << stream.status().ToString();
}

}  // namespace
}  // namespace jetflow::clickhouse
