#include "jetflow/state/worker_identity.h"

#include <unistd.h>

#include <charconv>
#include <fstream>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace jetflow {
namespace {

std::string HostName() {
  char name[256] = {};
  if (gethostname(name, sizeof(name) - 1) != 0 || name[0] == '\0') return "localhost";
  std::string host(name);
  // The separator of the id's fields never appears inside one.
  for (char& c : host) {
    if (c == '/') c = '_';
  }
  return host;
}

std::string BootId() {
  std::ifstream in("/proc/sys/kernel/random/boot_id");
  std::string id;
  std::getline(in, id);
  std::string hex;
  for (char c : id) {
    if (c != '-') hex.push_back(c);
    if (hex.size() == 8) break;
  }
  return hex.empty() ? "noboot" : hex;
}

/// Start time of process `pid` in clock ticks after boot; nullopt if it does not exist.
std::optional<std::string> ProcessStart(long pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  if (!in) return std::nullopt;
  std::string stat((std::istreambuf_iterator<char>(in)),
                   std::istreambuf_iterator<char>());
  // The command name (field 2) is in parentheses and may hold spaces: count fields after
  // its closing parenthesis. Field 3 follows it; the start time is field 22.
  const size_t close = stat.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream fields(stat.substr(close + 1));
  std::string field;
  for (int index = 3; index <= 22; ++index) {
    if (!(fields >> field)) return std::nullopt;
  }
  return field;
}

std::vector<std::string_view> Split(std::string_view text) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (true) {
    const size_t slash = text.find('/', start);
    parts.push_back(text.substr(start, slash - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return parts;
}

}  // namespace

const std::string& ThisWorker() {
  // Computed once per process: a forked child (tests do that) is another worker.
  static std::mutex mutex;
  static long cached_pid = 0;
  static std::string id;
  std::lock_guard<std::mutex> lock(mutex);
  const long pid = static_cast<long>(::getpid());
  if (pid != cached_pid) {
    id = HostName() + "/" + std::to_string(pid) + "/" + BootId() + "/" +
         ProcessStart(pid).value_or("0");
    cached_pid = pid;
  }
  return id;
}

WorkerLiveness CheckWorkerLiveness(std::string_view worker) {
  static const std::string host = HostName();
  static const std::string boot = BootId();
  const std::vector<std::string_view> parts = Split(worker);
  if (parts.size() != 4 || parts[0] != host) return WorkerLiveness::kUnknown;
  long pid = 0;
  const auto [end, error] =
      std::from_chars(parts[1].data(), parts[1].data() + parts[1].size(), pid);
  if (error != std::errc() || end != parts[1].data() + parts[1].size() || pid <= 0) {
    return WorkerLiveness::kUnknown;
  }
  // Another boot of this machine, or another machine with the same host name: only the
  // lease can tell (a worker of an earlier boot has long let its lease expire).
  if (parts[2] != boot) return WorkerLiveness::kUnknown;
  const std::optional<std::string> start = ProcessStart(pid);
  if (!start || *start != parts[3]) return WorkerLiveness::kDead;  // gone, or pid reused
  return WorkerLiveness::kAlive;
}

std::string DescribeWorker(std::string_view worker) {
  const size_t host_end = worker.find('/');
  if (host_end == std::string_view::npos) return std::string(worker);
  const size_t pid_end = worker.find('/', host_end + 1);
  return "pid " + std::string(worker.substr(host_end + 1, pid_end - host_end - 1)) +
         " on " + std::string(worker.substr(0, host_end));
}

}  // namespace jetflow
