// `jetflow verify P.yaml [--instance V] [--deep] [--json]`: is the published output of a
// run instance what its manifests say it is? Reads the lake and the state store, writes
// nothing. What is compared is in docs/semantics.md ("What a resume and `jetflow verify`
// check") and at the top of sinks/parquet/lake_verifier.h.
#include <arrow/api.h>
#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "jetflow/cli/commands.h"
#include "jetflow/cli/load.h"
#include "jetflow/engine/pipeline_runner.h"

namespace jetflow::cli {

namespace {

/// A difference, with the loader whose output it concerns ("" for the state store).
struct Finding {
  std::string loader;
  ManifestDifference difference;
};

/// What one loader's published output held, for the report.
struct LoaderReport {
  std::string name;
  PublishedRunCheck check;
};

/// The differences between the state store's record of `run_id` and a run of `pipeline`,
/// instance `instance`, that succeeded.
std::vector<Finding> CheckRecord(const std::optional<RunRecord>& run, int64_t run_id,
                                 const std::string& pipeline, const std::string& instance,
                                 const std::string& store) {
  const std::string expected =
      fmt::format("run {} of {} {} succeeded", run_id, pipeline, instance);
  if (!run) return {{"", {store, "state store", expected, "no such run"}}};
  if (run->pipeline != pipeline || run->instance != instance) {
    return {{"",
             {store, "state store", expected,
              fmt::format("run {} is of {} {}", run_id, run->pipeline, run->instance)}}};
  }
  if (run->status != RunStatus::kSucceeded) {
    return {{"",
             {store, "state store", expected,
              fmt::format("run {} is {}{}", run_id, ToString(run->status),
                          run->error.empty() ? "" : ": " + run->error)}}};
  }
  return {};
}

}  // namespace

int VerifyCommand(const CommonOptions& options, bool deep) {
  auto loaded = LoadOrReport(options);
  if (!loaded) return kExitConfigError;
  auto run = ResolveRunInstance(*loaded, options.instance);
  if (!run.ok()) {
    fmt::print(stderr, "error: {}\n", run.status().message());
    return kExitConfigError;
  }
  const std::string& pipeline = loaded->pipeline.name;
  const VerifyDepth depth = deep ? VerifyDepth::kFull : VerifyDepth::kSize;

  // Every loader's output, and every side output's (quarantined rows): each publishes
  // its own manifests, run manifest and _SUCCESS, under the name its manifests carry.
  if (auto made = MakeSideLoaders(loaded->pipeline, *run); !made.ok()) {
    fmt::print(stderr, "error: {}\n", made.ToString());
    return kExitConfigError;
  }
  std::vector<std::pair<std::string, Loader*>> outputs;
  for (auto& loader : loaded->pipeline.loaders) {
    outputs.emplace_back(loader.name, loader.stage.get());
  }
  for (auto& side : loaded->pipeline.side_loaders) {
    outputs.emplace_back(side.name, side.loader.get());
  }
  std::vector<LoaderReport> reports;
  std::vector<Finding> findings;
  for (const auto& [name, loader] : outputs) {
    auto check = loader->VerifyPublished(*run, depth);
    if (!check.ok()) {
      if (check.status().IsNotImplemented()) {
        fmt::print(stderr, "warning: loader {} cannot verify its output: skipped\n",
                   name);
        continue;
      }
      fmt::print(stderr, "error: {}\n", check.status().ToString());
      return kExitRunFailed;
    }
    reports.push_back({name, std::move(*check)});
  }
  bool any_published = false;
  for (const LoaderReport& report : reports) any_published |= report.check.published;
  if (!any_published) {
    fmt::print(stderr,
               "error: run instance {} of pipeline {} is not published: no loader holds "
               "its run manifest or _SUCCESS (it never succeeded, or a run of it is in "
               "progress)\n",
               run->id(), pipeline);
    return kExitConfigError;
  }
  for (const LoaderReport& report : reports) {
    if (!report.check.published) {
      findings.push_back(
          {report.name, {run->id(), "not published", "a run manifest and _SUCCESS", ""}});
    }
    if (report.check.published && !report.check.pipeline.empty() &&
        report.check.pipeline != pipeline) {
      findings.push_back(
          {report.name, {run->id(), "pipeline", pipeline, report.check.pipeline}});
    }
    for (const ManifestDifference& difference : report.check.differences) {
      findings.push_back({report.name, difference});
    }
  }

  // The state store's view: the run that published the output succeeded. It is only
  // read: a missing store is not created.
  const std::string store_name = loaded->state.store->Describe();
  bool missing = false;
  auto state = OpenStateOrReport(*loaded, /*create=*/false, &missing);
  bool state_error = !state && !missing;
  std::vector<int64_t> run_ids;
  for (const LoaderReport& report : reports) {
    if (!report.check.published || report.check.run_id <= 0) continue;
    if (std::find(run_ids.begin(), run_ids.end(), report.check.run_id) == run_ids.end()) {
      run_ids.push_back(report.check.run_id);
    }
  }
  if (missing) {
    findings.push_back(
        {"",
         {store_name, "state store", "a record of the published run", "no state store"}});
  } else if (state) {
    for (int64_t run_id : run_ids) {
      auto record = state->GetRun(run_id);
      if (!record.ok()) {
        fmt::print(stderr, "error: {}\n", record.status().ToString());
        state_error = true;
        break;
      }
      for (Finding& finding :
           CheckRecord(*record, run_id, pipeline, run->id(), store_name)) {
        findings.push_back(std::move(finding));
      }
    }
  }

  const int code = state_error        ? kExitStateError
                   : findings.empty() ? kExitOk
                                      : kExitRunFailed;
  if (options.json) {
    nlohmann::json loaders = nlohmann::json::array();
    for (const LoaderReport& report : reports) {
      loaders.push_back({{"loader", report.name},
                         {"published", report.check.published},
                         {"run_id", report.check.run_id},
                         {"partitions", report.check.partitions},
                         {"files", report.check.files},
                         {"rows", report.check.rows},
                         {"bytes", report.check.bytes}});
    }
    nlohmann::json differences = nlohmann::json::array();
    for (const Finding& finding : findings) {
      differences.push_back({{"loader", finding.loader},
                             {"path", finding.difference.path},
                             {"what", finding.difference.what},
                             {"expected", finding.difference.expected},
                             {"found", finding.difference.found}});
    }
    fmt::print("{}\n",
               nlohmann::json{{"pipeline", pipeline},
                              {"instance", run->id()},
                              {"depth", ToString(depth)},
                              {"status", code == kExitOk          ? "ok"
                                         : code == kExitRunFailed ? "differs"
                                                                  : "state store error"},
                              {"loaders", std::move(loaders)},
                              {"differences", std::move(differences)}}
                   .dump());
    return code;
  }

  fmt::print("verify {} {} ({}): {}\n", pipeline, run->id(),
             deep ? "sizes, checksums, footers, rows, schemas" : "files and sizes",
             findings.empty() ? "everything matches"
                              : fmt::format("{} difference{}", findings.size(),
                                            findings.size() == 1 ? "" : "s"));
  for (const LoaderReport& report : reports) {
    if (!report.check.published) continue;
    fmt::print("  loader {}: run {}, {} partitions, {} files, {} rows, {}\n", report.name,
               report.check.run_id, report.check.partitions, report.check.files,
               FormatCount(report.check.rows), FormatBytes(report.check.bytes));
  }
  for (const Finding& finding : findings) {
    fmt::print("  {}{}\n", finding.loader.empty() ? "" : finding.loader + ": ",
               finding.difference.ToString());
  }
  return code;
}

}  // namespace jetflow::cli
