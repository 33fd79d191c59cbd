#include "jetflow/core/crash_point.h"

#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

namespace jetflow {

namespace {

struct ArmedPoint {
  std::string name;
  int signal = SIGKILL;  // SIGKILL: a crash point; SIGSTOP: a stop point
  long long hit = 1;
  std::atomic<long long> reached{0};
};

// Appends the points `variable` arms, "<name>[@<n>],...", each sending `signal`. An
// entry with a malformed count arms nothing (a test that sets one sees its process
// carry on, and fails).
void ParsePoints(const char* variable, int signal,
                 std::vector<std::unique_ptr<ArmedPoint>>* points) {
  const char* value = std::getenv(variable);
  if (value == nullptr) return;
  const std::string text(value);
  size_t begin = 0;
  while (begin <= text.size()) {
    size_t end = text.find(',', begin);
    if (end == std::string::npos) end = text.size();
    std::string entry = text.substr(begin, end - begin);
    begin = end + 1;
    auto point = std::make_unique<ArmedPoint>();
    point->signal = signal;
    const size_t at = entry.rfind('@');
    if (at != std::string::npos) {
      char* last = nullptr;
      const long long n = std::strtoll(entry.c_str() + at + 1, &last, 10);
      if (last == entry.c_str() + at + 1 || *last != '\0' || n < 1) continue;
      point->hit = n;
      entry.resize(at);
    }
    if (entry.empty()) continue;
    point->name = std::move(entry);
    points->push_back(std::move(point));
  }
}

// JETFLOW_CRASH_AT and JETFLOW_STOP_AT, read once.
const std::vector<std::unique_ptr<ArmedPoint>>& Armed() {
  static const auto* armed = [] {
    auto* points = new std::vector<std::unique_ptr<ArmedPoint>>;
    ParsePoints(kCrashPointVariable, SIGKILL, points);
    ParsePoints(kStopPointVariable, SIGSTOP, points);
    return points;
  }();
  return *armed;
}

}  // namespace

void CrashPoint(const char* name) {
  for (const auto& point : Armed()) {
    if (point->name != name) continue;
    if (point->reached.fetch_add(1) + 1 != point->hit) continue;
    if (point->signal == SIGSTOP) {
      std::fprintf(stderr,
                   "jetflow: stop point %s reached (%s): stopping the process until "
                   "SIGCONT\n",
                   name, kStopPointVariable);
      std::fflush(stderr);
      ::raise(SIGSTOP);
      continue;
    }
    std::fprintf(stderr, "jetflow: crash point %s reached (%s): killing the process\n",
                 name, kCrashPointVariable);
    std::fflush(stderr);
    ::raise(SIGKILL);
    ::_exit(137);  // not reached
  }
}

}  // namespace jetflow
