#include "jetflow/cli/load.h"

#include <fmt/format.h>

#include <cstdio>

#include "jetflow/engine/builtin_components.h"
#include "jetflow/state/sqlite/sqlite_state_store.h"

namespace jetflow::cli {

std::unique_ptr<LoadedPipeline> LoadOrReport(const CommonOptions& options) {
  ComponentRegistry registry;
  RegisterBuiltinComponents(registry);
  auto loaded = LoadPipelineFile(options.pipeline_file, registry);
  if (!loaded.ok()) {
    // Config diagnostics are already "file:line:col: error: ..." lines.
    fmt::print(stderr, "{}\n", loaded.status().message());
    return nullptr;
  }
  for (const auto& warning : loaded->warnings) fmt::print(stderr, "{}\n", warning);
  return std::make_unique<LoadedPipeline>(std::move(*loaded));
}

std::unique_ptr<StateStore> OpenStateOrReport(const CommonOptions& options,
                                              const LoadedPipeline& loaded) {
  std::string path = options.state_path.value_or(loaded.state.path);
  auto store = SqliteStateStore::Open(path);
  if (!store.ok()) {
    fmt::print(stderr, "error: cannot open the state store: {}\n",
               store.status().ToString());
    return nullptr;
  }
  return std::move(*store);
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
