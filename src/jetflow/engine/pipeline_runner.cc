#include "jetflow/engine/pipeline_runner.h"

#include <arrow/api.h>
#include <arrow/memory_pool.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <xxhash.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <thread>

#include "jetflow/core/error.h"
#include "jetflow/core/manifest.h"
#include "jetflow/engine/lease_keeper.h"
#include "jetflow/engine/partition_pool.h"
#include "jetflow/state/worker_identity.h"

namespace jetflow {

int64_t PeakRssBytes() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) != 0) continue;
    int64_t kib = 0;
    if (std::sscanf(line.c_str() + 6, "%ld", &kib) != 1) return 0;
    return kib * 1024;
  }
  return 0;
}

namespace {

using Clock = std::chrono::steady_clock;

/// "YYYY-MM-DDTHH:MM:SS[.mmm]Z" (the state store's timestamps) -> microseconds since the
/// epoch; 0 if malformed.
int64_t IsoMillisToMicros(const std::string& text) {
  std::tm tm{};
  int millis = 0;
  int parsed = std::sscanf(text.c_str(), "%d-%d-%dT%d:%d:%d.%d", &tm.tm_year, &tm.tm_mon,
                           &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &millis);
  if (parsed < 6) return 0;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return static_cast<int64_t>(timegm(&tm)) * 1000000 + int64_t{millis} * 1000;
}

int HardwareThreads() { return std::max(1u, std::thread::hardware_concurrency()); }

bool IsValidPartitionId(const std::string& id) {
  if (id.empty() || !std::isalpha(static_cast<unsigned char>(id[0]))) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' ||
           c == '-';
  });
}

arrow::Result<std::vector<PartitionManifest>> ManifestsFromJson(const std::string& json) {
  std::vector<PartitionManifest> manifests;
  if (json.empty()) return manifests;
  auto parsed = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (!parsed.is_array()) {
    return arrow::Status::SerializationError(
        "state store holds a malformed manifest list");
  }
  for (const auto& element : parsed) {
    ARROW_ASSIGN_OR_RAISE(auto manifest, PartitionManifest::FromJson(element.dump()));
    manifests.push_back(std::move(manifest));
  }
  return manifests;
}

/// Everything that shapes the partitions' output: the configuration (as config/ saw it)
/// and the schemas planned from it. A resumed run keeps a committed partition only if
/// this is unchanged.
std::string PlanFingerprint(const Pipeline& pipeline, const PipelinePlan& plan) {
  std::string text = "jetflow.plan/1\n" + pipeline.config_fingerprint + "\n" +
                     SchemaFingerprint(*plan.source_schema) + "\n";
  for (const auto& schema : plan.output_schemas) {
    text += (schema ? SchemaFingerprint(*schema) : "-") + "\n";
  }
  for (const auto& side : pipeline.side_loaders) text += side.name + "\n";
  const XXH128_hash_t hash = XXH3_128bits(text.data(), text.size());
  return fmt::format("xxh3-128:{:016x}{:016x}", hash.high64, hash.low64);
}

/// The pipeline's watermarks in the state store, read-only, for Consumer::PlanRunState.
class StoreWatermarks : public WatermarkReader {
 public:
  StoreWatermarks(StateStore& state, std::string pipeline)
      : state_(state), pipeline_(std::move(pipeline)) {}
  arrow::Result<std::optional<std::string>> Get(const std::string& name) override {
    return state_.GetWatermark(pipeline_, name);
  }

 private:
  StateStore& state_;
  std::string pipeline_;
};

/// Steps 3-5 of a run (the top of pipeline_runner.h), once it is recorded: attempts,
/// finish, and the end of the record on every path.
class RecordedRun {
 public:
  RecordedRun(Pipeline& pipeline, const PipelinePlan& plan, StateStore& state,
              const RunOptions& options, RunRecord record, std::string worker)
      : pipeline_(pipeline),
        plan_(plan),
        state_(state),
        options_(options),
        record_(std::move(record)),
        worker_(std::move(worker)),
        poll_interval_(std::clamp<std::chrono::milliseconds>(
            options.lease / 4, std::chrono::milliseconds(10),
            std::chrono::milliseconds(1000))) {}

  arrow::Result<RunSummary> Execute(Clock::time_point started) {
    // The caller's stop request becomes the run's; the run's own reasons (a permanent
    // failure, a lost lease) stay inside it.
    Cancellation::Registration interrupt;
    if (options_.cancellation != nullptr) {
      interrupt = options_.cancellation->OnCancel(
          [this](const arrow::Status& reason) { cancellation_.Cancel(reason); });
    }
    arrow::Status run_status;
    {
      LeaseKeeper lease(state_, record_.run_id, worker_, options_.lease, cancellation_);
      run_status = Work(lease);
    }
    EndRecord(run_status);
    if (!refused_.ok()) return refused_;
    return Summarize(run_status, started);
  }

 private:
  bool interrupted() const {
    return options_.cancellation != nullptr && options_.cancellation->cancelled();
  }

  /// Keeps the first error of the state store: it makes Run() fail (exit code 3) once
  /// the record has been ended as well as it can be.
  arrow::Status StateCall(const arrow::Status& status, const std::string& what) {
    if (status.ok() || IsLeaseLost(status)) return status;
    arrow::Status with_context = AddContext(status, "state store, " + what);
    if (state_error_.ok()) state_error_ = with_context;
    return with_context;
  }

  /// A worker that joined starts attempts only once the worker that began the run has
  /// prepared the output: Loader::BeginRun clears what earlier attempts of the run
  /// instance staged, which would include what this worker stages meanwhile.
  arrow::Status WaitUntilOpen() {
    bool said = false;
    for (;;) {
      auto open = state_.IsRunOpen(record_.run_id, worker_);
      ARROW_RETURN_NOT_OK(StateCall(open.status(), "waiting for the run to be opened"));
      if (*open) return arrow::Status::OK();
      if (!said) {
        spdlog::info(
            "run {} of {}: waiting for the process that began it to prepare its "
            "output",
            record_.run_id, plan_.run.id());
        said = true;
      }
      if (!cancellation_.WaitFor(poll_interval_)) return cancellation_.reason();
    }
  }

  arrow::Status Work(LeaseKeeper& lease) {
    if (!record_.joined) {
      for (auto& loader : pipeline_.loaders) {
        arrow::Status began =
            AddContext(loader.stage->BeginRun(RunContextOf()), "loader " + loader.name);
        // A loader that refuses its target (Invalid: e.g. a lake folder holding what
        // jetflow did not write) has changed nothing: like a plan error, Run() returns
        // it.
        if (began.IsInvalid()) refused_ = began;
        ARROW_RETURN_NOT_OK(began);
      }
      for (auto& side : pipeline_.side_loaders) {
        ARROW_RETURN_NOT_OK(AddContext(side.loader->BeginRun(RunContextOf()),
                                       "side output " + side.name));
      }
      ARROW_RETURN_NOT_OK(StateCall(state_.OpenRun(record_.run_id), "opening the run"));
    } else {
      ARROW_RETURN_NOT_OK(WaitUntilOpen());
    }
    if (record_.resumed) ARROW_RETURN_NOT_OK(CheckKeptPartitions());
    auto records = state_.ListPartitions(record_.run_id);
    ARROW_RETURN_NOT_OK(StateCall(records.status(), "listing partitions"));
    int64_t not_committed = 0;
    for (const auto& partition : *records) {
      if (partition.status == PartitionStatus::kCommitted) {
        ++kept_;
      } else {
        ++not_committed;
      }
    }
    if (options_.progress) {
      options_.progress->partitions_total = static_cast<int64_t>(records->size());
      options_.progress->partitions_done = kept_;
    }
    if (record_.joined) {
      // Who runs it: the owners of its running partitions.
      std::set<std::string> others;
      for (const auto& partition : *records) {
        if (partition.status != PartitionStatus::kRunning || partition.owner == worker_) {
          continue;
        }
        others.insert(DescribeWorker(partition.owner));
      }
      std::string who;
      for (const std::string& other : others) who += (who.empty() ? "" : ", ") + other;
      spdlog::info(
          "instance {} is being run by {} since {} (run {}): joining it; {} of {} "
          "partitions committed",
          plan_.run.id(), who.empty() ? "other processes" : who, record_.started_at,
          record_.run_id, kept_, records->size());
    } else if (record_.resumed) {
      spdlog::info("resuming run {} of {}: {} of {} partitions already committed",
                   record_.run_id, plan_.run.id(), kept_, records->size());
    }
    if (record_.partitions_changed > 0) {
      spdlog::warn(
          "{} partitions committed by the interrupted run were written under another "
          "configuration of pipeline {} (it changed since, or its schemas did): they are "
          "redone",
          record_.partitions_changed, pipeline_.name);
    }

    const EngineOptions& engine = pipeline_.engine;
    const int threads = std::max<int>(
        1, std::min<int64_t>(engine.partitions_in_flight > 0 ? engine.partitions_in_flight
                                                             : HardwareThreads(),
                             std::max<int64_t>(not_committed, 1)));
    PoolRun pool_run{record_.run_id, IsoMillisToMicros(record_.started_at), worker_,
                     static_cast<int64_t>(records->size()), poll_interval_};
    pool_.emplace(pipeline_, plan_, state_, options_.progress, pool_run, cancellation_,
                  lease);
    while (true) {
      ARROW_RETURN_NOT_OK(pool_->Execute(threads));
      auto mine = state_.ClaimRunFinish(record_.run_id, worker_);
      ARROW_RETURN_NOT_OK(StateCall(mine.status(), "claiming the run's finish"));
      if (*mine) return FinishRun(lease);
      auto run = state_.GetRun(record_.run_id);
      ARROW_RETURN_NOT_OK(StateCall(run.status(), "reading the run"));
      if (!run->has_value() || (*run)->status != RunStatus::kRunning) {
        return arrow::Status::OK();  // ended by another process
      }
      // Another process finishes the run or still holds partitions: wait, look again.
      if (!cancellation_.WaitFor(poll_interval_)) return cancellation_.reason();
    }
  }

  RunContext RunContextOf() const { return {pipeline_.name, plan_.run, record_.run_id}; }

  /// The loader (or side output's loader) that wrote `manifest`; nullptr if the
  /// pipeline has none of that name.
  Loader* LoaderOf(const PartitionManifest& manifest) const {
    for (const auto& loader : pipeline_.loaders) {
      if (loader.name == manifest.loader) return loader.stage.get();
    }
    for (const auto& side : pipeline_.side_loaders) {
      if (side.name == manifest.loader) return side.loader.get();
    }
    return nullptr;
  }

  /// Why committed `partition` cannot be kept ("" if it can): every loader checks the
  /// output its manifest describes. An error: the output could not be read at all.
  arrow::Result<std::string> DamageOf(const PartitionRecord& partition,
                                      VerifyDepth depth) const {
    auto manifests = ManifestsFromJson(partition.manifests_json);
    if (!manifests.ok()) {
      return "its manifests in the state store are unreadable: " +
             manifests.status().message();
    }
    std::string damage;
    for (const PartitionManifest& manifest : *manifests) {
      Loader* loader = LoaderOf(manifest);
      if (loader == nullptr) {
        return "it was written by loader " + manifest.loader +
               ", which the pipeline no longer has";
      }
      auto differences = loader->VerifyCommitted(manifest, depth);
      JETFLOW_RETURN_NOT_OK_CTX(differences.status(), "loader " + manifest.loader);
      constexpr size_t kShown = 5;
      for (size_t i = 0; i < differences->size() && i < kShown; ++i) {
        damage += (damage.empty() ? "" : "; ") + (*differences)[i].ToString();
      }
      if (differences->size() > kShown) {
        damage += fmt::format("; and {} more differences", differences->size() - kShown);
      }
    }
    return damage;
  }

  /// Step 2, resuming: a committed partition is kept only if its output is still as its
  /// manifests describe. Partitions are checked concurrently (as many at once as
  /// partitions run); those that differ are reopened, with the reason, to be redone. No
  /// other worker can finish the run meanwhile: a resume reserves the finish
  /// (StateStore::BeginRun).
  arrow::Status CheckKeptPartitions() {
    auto records = state_.ListPartitions(record_.run_id);
    ARROW_RETURN_NOT_OK(StateCall(records.status(), "listing partitions"));
    std::vector<const PartitionRecord*> committed;
    for (const PartitionRecord& partition : *records) {
      if (partition.status == PartitionStatus::kCommitted)
        committed.push_back(&partition);
    }
    if (committed.empty()) return arrow::Status::OK();
    const VerifyDepth depth = pipeline_.engine.verify_on_resume;
    spdlog::info(
        "checking the output of the {} partitions committed by run {} against "
        "their manifests ({})",
        committed.size(), record_.run_id, ToString(depth));
    std::vector<arrow::Result<std::string>> damage(committed.size(), std::string());
    std::atomic<size_t> next{0};
    auto check = [&] {
      for (size_t i = next++; i < committed.size(); i = next++) {
        if (cancellation_.cancelled()) return;
        damage[i] = DamageOf(*committed[i], depth);
      }
    };
    const EngineOptions& engine = pipeline_.engine;
    const size_t threads = std::min<size_t>(
        committed.size(), engine.partitions_in_flight > 0 ? engine.partitions_in_flight
                                                          : HardwareThreads());
    {
      std::vector<std::thread> helpers;
      for (size_t t = 1; t < threads; ++t) helpers.emplace_back(check);
      check();
      for (auto& helper : helpers) helper.join();
    }
    if (cancellation_.cancelled()) return cancellation_.reason();
    for (size_t i = 0; i < committed.size(); ++i) {
      const std::string& id = committed[i]->partition_id;
      JETFLOW_RETURN_NOT_OK_CTX(damage[i].status(), "checking committed partition " + id +
                                                        " of " + plan_.run.id());
      if (damage[i]->empty()) continue;
      spdlog::warn(
          "partition {} of {} is redone: its output is not as its manifest "
          "describes: {}",
          id, plan_.run.id(), *damage[i]);
      ARROW_RETURN_NOT_OK(
          StateCall(state_.ReopenPartition(
                        record_.run_id, id, worker_,
                        "redone: its output differed from its manifest: " + *damage[i]),
                    "reopening partition " + id));
      ++damaged_;
    }
    return arrow::Status::OK();
  }

  /// Step 4: this process won the finish.
  arrow::Status FinishRun(LeaseKeeper& lease) {
    auto records = state_.ListPartitions(record_.run_id);
    ARROW_RETURN_NOT_OK(StateCall(records.status(), "listing partitions"));
    std::vector<std::vector<PartitionManifest>> per_loader(pipeline_.loaders.size());
    std::vector<std::vector<PartitionManifest>> per_side(pipeline_.side_loaders.size());
    for (const auto& partition : *records) {
      if (partition.status != PartitionStatus::kCommitted) {
        return arrow::Status::Invalid("partition ", partition.partition_id,
                                      " is not committed at the end of the run");
      }
      ARROW_ASSIGN_OR_RAISE(auto manifests, ManifestsFromJson(partition.manifests_json));
      for (auto& manifest : manifests) {
        for (size_t i = 0; i < pipeline_.loaders.size(); ++i) {
          if (pipeline_.loaders[i].name == manifest.loader)
            per_loader[i].push_back(manifest);
        }
        for (size_t i = 0; i < pipeline_.side_loaders.size(); ++i) {
          if (pipeline_.side_loaders[i].name == manifest.loader)
            per_side[i].push_back(manifest);
        }
      }
    }
    // Every partition of a loader must have been written with one schema: a run whose
    // manifests disagree is never published.
    for (size_t i = 0; i < pipeline_.loaders.size(); ++i) {
      ARROW_RETURN_NOT_OK(CheckOneSchema(pipeline_.loaders[i].name, per_loader[i]));
    }
    for (size_t i = 0; i < pipeline_.side_loaders.size(); ++i) {
      ARROW_RETURN_NOT_OK(CheckOneSchema(pipeline_.side_loaders[i].name, per_side[i]));
    }
    const RunContext run_context = RunContextOf();
    for (size_t i = 0; i < pipeline_.loaders.size(); ++i) {
      ARROW_RETURN_NOT_OK(
          AddContext(pipeline_.loaders[i].stage->FinishRun(run_context, per_loader[i]),
                     "loader " + pipeline_.loaders[i].name + ", finishing run"));
    }
    for (size_t i = 0; i < pipeline_.side_loaders.size(); ++i) {
      ARROW_RETURN_NOT_OK(AddContext(
          pipeline_.side_loaders[i].loader->FinishRun(run_context, per_side[i]),
          "side output " + pipeline_.side_loaders[i].name + ", finishing run"));
    }
    ARROW_RETURN_NOT_OK(lease.Confirm());
    // The watermarks advance in the same transaction that marks the run succeeded. A
    // crash before it resumes the run, which finds every partition committed and
    // finishes again.
    ARROW_RETURN_NOT_OK(StateCall(state_.FinishRun(record_.run_id, RunStatus::kSucceeded,
                                                   "", plan_.run_state.at_commit),
                                  "finishing the run"));
    finished_here_ = true;
    return arrow::Status::OK();
  }

  static arrow::Status CheckOneSchema(const std::string& loader,
                                      const std::vector<PartitionManifest>& manifests) {
    for (const PartitionManifest& manifest : manifests) {
      if (manifest.schema_fingerprint != manifests.front().schema_fingerprint) {
        return arrow::Status::Invalid(
            "the partitions of loader ", loader,
            " were written with different schemas: ", manifests.front().partition_id,
            " with ", manifests.front().schema_fingerprint, ", ", manifest.partition_id,
            " with ", manifest.schema_fingerprint,
            "; the run is not published (run it with --restart)");
      }
    }
    return arrow::Status::OK();
  }

  /// Step 5: the run record ends on every path. Failures of the store are kept for
  /// Run()'s result; nothing here stops the others from being tried.
  void EndRecord(const arrow::Status& run_status) {
    std::string reason = "this process stopped";
    if (!run_status.ok()) {
      reason = run_status.ToString();
      // An interrupted process, or one whose claims passed to others, leaves the run to
      // the others; any other failure is the run's.
      if (!IsLeaseLost(run_status) && !interrupted()) {
        arrow::Status failed =
            state_.FinishRun(record_.run_id, RunStatus::kFailed, reason, {});
        // Invalid: the run had already ended (another process failed or restarted it).
        if (!failed.IsInvalid()) (void)StateCall(failed, "marking the run failed");
      }
    }
    auto left = state_.LeaveRun(record_.run_id, worker_, reason);
    (void)StateCall(left.status(), "leaving the run");
  }

  arrow::Result<RunSummary> Summarize(const arrow::Status& run_status,
                                      Clock::time_point started) {
    RunSummary summary;
    summary.run_id = record_.run_id;
    summary.resumed = record_.resumed;
    summary.joined = record_.joined;
    summary.partitions_changed = record_.partitions_changed;
    summary.partitions_damaged = damaged_;
    summary.partitions_kept = kept_;
    summary.warnings = plan_.run_state.warnings;
    if (pool_) {
      summary.attempts_retried = pool_->attempts_retried();
      summary.peak_budget_bytes = pool_->peak_budget_bytes();
    }
    ARROW_RETURN_NOT_OK(state_error_);
    // Totals come from the state store, so a resumed run counts the partitions it kept
    // and a joined one those of the other processes, and `status` shows the same.
    ARROW_ASSIGN_OR_RAISE(auto records, state_.ListPartitions(record_.run_id));
    summary.partitions_total = static_cast<int64_t>(records.size());
    std::set<std::string> committed;
    for (const auto& partition : records) {
      if (partition.status == PartitionStatus::kFailed) ++summary.partitions_failed;
      // A partition that did not commit wrote nothing (its attempt's rows were aborted),
      // as the store's run totals count it.
      if (partition.status != PartitionStatus::kCommitted) continue;
      committed.insert(partition.partition_id);
      summary.rows_read += partition.rows_read;
      summary.rows_written += partition.rows_written;
      summary.rows_dropped += partition.rows_dropped;
      summary.rows_quarantined += partition.rows_quarantined;
      summary.bytes_written += partition.bytes_written;
      // Every manifest of a partition carries the same counts. (One the store cannot
      // parse fails FinishRun and `jetflow verify`; the summary reports what it can.)
      auto manifests = ManifestsFromJson(partition.manifests_json);
      if (!manifests.ok() || manifests->empty()) continue;
      for (const ValueChangeCount& change : manifests->front().value_changes) {
        AddValueChange(change, &summary.value_changes);
      }
    }
    auto rules = state_.ListRuleCounts(record_.run_id);
    if (rules.ok()) {
      for (const RuleCountRecord& rule : *rules) {
        if (committed.count(rule.partition_id) == 0) continue;
        auto same = std::find_if(summary.rules.begin(), summary.rules.end(),
                                 [&](const RuleCountRecord& r) {
                                   return r.stage == rule.stage && r.rule == rule.rule;
                                 });
        if (same == summary.rules.end()) {
          summary.rules.push_back({"", rule.stage, rule.rule, rule.action, rule.rows});
        } else {
          same->rows += rule.rows;
        }
      }
    } else if (!rules.status().IsNotImplemented()) {
      return rules.status();
    }
    ARROW_ASSIGN_OR_RAISE(auto run, state_.GetRun(record_.run_id));
    summary.succeeded = run.has_value() && run->status == RunStatus::kSucceeded;
    if (!summary.succeeded) {
      summary.error = !run_status.ok() ? run_status.ToString()
                      : run.has_value() && !run->error.empty()
                          ? "the run failed in another process: " + run->error
                          : "the run did not finish";
    }
    summary.seconds = std::chrono::duration<double>(Clock::now() - started).count();
    summary.peak_rss_bytes = PeakRssBytes();
    summary.peak_arrow_pool_bytes = arrow::default_memory_pool()->max_memory();
    return summary;
  }

  Pipeline& pipeline_;
  const PipelinePlan& plan_;
  StateStore& state_;
  const RunOptions& options_;
  const RunRecord record_;
  const std::string worker_;
  const std::chrono::milliseconds poll_interval_;
  Cancellation cancellation_;
  std::optional<PartitionPool> pool_;
  int64_t kept_ = 0;
  int64_t damaged_ = 0;
  bool finished_here_ = false;
  arrow::Status state_error_;
  arrow::Status refused_;  // a loader's BeginRun said Invalid
};

}  // namespace

namespace {

std::string SideOutputWhere(const Pipeline& pipeline, size_t transformer,
                            const SideOutputSpec& spec) {
  return "pipeline " + pipeline.name + ", stage transformer " +
         pipeline.transformers[transformer].name + ", side output " + spec.name;
}

}  // namespace

arrow::Status MakeSideLoaders(Pipeline& pipeline, const RunInstance& run) {
  pipeline.side_loaders.clear();
  for (size_t t = 0; t < pipeline.transformers.size(); ++t) {
    auto& transformer = pipeline.transformers[t];
    auto specs = transformer.stage->side_outputs();
    for (size_t o = 0; o < specs.size(); ++o) {
      const std::string where = SideOutputWhere(pipeline, t, specs[o]);
      if (!pipeline.side_output_loader) {
        return arrow::Status::Invalid("no loader for side outputs is configured (", where,
                                      ")");
      }
      const std::string name = transformer.name + "." + specs[o].name;
      // One dataset per transformer under the configured root: transformers' side
      // outputs have different schemas and may share a root.
      auto made = pipeline.side_output_loader(
          name, specs[o].path + "/" + transformer.name, run.key);
      JETFLOW_RETURN_NOT_OK_CTX(made.status(), where);
      pipeline.side_loaders.push_back({t, static_cast<int>(o), name, std::move(*made)});
    }
  }
  return arrow::Status::OK();
}

arrow::Result<PipelinePlan> PipelineRunner::Plan(Pipeline& pipeline,
                                                 const RunInstance& run,
                                                 StateStore* state, PlanScope scope) {
  PipelinePlan plan;
  plan.run = run;
  plan.planned_with_state = state != nullptr;
  auto source_schema = pipeline.consumer->InferSchema();
  JETFLOW_RETURN_NOT_OK_CTX(source_schema.status(),
                            "pipeline " + pipeline.name + ", stage consumer");
  plan.source_schema = *source_schema;

  std::shared_ptr<arrow::Schema> schema = plan.source_schema;
  for (auto& transformer : pipeline.transformers) {
    auto bound = transformer.stage->Bind(schema);
    JETFLOW_RETURN_NOT_OK_CTX(
        bound.status(),
        "pipeline " + pipeline.name + ", stage transformer " + transformer.name);
    schema = *bound;
  }
  plan.stream_schema = schema;

  // Side outputs (quarantines) get a loader each, bound to their schema now.
  ARROW_RETURN_NOT_OK(MakeSideLoaders(pipeline, run));
  for (auto& side : pipeline.side_loaders) {
    const SideOutputSpec spec =
        pipeline.transformers[side.transformer].stage->side_outputs()[side.output];
    const std::string where = SideOutputWhere(pipeline, side.transformer, spec);
    JETFLOW_RETURN_NOT_OK_CTX(side.loader->Bind(spec.schema).status(), where);
    JETFLOW_RETURN_NOT_OK_CTX(side.loader->CheckRunInstance(run), where);
  }

  // Bind every loader even after one fails, so the user sees every mismatch at once.
  std::string loader_errors;
  for (auto& loader : pipeline.loaders) {
    auto bound = loader.stage->Bind(schema);
    arrow::Status fits =
        bound.ok() ? loader.stage->CheckRunInstance(run) : bound.status();
    if (!fits.ok()) {
      loader_errors += (loader_errors.empty() ? "" : "\n") + std::string("loader '") +
                       loader.name + "': " + fits.message();
      plan.output_schemas.push_back(nullptr);
    } else {
      plan.output_schemas.push_back(*bound);
    }
  }
  if (!loader_errors.empty()) return arrow::Status::Invalid(loader_errors);

  std::optional<StoreWatermarks> watermarks;
  if (state != nullptr) watermarks.emplace(*state, pipeline.name);
  auto run_state =
      pipeline.consumer->PlanRunState(run, watermarks ? &*watermarks : nullptr);
  JETFLOW_RETURN_NOT_OK_CTX(
      run_state.status(),
      "pipeline " + pipeline.name + ", planning the run state of " + run.id());
  plan.run_state = std::move(*run_state);
  if (state == nullptr && scope == PlanScope::kPartitionsIfStateless &&
      !(plan.run_state.at_begin.empty() && plan.run_state.at_commit.empty())) {
    plan.partitions_planned = false;
    return plan;
  }

  auto partitions = pipeline.consumer->PlanPartitions(run);
  JETFLOW_RETURN_NOT_OK_CTX(
      partitions.status(),
      "pipeline " + pipeline.name + ", planning partitions of " + run.id());
  std::set<std::string> seen;
  for (const auto& partition : *partitions) {
    if (!IsValidPartitionId(partition.id) || !seen.insert(partition.id).second) {
      return arrow::Status::Invalid(
          "consumer planned an invalid or duplicate partition id '", partition.id,
          "' (pipeline ", pipeline.name, ")");
    }
  }
  plan.partitions = std::move(*partitions);
  spdlog::debug("pipeline {}: planned {} partitions of {}{}", pipeline.name,
                plan.partitions.size(), run.id(),
                state != nullptr ? " with the state store's watermarks" : "");
  return plan;
}

arrow::Result<RunSummary> PipelineRunner::Run(Pipeline& pipeline, const RunInstance& run,
                                              StateStore& state,
                                              const RunOptions& options) {
  const auto started = Clock::now();
  // The caller's plan holds when it is of this run instance and complete, and it saw
  // the watermarks or the consumer carries no run state (they could change nothing).
  const bool reuse_plan =
      options.plan != nullptr && options.plan->run.id() == run.id() &&
      options.plan->partitions_planned &&
      (options.plan->planned_with_state || (options.plan->run_state.at_begin.empty() &&
                                            options.plan->run_state.at_commit.empty()));
  PipelinePlan plan;
  if (reuse_plan) {
    plan = *options.plan;
  } else {
    ARROW_ASSIGN_OR_RAISE(plan, Plan(pipeline, run, &state));
  }

  // Logged here, once: a run may have planned twice (without and with the store).
  for (const std::string& warning : plan.run_state.warnings) {
    spdlog::warn("pipeline {}, {}: {}", pipeline.name, run.id(), warning);
  }

  BeginRunOptions begin;
  begin.restart = options.restart;
  begin.worker = options.worker.empty() ? ThisWorker() : options.worker;
  begin.lease = options.lease;
  // Pinned with the record, before any data moves, so a resumed or re-run instance
  // plans the same.
  begin.watermarks = plan.run_state.at_begin;
  begin.fingerprint = PlanFingerprint(pipeline, plan);
  ARROW_ASSIGN_OR_RAISE(RunRecord record,
                        state.BeginRun(pipeline.name, run, plan.partitions, begin));
  RecordedRun recorded(pipeline, plan, state, options, std::move(record), begin.worker);
  return recorded.Execute(started);
}

}  // namespace jetflow
