#include "jetflow/cli/load.h"

#include <arrow/util/thread_pool.h>
#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <thread>

#include "jetflow/builtins/builtin_components.h"
#include "jetflow/core/error.h"

namespace jetflow::cli {

std::unique_ptr<LoadedPipeline> LoadOrReport(const CommonOptions& options,
                                             bool build_stages) {
  ComponentRegistry registry;
  RegisterBuiltinComponents(registry);
  LoadOptions load_options;
  load_options.state_location = options.state_path;
  load_options.build_stages = build_stages;
  auto loaded = LoadPipelineFile(options.pipeline_file, registry, load_options);
  if (!loaded.ok()) {
    // Config diagnostics are already "file:line:col: error: ..." lines.
    fmt::print(stderr, "{}\n", loaded.status().message());
    return nullptr;
  }
  for (const auto& warning : loaded->warnings) fmt::print(stderr, "{}\n", warning);
  // Process-wide, so set here, once, rather than by the engine on every run.
  const int compute_threads =
      loaded->pipeline.engine.compute_threads > 0
          ? loaded->pipeline.engine.compute_threads
          : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  if (auto status = arrow::SetCpuThreadPoolCapacity(compute_threads); !status.ok()) {
    fmt::print(stderr, "error: cannot size Arrow's CPU thread pool to {}: {}\n",
               compute_threads, status.ToString());
    return nullptr;
  }
  return std::make_unique<LoadedPipeline>(std::move(*loaded));
}

std::unique_ptr<StateStore> OpenStateOrReport(const LoadedPipeline& loaded, bool create,
                                              bool* missing) {
  if (missing != nullptr) *missing = false;
  auto store = loaded.state.store->Open(create);
  if (!store.ok()) {
    fmt::print(stderr, "error: cannot open the state store: {}\n",
               store.status().ToString());
    return nullptr;
  }
  if (*store == nullptr && missing != nullptr) *missing = true;
  return std::move(*store);
}

int PlanFailureExitCode(const arrow::Status& status) {
  return IsRetryable(status) ? kExitTransient : kExitConfigError;
}

std::string FormatBytes(int64_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes);
  int unit = 0;
  while (value >= 1024 && unit < 4) {
    value /= 1024;
    ++unit;
  }
  return unit == 0 ? fmt::format("{} B", bytes)
                   : fmt::format("{:.1f} {}", value, units[unit]);
}

std::string FormatCount(int64_t count) {
  std::string digits = std::to_string(count < 0 ? -count : count);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out.push_back(',');
    out.push_back(digits[i]);
  }
  return count < 0 ? "-" + out : out;
}

}  // namespace jetflow::cli
