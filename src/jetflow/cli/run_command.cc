// `jetflow run`: plan, then move the data of one run instance, resuming an unfinished
// run.
#include <fcntl.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "jetflow/cli/commands.h"
#include "jetflow/cli/load.h"
#include "jetflow/engine/cancellation.h"
#include "jetflow/engine/pipeline_runner.h"

namespace jetflow::cli {

namespace {

// The write end of the pipe that carries signals to the SignalWatcher's thread.
std::atomic<int> g_signal_pipe{-1};

extern "C" void OnSignal(int signal) {
  // Only async-signal-safe calls here: one write(2) of the signal number.
  const int fd = g_signal_pipe.load();
  const unsigned char byte = static_cast<unsigned char>(signal);
  if (fd >= 0) (void)!::write(fd, &byte, 1);
}

// Turns SIGINT and SIGTERM into a cancellation of the run. A signal handler may not take
// the locks a Cancellation takes, so the handler only writes the signal number into a
// pipe, and a thread of this object reads it and cancels.
class SignalWatcher {
 public:
  explicit SignalWatcher(Cancellation& cancellation) : cancellation_(cancellation) {
    if (::pipe2(fds_, O_CLOEXEC) != 0) return;  // then signals end the process as before
    g_signal_pipe = fds_[1];
    thread_ = std::thread([this] { Loop(); });
    std::signal(SIGINT, OnSignal);
    std::signal(SIGTERM, OnSignal);
  }
  ~SignalWatcher() {
    if (!thread_.joinable()) return;
    const unsigned char stop = 0;
    (void)!::write(fds_[1], &stop, 1);
    thread_.join();
    g_signal_pipe = -1;
    ::close(fds_[0]);
    ::close(fds_[1]);
  }
  bool interrupted() const { return interrupted_.load(); }

 private:
  void Loop() {
    for (;;) {
      unsigned char signal = 0;
      const ssize_t n = ::read(fds_[0], &signal, 1);
      if (n < 0 && errno == EINTR) continue;
      if (n != 1 || signal == 0) return;
      interrupted_ = true;
      cancellation_.Cancel(arrow::Status::Cancelled(
          "interrupted by ", signal == SIGINT ? "SIGINT" : "SIGTERM"));
    }
  }

  Cancellation& cancellation_;
  int fds_[2] = {-1, -1};
  std::atomic<bool> interrupted_{false};
  std::thread thread_;
};

// Reports RunProgress while the run goes on: a live line on a terminal, otherwise a log
// line every `interval` (so CI and schedulers get periodic, greppable progress).
class ProgressReporter {
 public:
  ProgressReporter(const RunProgress& progress, bool live, double interval_seconds)
      : progress_(progress), live_(live), interval_(interval_seconds) {
    thread_ = std::thread([this] { Loop(); });
  }
  ~ProgressReporter() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopped_ = true;
    }
    wake_.notify_all();
    thread_.join();
    if (live_) fmt::print(stderr, "\r\033[K");
  }

 private:
  void Loop() {
    auto started = std::chrono::steady_clock::now();
    auto period = live_
                      ? std::chrono::milliseconds(250)
                      : std::chrono::milliseconds(static_cast<int64_t>(interval_ * 1000));
    std::unique_lock<std::mutex> lock(mutex_);
    while (!wake_.wait_for(lock, period, [this] { return stopped_; })) {
      double seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - started)
              .count();
      Report(seconds);
    }
  }

  void Report(double seconds) {
    int64_t rows = progress_.rows_read.load();
    int64_t done = progress_.partitions_done.load();
    int64_t total = progress_.partitions_total.load();
    double rate = seconds > 0 ? rows / seconds : 0;
    std::string eta = "?";
    // ETA from the share of partitions done; meaningful once one partition finished.
    if (done > 0 && total > done && seconds > 1) {
      eta = fmt::format("{:.0f}s", seconds * static_cast<double>(total - done) / done);
    }
    // Rows of failed attempts are not in `rows`: their retries read them again.
    const int64_t discarded = progress_.rows_discarded.load();
    std::string line = fmt::format(
        "rows {} ({:.0f} rows/s), {} read, partitions {}/{}, elapsed {:.0f}s, ETA {}{}",
        FormatCount(rows), rate, FormatBytes(progress_.bytes_read.load()), done, total,
        seconds, eta,
        discarded > 0 ? fmt::format(" ({} rows of failed attempts discarded)",
                                    FormatCount(discarded))
                      : "");
    if (live_) {
      fmt::print(stderr, "\r\033[K{}", line);
      std::fflush(stderr);
    } else {
      spdlog::info("progress: {}", line);
    }
  }

  const RunProgress& progress_;
  const bool live_;
  const double interval_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopped_ = false;
  std::thread thread_;
};

void PrintSummary(const std::string& pipeline, const RunInstance& run,
                  const RunSummary& s, bool json) {
  double rate = s.seconds > 0 ? s.rows_read / s.seconds : 0;
  if (json) {
    nlohmann::json out = {{"pipeline", pipeline},
                          {"instance", run.id()},
                          {"run_id", s.run_id},
                          {"status", s.succeeded ? "succeeded" : "failed"},
                          {"error", s.error},
                          {"resumed", s.resumed},
                          {"joined", s.joined},
                          {"partitions_total", s.partitions_total},
                          {"partitions_kept", s.partitions_kept},
                          {"partitions_changed", s.partitions_changed},
                          {"partitions_damaged", s.partitions_damaged},
                          {"partitions_failed", s.partitions_failed},
                          {"attempts_retried", s.attempts_retried},
                          {"rows_read", s.rows_read},
                          {"rows_written", s.rows_written},
                          {"rows_dropped", s.rows_dropped},
                          {"rows_quarantined", s.rows_quarantined},
                          {"bytes_written", s.bytes_written},
                          {"seconds", s.seconds},
                          {"rows_per_second", rate},
                          {"peak_rss_bytes", s.peak_rss_bytes},
                          {"peak_in_flight_bytes", s.peak_budget_bytes},
                          {"peak_arrow_pool_bytes", s.peak_arrow_pool_bytes}};
    nlohmann::json rules = nlohmann::json::array();
    for (const auto& rule : s.rules) {
      rules.push_back({{"stage", rule.stage},
                       {"rule", rule.rule},
                       {"action", rule.action},
                       {"rows", rule.rows}});
    }
    out["rules"] = std::move(rules);
    nlohmann::json changes = nlohmann::json::array();
    for (const auto& change : s.value_changes) {
      changes.push_back({{"stage", change.stage},
                         {"column", change.column},
                         {"change", change.change},
                         {"action", change.action},
                         {"values", change.values},
                         {"detail", change.detail}});
    }
    out["value_changes"] = std::move(changes);
    out["warnings"] = s.warnings;
    fmt::print("{}\n", out.dump());
    return;
  }
  fmt::print("run {} of {} {}: {}{}\n", s.run_id, pipeline, run.id(),
             s.succeeded ? "succeeded" : "FAILED",
             s.joined ? " (joined other processes working on it)" : "");
  fmt::print(
      "  partitions   {} ({} kept from an earlier attempt, {} retries, {} failed)\n",
      s.partitions_total, s.partitions_kept, s.attempts_retried, s.partitions_failed);
  if (s.partitions_changed > 0) {
    fmt::print("  redone       {} partitions written under an earlier configuration\n",
               s.partitions_changed);
  }
  if (s.partitions_damaged > 0) {
    fmt::print(
        "  redone       {} partitions whose output was not as their manifests "
        "describe (see the log)\n",
        s.partitions_damaged);
  }
  fmt::print("  rows         {} read, {} written, {} dropped, {} quarantined\n",
             FormatCount(s.rows_read), FormatCount(s.rows_written),
             FormatCount(s.rows_dropped), FormatCount(s.rows_quarantined));
  for (const auto& rule : s.rules) {
    fmt::print("  rule         {}.{}: {} rows ({})\n", rule.stage, rule.rule,
               FormatCount(rule.rows), rule.action);
  }
  for (const auto& change : s.value_changes) {
    fmt::print("  changed      {}: {}\n", change.stage, DescribeValueChange(change));
  }
  for (const auto& warning : s.warnings) fmt::print("  warning      {}\n", warning);
  fmt::print("  written      {}\n", FormatBytes(s.bytes_written));
  fmt::print("  duration     {:.2f} s ({} rows/s)\n", s.seconds,
             FormatCount(static_cast<int64_t>(rate)));
  fmt::print("  peak memory  {} RSS, {} in the memory budget, {} allocated by Arrow\n",
             FormatBytes(s.peak_rss_bytes), FormatBytes(s.peak_budget_bytes),
             FormatBytes(s.peak_arrow_pool_bytes));
  if (!s.succeeded) fmt::print("  error        {}\n", s.error);
}

}  // namespace

int RunCommand(const RunCommandOptions& options) {
  auto loaded = LoadOrReport(options.common);
  if (!loaded) return kExitConfigError;
  auto run = ResolveRunInstance(*loaded, options.common.instance);
  if (!run.ok()) {
    fmt::print(stderr, "error: {}\n", run.status().message());
    return kExitConfigError;
  }
  // Plan first: a config that cannot work fails here, before the state store is touched.
  // The partitions of a consumer with run state depend on the store's watermarks: they
  // are planned once the store is open, once.
  auto plan = PipelineRunner::Plan(loaded->pipeline, *run, /*state=*/nullptr,
                                   PlanScope::kPartitionsIfStateless);
  auto report_plan_error = [](const arrow::Status& status) {
    fmt::print(stderr, "error: plan failed, nothing was moved:\n{}\n", status.message());
    return PlanFailureExitCode(status);
  };
  if (!plan.ok()) return report_plan_error(plan.status());
  auto state = OpenStateOrReport(*loaded);
  if (!state) return kExitStateError;
  if (!plan->partitions_planned) {
    plan = PipelineRunner::Plan(loaded->pipeline, *run, state.get());
    if (!plan.ok()) return report_plan_error(plan.status());
  }

  Cancellation stop;
  SignalWatcher signals(stop);
  RunProgress progress;
  RunOptions run_options;
  run_options.restart = options.restart;
  run_options.progress = &progress;
  run_options.cancellation = &stop;
  run_options.lease = loaded->state.lease;
  run_options.plan = &*plan;  // Run plans no more

  arrow::Result<RunSummary> summary;
  {
    std::unique_ptr<ProgressReporter> reporter;
    if (options.progress) {
      reporter = std::make_unique<ProgressReporter>(progress, isatty(STDERR_FILENO) == 1,
                                                    options.log_interval_seconds);
    }
    summary = PipelineRunner::Run(loaded->pipeline, *run, *state, run_options);
  }
  if (!summary.ok()) {
    fmt::print(stderr, "error: {}\n", summary.status().ToString());
    return summary.status().IsInvalid() ? kExitConfigError : kExitStateError;
  }
  PrintSummary(loaded->pipeline.name, *run, *summary, options.common.json);
  if (summary->succeeded) return kExitOk;
  if (!summary->succeeded && !options.common.json) {
    fmt::print(stderr, "error: {}\n", summary->error);
  }
  return signals.interrupted() ? kExitInterrupted : kExitRunFailed;
}

}  // namespace jetflow::cli
