// `jetflow validate`, `plan`, `schema` and `status`: commands that move no data.
#include <arrow/api.h>
#include <fmt/format.h>

#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>

#include "jetflow/cli/commands.h"
#include "jetflow/cli/load.h"
#include "jetflow/core/manifest.h"
#include "jetflow/engine/pipeline_runner.h"
#include "jetflow/state/worker_identity.h"

namespace jetflow::cli {

namespace {

nlohmann::json SchemaToJson(const arrow::Schema& schema) {
  nlohmann::json fields = nlohmann::json::array();
  for (const auto& field : schema.fields()) {
    fields.push_back({{"name", field->name()},
                      {"type", field->type()->ToString()},
                      {"nullable", field->nullable()}});
  }
  return fields;
}

void PrintSchema(const std::string& title, const arrow::Schema& schema) {
  fmt::print("{}\n", title);
  size_t width = 4;
  for (const auto& field : schema.fields()) width = std::max(width, field->name().size());
  for (const auto& field : schema.fields()) {
    fmt::print("  {:<{}}  {}{}\n", field->name(), width, field->type()->ToString(),
               field->nullable() ? "" : " not null");
  }
}

// Loads the pipeline and plans it as `jetflow run` would; prints errors. A consumer with
// run state (watermarks) is planned with those of the state store when it exists (it is
// then opened, not created), else as for a first run.
struct Planned {
  std::unique_ptr<LoadedPipeline> loaded;
  PipelinePlan plan;
};

int LoadAndPlan(const CommonOptions& options, Planned* out) {
  out->loaded = LoadOrReport(options);
  if (!out->loaded) return kExitConfigError;
  auto run = ResolveRunInstance(*out->loaded, options.instance);
  if (!run.ok()) {
    fmt::print(stderr, "error: {}\n", run.status().message());
    return kExitConfigError;
  }
  auto plan = PipelineRunner::Plan(out->loaded->pipeline, *run, /*state=*/nullptr,
                                   PlanScope::kPartitionsIfStateless);
  if (plan.ok() && !plan->partitions_planned) {
    bool missing = false;
    std::unique_ptr<StateStore> state =
        OpenStateOrReport(*out->loaded, /*create=*/false, &missing);
    if (!state && !missing) return kExitStateError;
    plan = PipelineRunner::Plan(out->loaded->pipeline, *run, state.get());
  }
  if (!plan.ok()) {
    fmt::print(stderr, "error: plan failed, nothing was moved:\n{}\n",
               plan.status().message());
    return PlanFailureExitCode(plan.status());
  }
  out->plan = std::move(*plan);
  for (const std::string& warning : out->plan.run_state.warnings) {
    fmt::print(stderr, "warning: {}\n", warning);
  }
  return kExitOk;
}

// The value changes a committed partition's manifests record (every manifest of a
// partition carries the same; core/value_changes.h); none for other partitions or
// unreadable manifests (`jetflow verify` reports those).
std::vector<ValueChangeCount> ValueChangesOf(const PartitionRecord& partition) {
  if (partition.status != PartitionStatus::kCommitted) return {};
  auto manifests = nlohmann::json::parse(partition.manifests_json, nullptr,
                                         /*allow_exceptions=*/false);
  if (!manifests.is_array() || manifests.empty()) return {};
  auto manifest = PartitionManifest::FromJson(manifests.front().dump());
  if (!manifest.ok()) return {};
  return manifest->value_changes;
}

}  // namespace

int ValidateCommand(const CommonOptions& options) {
  Planned planned;
  int code = LoadAndPlan(options, &planned);
  if (code != kExitOk) return code;
  if (options.json) {
    fmt::print("{}\n", nlohmann::json{{"valid", true},
                                      {"partitions", planned.plan.partitions.size()}}
                           .dump());
  } else {
    fmt::print("{}: valid ({} loader(s), {} partition(s) planned for {})\n",
               options.pipeline_file, planned.loaded->pipeline.loaders.size(),
               planned.plan.partitions.size(), planned.plan.run.id());
  }
  return kExitOk;
}

int PlanCommand(const CommonOptions& options) {
  Planned planned;
  int code = LoadAndPlan(options, &planned);
  if (code != kExitOk) return code;
  const PipelinePlan& plan = planned.plan;
  if (options.json) {
    nlohmann::json partitions = nlohmann::json::array();
    for (const auto& p : plan.partitions) {
      partitions.push_back({{"id", p.id},
                            {"description", p.description},
                            {"expected_rows", p.expected_rows}});
    }
    fmt::print("{}\n", nlohmann::json{{"pipeline", planned.loaded->pipeline.name},
                                      {"instance", plan.run.id()},
                                      {"partitions", partitions},
                                      {"warnings", plan.run_state.warnings}}
                           .dump());
    return kExitOk;
  }
  fmt::print("pipeline {}, run instance {}: {} partition(s)\n",
             planned.loaded->pipeline.name, plan.run.id(), plan.partitions.size());
  for (const auto& p : plan.partitions) {
    std::string rows = p.expected_rows >= 0 ? FormatCount(p.expected_rows) + " rows" : "";
    fmt::print("  {:<28} {:<40} {}\n", p.id, p.description, rows);
  }
  return kExitOk;
}

int SchemaCommand(const CommonOptions& options) {
  Planned planned;
  int code = LoadAndPlan(options, &planned);
  if (code != kExitOk) return code;
  const PipelinePlan& plan = planned.plan;
  const auto& loaders = planned.loaded->pipeline.loaders;
  if (options.json) {
    nlohmann::json outputs = nlohmann::json::object();
    for (size_t i = 0; i < loaders.size(); ++i) {
      outputs[loaders[i].name] = SchemaToJson(*plan.output_schemas[i]);
    }
    fmt::print("{}\n", nlohmann::json{{"source", SchemaToJson(*plan.source_schema)},
                                      {"stream", SchemaToJson(*plan.stream_schema)},
                                      {"outputs", outputs}}
                           .dump());
    return kExitOk;
  }
  PrintSchema("source schema:", *plan.source_schema);
  if (!planned.loaded->pipeline.transformers.empty()) {
    PrintSchema("after transformers:", *plan.stream_schema);
  }
  for (size_t i = 0; i < loaders.size(); ++i) {
    PrintSchema("output schema of loader '" + loaders[i].name + "':",
                *plan.output_schemas[i]);
  }
  return kExitOk;
}

// For a run the store says is running: "" if a process may still be running it, else
// why it is not (every partition it was running belongs to a process of this machine
// that has ended: killed, or the machine rebooted). Processes of other machines are
// given the benefit of the doubt: their leases tell.
std::string WhyNotRunning(StateStore& state, const RunRecord& run) {
  if (run.status != RunStatus::kRunning) return "";
  auto partitions = state.ListPartitions(run.run_id);
  if (!partitions.ok()) return "";
  std::set<std::string> gone;
  for (const PartitionRecord& partition : *partitions) {
    if (partition.status != PartitionStatus::kRunning) continue;
    if (CheckWorkerLiveness(partition.owner) != WorkerLiveness::kDead) return "";
    gone.insert(DescribeWorker(partition.owner));
  }
  if (gone.empty()) return "";
  std::string processes;
  for (const std::string& process : gone)
    processes += (processes.empty() ? "" : ", ") + process;
  return "interrupted: no process is running it (" + processes +
         " ended); run it again to resume";
}

int StatusCommand(const CommonOptions& options, std::optional<int64_t> run_id,
                  int limit) {
  // Stages are not built: status reads the store only, and needs no source password.
  auto loaded = LoadOrReport(options, /*build_stages=*/false);
  if (!loaded) return kExitConfigError;
  // Only reads: a missing store is not created, a read-only one is fine.
  bool missing = false;
  auto state = OpenStateOrReport(*loaded, /*create=*/false, &missing);
  if (missing) {
    if (run_id) {
      fmt::print(stderr, "error: no run {}: there is no state store at {} yet\n", *run_id,
                 loaded->state.store->Describe());
      return kExitConfigError;
    }
    if (options.json) {
      fmt::print("{}\n", nlohmann::json::array().dump());
    } else {
      fmt::print("no runs of {} yet (no state store at {})\n", loaded->pipeline.name,
                 loaded->state.store->Describe());
    }
    return kExitOk;
  }
  if (!state) return kExitStateError;
  const std::string& pipeline = loaded->pipeline.name;

  if (run_id) {
    auto run = state->GetRun(*run_id);
    if (!run.ok()) {
      fmt::print(stderr, "error: {}\n", run.status().ToString());
      return kExitStateError;
    }
    if (!*run) {
      fmt::print(stderr, "error: no run {} in the state store\n", *run_id);
      return kExitConfigError;
    }
    auto partitions = state->ListPartitions(*run_id);
    if (!partitions.ok()) {
      fmt::print(stderr, "error: {}\n", partitions.status().ToString());
      return kExitStateError;
    }
    // Per-rule counts (validation, cast policies, filters, de-duplication).
    auto rules = state->ListRuleCounts(*run_id);
    if (!rules.ok() && !rules.status().IsNotImplemented()) {
      fmt::print(stderr, "error: {}\n", rules.status().ToString());
      return kExitStateError;
    }
    std::vector<RuleCountRecord> rule_counts =
        rules.ok() ? std::move(*rules) : std::vector<RuleCountRecord>{};
    const std::string not_running = WhyNotRunning(*state, **run);
    if (options.json) {
      nlohmann::json rows = nlohmann::json::array();
      for (const auto& p : *partitions) {
        nlohmann::json partition_rules = nlohmann::json::array();
        for (const auto& rule : rule_counts) {
          if (rule.partition_id != p.partition_id) continue;
          partition_rules.push_back({{"stage", rule.stage},
                                     {"rule", rule.rule},
                                     {"action", rule.action},
                                     {"rows", rule.rows}});
        }
        nlohmann::json partition_changes = nlohmann::json::array();
        for (const auto& change : ValueChangesOf(p)) {
          partition_changes.push_back({{"stage", change.stage},
                                       {"column", change.column},
                                       {"change", change.change},
                                       {"action", change.action},
                                       {"values", change.values},
                                       {"detail", change.detail}});
        }
        rows.push_back({{"partition", p.partition_id},
                        {"status", ToString(p.status)},
                        {"attempts", p.attempts},
                        {"rows_read", p.rows_read},
                        {"rows_written", p.rows_written},
                        {"rows_dropped", p.rows_dropped},
                        {"rows_quarantined", p.rows_quarantined},
                        {"rules", std::move(partition_rules)},
                        {"value_changes", std::move(partition_changes)},
                        {"bytes_written", p.bytes_written},
                        {"seconds", p.seconds},
                        {"worker", p.owner},
                        {"error", p.error}});
      }
      fmt::print("{}\n", nlohmann::json{{"run_id", *run_id},
                                        {"status", ToString((*run)->status)},
                                        {"interrupted", !not_running.empty()},
                                        {"partitions", rows}}
                             .dump());
      return kExitOk;
    }
    fmt::print("run {} of {} {}: {}{}\n", *run_id, (*run)->pipeline, (*run)->instance,
               ToString((*run)->status), not_running.empty() ? "" : " — " + not_running);
    fmt::print("  {:<28} {:<10} {:>8} {:>14} {:>12} {:>8}\n", "partition", "status",
               "attempts", "rows", "bytes", "seconds");
    for (const auto& p : *partitions) {
      fmt::print("  {:<28} {:<10} {:>8} {:>14} {:>12} {:>8.2f}{}\n", p.partition_id,
                 ToString(p.status), p.attempts, FormatCount(p.rows_written),
                 FormatBytes(p.bytes_written), p.seconds,
                 p.error.empty() ? "" : "  " + p.error);
    }
    if (!rule_counts.empty()) {
      fmt::print("  {:<28} {:<36} {:<10} {:>14}\n", "partition", "rule", "action",
                 "rows");
      for (const auto& rule : rule_counts) {
        fmt::print("  {:<28} {:<36} {:<10} {:>14}\n", rule.partition_id,
                   rule.stage + "." + rule.rule, rule.action, FormatCount(rule.rows));
      }
    }
    bool header = false;
    for (const auto& p : *partitions) {
      for (const auto& change : ValueChangesOf(p)) {
        if (!header) {
          fmt::print("  {:<28} {:<36} {:<10} {:>14}\n", "partition", "changed values",
                     "action", "values");
          header = true;
        }
        fmt::print("  {:<28} {:<36} {:<10} {:>14}\n", p.partition_id,
                   change.stage + "." + change.column + ": " + change.change,
                   change.action, FormatCount(change.values));
      }
    }
    return kExitOk;
  }

  auto runs = state->ListRuns(pipeline, limit);
  if (!runs.ok()) {
    fmt::print(stderr, "error: {}\n", runs.status().ToString());
    return kExitStateError;
  }
  if (options.json) {
    nlohmann::json rows = nlohmann::json::array();
    for (const auto& r : *runs) {
      rows.push_back({{"run_id", r.run_id},
                      {"instance", r.instance},
                      {"status", ToString(r.status)},
                      {"interrupted", !WhyNotRunning(*state, r).empty()},
                      {"started_at", r.started_at},
                      {"finished_at", r.finished_at},
                      {"rows_written", r.rows_written},
                      {"bytes_written", r.bytes_written},
                      {"error", r.error}});
    }
    fmt::print("{}\n", rows.dump());
    return kExitOk;
  }
  fmt::print("{:>6}  {:<24} {:<11} {:<25} {:>14} {:>12}\n", "run", "instance", "status",
             "started", "rows", "bytes");
  for (const auto& r : *runs) {
    const bool interrupted = !WhyNotRunning(*state, r).empty();
    fmt::print("{:>6}  {:<24} {:<11} {:<25} {:>14} {:>12}\n", r.run_id, r.instance,
               interrupted ? "interrupted" : ToString(r.status), r.started_at,
               FormatCount(r.rows_written), FormatBytes(r.bytes_written));
  }
  return kExitOk;
}

}  // namespace jetflow::cli
