#include "jetflow/engine/pipeline_runner.h"

#include <arrow/api.h>
#include <arrow/memory_pool.h>
#include <arrow/util/byte_size.h>
#include <arrow/util/thread_pool.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <thread>

#include "jetflow/core/batch_memory_pool.h"
#include "jetflow/core/error.h"
#include "jetflow/core/memory_budget.h"
#include "jetflow/engine/bounded_queue.h"
#include "jetflow/sinks/parquet/parquet_loader.h"

namespace jetflow {

int64_t PeakRssBytes() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stoll(line.substr(6)) * 1024;
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

std::string ManifestsToJson(const std::vector<PartitionManifest>& manifests) {
  std::string json = "[";
  for (size_t i = 0; i < manifests.size(); ++i) {
    json += (i ? "," : "") + manifests[i].ToJson();
  }
  return json + "]";
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

/// Keeps the memory budget informed of what a partition's writers hold (e.g. the encoded
/// pages of an open row group): counted without waiting, since it is already allocated,
/// so readers wait instead. Everything still counted is released when the attempt ends.
class WriterMemory {
 public:
  WriterMemory(MemoryBudget& budget,
               const std::vector<std::unique_ptr<PartitionWriter>>& writers)
      : budget_(budget), writers_(writers) {}
  ~WriterMemory() { budget_.Release(counted_); }

  /// Called by the writer thread after every batch, with the bytes of that batch's
  /// queue reservation: the writers may still hold (part of) the very same buffers, so
  /// the reservation is handed over in one step rather than released and taken again.
  void Update(int64_t released_bytes) {
    int64_t held = 0;
    for (const auto& writer : writers_) {
      if (writer != nullptr) held += writer->buffered_bytes();
    }
    const int64_t counted = counted_.load();
    counted_ = held;
    budget_.Adjust(held - counted - released_bytes);
  }

  /// Bytes counted now; read by the reader thread.
  int64_t counted() const { return counted_.load(); }

 private:
  MemoryBudget& budget_;
  const std::vector<std::unique_ptr<PartitionWriter>>& writers_;
  std::atomic<int64_t> counted_{0};
};

/// One Run() call: the shared state of the worker threads.
class RunExecution {
 public:
  RunExecution(Pipeline& pipeline, const PipelinePlan& plan, StateStore& state,
               const RunOptions& options, int64_t run_id, int64_t run_started_us)
      : pipeline_(pipeline),
        plan_(plan),
        state_(state),
        options_(options),
        run_id_(run_id),
        run_started_us_(run_started_us),
        batch_pool_(pipeline.consumer->AllocatesBatchesOnce() ? BatchMemoryPool()
                                                              : nullptr),
        recycled_batch_bytes_(
            batch_pool_ != nullptr
                ? RecycledBatchBytesFor(pipeline.engine.memory_budget_bytes)
                : 0),
        // Batches in flight and what loaders hold get the budget minus what the batch
        // pool may keep, so that all three stay within it.
        budget_(std::max<int64_t>(
            1, pipeline.engine.memory_budget_bytes - recycled_batch_bytes_)) {}

  /// Processes `pending` with `threads` workers; returns when all are done or cancelled.
  void Execute(std::vector<PartitionSpec> pending, int threads) {
    pending_ = std::move(pending);
    threads = std::max(1, std::min<int>(threads, static_cast<int>(pending_.size())));
    workers_ = threads;
    const int64_t reused_before = batch_pool_ ? batch_pool_->reused_blocks() : 0;
    if (batch_pool_ != nullptr) batch_pool_->SetCapacity(recycled_batch_bytes_);
    std::vector<std::thread> workers;
    for (int i = 0; i < threads && !pending_.empty(); ++i) {
      workers.emplace_back([this] { WorkerLoop(); });
    }
    // Watch for an external interrupt while the workers run.
    {
      std::unique_lock<std::mutex> lock(mutex_);
      while (workers_done_ < static_cast<int>(workers.size())) {
        all_done_.wait_for(lock, std::chrono::milliseconds(100));
        if (options_.interrupt != nullptr && options_.interrupt->load() && !cancelled_) {
          lock.unlock();
          Cancel(arrow::Status::Cancelled("interrupted"));
          lock.lock();
        }
      }
    }
    for (auto& worker : workers) worker.join();
    if (batch_pool_ != nullptr) {
      spdlog::debug(
          "batch memory pool: {} buffers reused, {} MiB kept at the end (of {})",
          batch_pool_->reused_blocks() - reused_before, batch_pool_->kept_bytes() >> 20,
          recycled_batch_bytes_ >> 20);
      batch_pool_->SetCapacity(0);
    }
  }

  arrow::Status first_error() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return first_error_;
  }
  int64_t partitions_failed() const { return partitions_failed_; }
  int64_t attempts_retried() const { return attempts_retried_; }
  int64_t peak_budget_bytes() const { return budget_.peak(); }

 private:
  bool IsCancelled() const {
    return cancelled_.load() ||
           (options_.interrupt != nullptr && options_.interrupt->load());
  }

  void Cancel(const arrow::Status& reason) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (first_error_.ok()) first_error_ = reason;
    }
    cancelled_ = true;
    budget_.Cancel();
  }

  void WorkerLoop() {
    for (;;) {
      PartitionSpec partition;
      {
        std::lock_guard<std::mutex> lock(mutex_);
        if (next_ >= pending_.size() || cancelled_) break;
        partition = pending_[next_++];
      }
      RunPartitionWithRetries(partition);
    }
    std::lock_guard<std::mutex> lock(mutex_);
    ++workers_done_;
    all_done_.notify_all();
  }

  void RunPartitionWithRetries(const PartitionSpec& partition) {
    const EngineOptions& engine = pipeline_.engine;
    for (int local_attempt = 1;; ++local_attempt) {
      auto attempt = state_.StartAttempt(run_id_, partition.id);
      if (!attempt.ok()) {
        Cancel(AddContext(attempt.status(), "state store, partition " + partition.id));
        return;
      }
      PartitionContext context;
      context.pipeline = pipeline_.name;
      context.run = plan_.run;
      context.partition = partition;
      context.attempt = *attempt;
      context.run_id = run_id_;
      context.run_started_us = run_started_us_;
      context.source = pipeline_.consumer_name;
      context.partitions_in_flight = workers_;
      context.memory_budget_bytes = engine.memory_budget_bytes;
      if (batch_pool_ != nullptr) context.memory_pool = batch_pool_;
      AttemptResult result;
      auto started = Clock::now();
      std::vector<PartitionManifest> manifests;
      arrow::Status status = ProcessAttempt(context, &result, &manifests);
      result.seconds = std::chrono::duration<double>(Clock::now() - started).count();
      result.status =
          status.ok() ? PartitionStatus::kCommitted : PartitionStatus::kFailed;
      result.error = status.ok() ? "" : status.ToString();
      result.manifests_json = status.ok() ? ManifestsToJson(manifests) : "";
      arrow::Status recorded =
          state_.FinishAttempt(run_id_, partition.id, *attempt, result);
      if (!recorded.ok()) {
        Cancel(AddContext(recorded, "state store, partition " + partition.id));
        return;
      }
      if (status.ok()) {
        spdlog::debug("partition {} committed: {} rows in {:.2f}s", partition.id,
                      result.rows_written, result.seconds);
        if (options_.progress) ++options_.progress->partitions_done;
        return;
      }
      if (IsCancelled()) return;
      if (IsRetryable(status) && local_attempt < engine.max_attempts) {
        auto wait =
            engine.retry_backoff * (int64_t{1} << std::min(local_attempt - 1, 16));
        wait = std::min<std::chrono::milliseconds>(wait, std::chrono::seconds(60));
        spdlog::warn("partition {} attempt {} failed, retrying in {} ms: {}",
                     partition.id, *attempt, wait.count(), status.ToString());
        ++attempts_retried_;
        if (!SleepUnlessCancelled(wait)) return;
        continue;
      }
      ++partitions_failed_;
      Cancel(status);
      return;
    }
  }

  bool SleepUnlessCancelled(std::chrono::milliseconds wait) {
    auto deadline = Clock::now() + wait;
    while (Clock::now() < deadline) {
      if (IsCancelled()) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return !IsCancelled();
  }

  std::string Where(const PartitionContext& context, const std::string& stage,
                    int64_t batch = -1) const {
    std::string where = "pipeline " + context.pipeline + ", run " + context.run.id() +
                        ", partition " + context.partition.id + ", attempt " +
                        std::to_string(context.attempt) + ", stage " + stage;
    if (batch >= 0) where += ", batch " + std::to_string(batch);
    return where;
  }

  // Pushes `batch` through transformers [first, end) and then into every writer.
  arrow::Status Forward(const PartitionContext& context,
                        std::shared_ptr<arrow::RecordBatch> batch, size_t first,
                        std::vector<std::unique_ptr<PartitionTransform>>& transforms,
                        std::vector<std::unique_ptr<PartitionWriter>>& writers,
                        std::vector<std::unique_ptr<PartitionWriter>>& side_writers,
                        int64_t batch_index, int64_t* rows_out) {
    for (size_t i = first; i < transforms.size(); ++i) {
      auto mapped = transforms[i]->Apply(batch);
      JETFLOW_RETURN_NOT_OK_CTX(
          mapped.status(),
          Where(context, "transformer " + pipeline_.transformers[i].name, batch_index));
      batch = *mapped;
      ARROW_RETURN_NOT_OK(
          WriteSide(context, i, *transforms[i], side_writers, batch_index));
      if (batch->num_rows() == 0) break;
    }
    if (batch->num_rows() == 0) return arrow::Status::OK();
    for (size_t i = 0; i < writers.size(); ++i) {
      JETFLOW_RETURN_NOT_OK_CTX(
          writers[i]->Write(batch),
          Where(context, "loader " + pipeline_.loaders[i].name, batch_index));
    }
    *rows_out += batch->num_rows();
    if (options_.progress) options_.progress->rows_written += batch->num_rows();
    return arrow::Status::OK();
  }

  // Hands the rows `transform` sent to its side outputs to their writers.
  arrow::Status WriteSide(const PartitionContext& context, size_t transformer,
                          PartitionTransform& transform,
                          std::vector<std::unique_ptr<PartitionWriter>>& side_writers,
                          int64_t batch_index) {
    for (SideBatch& side : transform.TakeSideBatches()) {
      if (side.batch == nullptr || side.batch->num_rows() == 0) continue;
      size_t found = side_writers.size();
      for (size_t k = 0; k < pipeline_.side_loaders.size(); ++k) {
        if (pipeline_.side_loaders[k].transformer == transformer &&
            pipeline_.side_loaders[k].output == side.output) {
          found = k;
        }
      }
      if (found == side_writers.size()) {
        return arrow::Status::Invalid(
            "transformer sent rows to side output ", side.output,
            " that it did not declare (",
            Where(context, "transformer " + pipeline_.transformers[transformer].name,
                  batch_index),
            ")");
      }
      JETFLOW_RETURN_NOT_OK_CTX(
          side_writers[found]->Write(side.batch),
          Where(context, "side output " + pipeline_.side_loaders[found].name,
                batch_index));
    }
    return arrow::Status::OK();
  }

  arrow::Status ProcessAttempt(const PartitionContext& context, AttemptResult* result,
                               std::vector<PartitionManifest>* manifests) {
    std::vector<std::unique_ptr<PartitionWriter>> writers;
    std::vector<std::unique_ptr<PartitionWriter>> side_writers;
    arrow::Status status =
        ReadTransformWrite(context, result, &writers, &side_writers, manifests);
    if (!status.ok()) {
      for (size_t i = 0; i < writers.size() + side_writers.size(); ++i) {
        auto& writer = i < writers.size() ? writers[i] : side_writers[i - writers.size()];
        if (writer == nullptr) continue;
        arrow::Status aborted = writer->Abort();
        if (!aborted.ok()) {
          spdlog::warn(
              "abort failed ({}): {}",
              Where(context, i < writers.size()
                                 ? pipeline_.loaders[i].name
                                 : pipeline_.side_loaders[i - writers.size()].name),
              aborted.ToString());
        }
      }
    }
    return status;
  }

  arrow::Status ReadTransformWrite(
      const PartitionContext& context, AttemptResult* result,
      std::vector<std::unique_ptr<PartitionWriter>>* writers,
      std::vector<std::unique_ptr<PartitionWriter>>* side_writers,
      std::vector<PartitionManifest>* manifests) {
    auto reader = pipeline_.consumer->OpenPartition(context);
    JETFLOW_RETURN_NOT_OK_CTX(reader.status(), Where(context, "consumer"));
    std::vector<std::unique_ptr<PartitionTransform>> transforms;
    for (auto& transformer : pipeline_.transformers) {
      auto opened = transformer.stage->Open(context);
      JETFLOW_RETURN_NOT_OK_CTX(opened.status(),
                                Where(context, "transformer " + transformer.name));
      transforms.push_back(std::move(*opened));
    }
    for (auto& loader : pipeline_.loaders) {
      auto opened = loader.stage->OpenPartition(context);
      JETFLOW_RETURN_NOT_OK_CTX(opened.status(), Where(context, "loader " + loader.name));
      writers->push_back(std::move(*opened));
    }
    for (auto& side : pipeline_.side_loaders) {
      auto opened = side.loader->OpenPartition(context);
      JETFLOW_RETURN_NOT_OK_CTX(opened.status(),
                                Where(context, "side output " + side.name));
      side_writers->push_back(std::move(*opened));
    }

    struct Queued {
      std::shared_ptr<arrow::RecordBatch> batch;
      int64_t bytes;
      int64_t index;
    };
    BoundedQueue<Queued> queue(static_cast<size_t>(pipeline_.engine.queue_batches));
    // Bytes of this partition's batches between reader and writer. A partition whose
    // writers hold memory and whose queue is empty may read one more batch even over the
    // budget: its writers may need that batch to complete (and free) a row group, so
    // memory held by writers can never starve every reader into a deadlock.
    std::atomic<int64_t> queued_bytes{0};
    WriterMemory writer_memory(budget_, *writers);
    arrow::Status read_status;
    std::thread reader_thread([&] {
      PartitionReader& source = **reader;
      for (int64_t index = 0;; ++index) {
        if (IsCancelled()) {
          read_status = arrow::Status::Cancelled("run cancelled");
          break;
        }
        auto next = source.Next();
        if (!next.ok()) {
          read_status = AddContext(next.status(), Where(context, "consumer", index));
          break;
        }
        std::shared_ptr<arrow::RecordBatch> batch = *next;
        if (batch == nullptr) break;
        if (!batch->schema()->Equals(*plan_.source_schema, /*check_metadata=*/false)) {
          read_status = arrow::Status::Invalid(
              "consumer produced a batch whose schema differs from its declared schema: ",
              batch->schema()->ToString(), " (", Where(context, "consumer", index), ")");
          break;
        }
        int64_t bytes = arrow::util::TotalBufferSize(*batch);
        if (!budget_
                 .Reserve(bytes,
                          [&] {
                            return queued_bytes.load() == 0 &&
                                   writer_memory.counted() > 0;
                          })
                 .ok()) {
          read_status = arrow::Status::Cancelled("run cancelled");
          break;
        }
        if (options_.progress) {
          options_.progress->rows_read += batch->num_rows();
          options_.progress->bytes_read += bytes;
        }
        queued_bytes += bytes;
        if (!queue.Push(Queued{std::move(batch), bytes, index})) {
          queued_bytes -= bytes;
          budget_.Release(bytes);
          break;
        }
      }
      queue.Close();
    });

    arrow::Status write_status;
    int64_t rows_read = 0;
    int64_t rows_out = 0;
    while (auto item = queue.Pop()) {
      if (write_status.ok()) {
        rows_read += item->batch->num_rows();
        write_status = Forward(context, item->batch, 0, transforms, *writers,
                               *side_writers, item->index, &rows_out);
        if (!write_status.ok()) queue.Close();  // stops the reader; the rest is drained
      }
      item->batch.reset();
      queued_bytes -= item->bytes;
      writer_memory.Update(item->bytes);
    }
    reader_thread.join();
    ARROW_RETURN_NOT_OK(read_status);
    ARROW_RETURN_NOT_OK(write_status);

    // Rows a transformer held back (e.g. de-duplication) flow through the rest of the
    // chain.
    for (size_t i = 0; i < transforms.size(); ++i) {
      auto flushed = transforms[i]->Finish();
      JETFLOW_RETURN_NOT_OK_CTX(
          flushed.status(),
          Where(context, "transformer " + pipeline_.transformers[i].name));
      ARROW_RETURN_NOT_OK(WriteSide(context, i, *transforms[i], *side_writers, -1));
      for (auto& batch : *flushed) {
        ARROW_RETURN_NOT_OK(Forward(context, batch, i + 1, transforms, *writers,
                                    *side_writers, -1, &rows_out));
      }
    }
    writer_memory.Update(0);

    result->rows_read = rows_read;
    result->rows_written = rows_out;
    for (size_t i = 0; i < transforms.size(); ++i) {
      TransformCounters counters = transforms[i]->counters();
      result->rows_dropped += counters.rows_dropped;
      result->rows_quarantined += counters.rows_quarantined;
      for (const RuleCount& rule : counters.rules) {
        result->rules.push_back({context.partition.id, pipeline_.transformers[i].name,
                                 rule.rule, rule.action, rule.rows});
      }
    }
    ARROW_RETURN_NOT_OK(Reconcile(context, *result, *writers, *side_writers));

    // Side outputs first: once the partition's data is visible, so are its quarantined
    // rows. A failure after this point fails the attempt; its retry replaces them.
    for (size_t i = 0; i < side_writers->size(); ++i) {
      auto committed = (*side_writers)[i]->Commit();
      JETFLOW_RETURN_NOT_OK_CTX(
          committed.status(),
          Where(context, "side output " + pipeline_.side_loaders[i].name));
      (*side_writers)[i].reset();
      committed->loader = pipeline_.side_loaders[i].name;
      manifests->push_back(std::move(*committed));
    }

    for (size_t i = 0; i < writers->size(); ++i) {
      auto committed = (*writers)[i]->Commit();
      JETFLOW_RETURN_NOT_OK_CTX(committed.status(),
                                Where(context, "loader " + pipeline_.loaders[i].name));
      (*writers)[i].reset();  // committed: nothing left to abort
      committed->loader = pipeline_.loaders[i].name;
      result->bytes_written += committed->bytes;
      manifests->push_back(std::move(*committed));
    }
    return arrow::Status::OK();
  }

  // Every row read is accounted for before anything is published.
  arrow::Status Reconcile(
      const PartitionContext& context, const AttemptResult& result,
      const std::vector<std::unique_ptr<PartitionWriter>>& writers,
      const std::vector<std::unique_ptr<PartitionWriter>>& side_writers) {
    const int64_t expected = context.partition.expected_rows;
    if (expected >= 0 && result.rows_read != expected) {
      return arrow::Status::Invalid("reconciliation failed: the source promised ",
                                    expected, " rows at plan time but ", result.rows_read,
                                    " were read (", Where(context, "consumer"), ")");
    }
    int64_t accounted =
        result.rows_written + result.rows_dropped + result.rows_quarantined;
    if (accounted != result.rows_read) {
      return arrow::Status::Invalid("reconciliation failed: read ", result.rows_read,
                                    " rows but written ", result.rows_written,
                                    " + dropped ", result.rows_dropped, " + quarantined ",
                                    result.rows_quarantined, " = ", accounted, " (",
                                    Where(context, "transformers"), ")");
    }
    if (!side_writers.empty()) {
      int64_t side_rows = 0;
      for (const auto& writer : side_writers) side_rows += writer->rows_written();
      if (side_rows != result.rows_quarantined) {
        return arrow::Status::Invalid(
            "reconciliation failed: transformers counted ", result.rows_quarantined,
            " quarantined rows but their side outputs accepted ", side_rows, " (",
            Where(context, "transformers"), ")");
      }
    }
    for (size_t i = 0; i < writers.size(); ++i) {
      if (writers[i]->rows_written() != result.rows_written) {
        return arrow::Status::Invalid(
            "reconciliation failed: ", result.rows_written,
            " rows were sent to the loader but it "
            "accepted ",
            writers[i]->rows_written(), " (",
            Where(context, "loader " + pipeline_.loaders[i].name), ")");
      }
    }
    return arrow::Status::OK();
  }

  Pipeline& pipeline_;
  const PipelinePlan& plan_;
  StateStore& state_;
  const RunOptions& options_;
  const int64_t run_id_;
  const int64_t run_started_us_;
  /// BatchMemoryPool() if the consumer allocates from it, else nullptr; and what it may
  /// keep during this run, out of the memory budget (0 without it).
  RecyclingMemoryPool* const batch_pool_;
  const int64_t recycled_batch_bytes_;
  MemoryBudget budget_;

  mutable std::mutex mutex_;
  std::condition_variable all_done_;
  std::vector<PartitionSpec> pending_;
  /// Worker threads of this Execute(): partitions in flight at once.
  int workers_ = 1;
  size_t next_ = 0;
  int workers_done_ = 0;
  arrow::Status first_error_;
  std::atomic<bool> cancelled_{false};
  std::atomic<int64_t> partitions_failed_{0};
  std::atomic<int64_t> attempts_retried_{0};
};

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

arrow::Status PersistWatermarks(StateStore& state, const std::string& pipeline,
                                const std::vector<WatermarkUpdate>& updates) {
  for (const auto& update : updates) {
    JETFLOW_RETURN_NOT_OK_CTX(state.SetWatermark(pipeline, update.name, update.value),
                              "state store, watermark " + update.name);
  }
  return arrow::Status::OK();
}

}  // namespace

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

  // Side outputs (quarantines) get a Parquet loader each, bound to their schema now.
  pipeline.side_loaders.clear();
  for (size_t t = 0; t < pipeline.transformers.size(); ++t) {
    auto& transformer = pipeline.transformers[t];
    auto specs = transformer.stage->side_outputs();
    for (size_t o = 0; o < specs.size(); ++o) {
      const std::string where = "pipeline " + pipeline.name + ", stage transformer " +
                                transformer.name + ", side output " + specs[o].name;
      ParquetLoader::Options options;
      options.name = transformer.name + "." + specs[o].name;
      // One dataset per transformer under the configured root: transformers' side
      // outputs have different schemas and may share a root.
      options.path = specs[o].path + "/" + transformer.name;
      auto made = ParquetLoader::Make(std::move(options));
      JETFLOW_RETURN_NOT_OK_CTX(made.status(), where);
      JETFLOW_RETURN_NOT_OK_CTX((*made)->Bind(specs[o].schema).status(), where);
      pipeline.side_loaders.push_back({t, static_cast<int>(o),
                                       transformer.name + "." + specs[o].name,
                                       std::move(*made)});
    }
  }

  // Bind every loader even after one fails, so the user sees every mismatch at once.
  std::string loader_errors;
  for (auto& loader : pipeline.loaders) {
    auto bound = loader.stage->Bind(schema);
    if (!bound.ok()) {
      loader_errors += (loader_errors.empty() ? "" : "\n") + std::string("loader '") +
                       loader.name + "': " + bound.status().message();
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
  auto started = Clock::now();
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

  const EngineOptions& engine = pipeline.engine;
  int compute_threads =
      engine.compute_threads > 0 ? engine.compute_threads : HardwareThreads();
  ARROW_RETURN_NOT_OK(arrow::SetCpuThreadPoolCapacity(compute_threads));

  ARROW_ASSIGN_OR_RAISE(
      RunRecord record,
      state.BeginRun(pipeline.name, run, plan.partitions, options.restart));
  // Pinned before any data moves, so a resumed or re-run instance plans the same.
  ARROW_RETURN_NOT_OK(PersistWatermarks(state, pipeline.name, plan.run_state.at_begin));
  RunContext run_context{pipeline.name, run, record.run_id};
  RunSummary summary;
  summary.run_id = record.run_id;
  summary.resumed = record.resumed;
  summary.partitions_total = static_cast<int64_t>(plan.partitions.size());

  ARROW_ASSIGN_OR_RAISE(auto records, state.ListPartitions(record.run_id));
  std::set<std::string> committed;
  for (const auto& partition : records) {
    if (partition.status == PartitionStatus::kCommitted)
      committed.insert(partition.partition_id);
  }
  std::vector<PartitionSpec> pending;
  for (const auto& partition : plan.partitions) {
    if (!committed.count(partition.id)) pending.push_back(partition);
  }
  summary.partitions_kept = static_cast<int64_t>(committed.size());
  if (options.progress) {
    options.progress->partitions_total = summary.partitions_total;
    options.progress->partitions_done = summary.partitions_kept;
  }
  if (summary.resumed) {
    spdlog::info("resuming run {} of {}: {} of {} partitions already committed",
                 record.run_id, run.id(), summary.partitions_kept,
                 summary.partitions_total);
  }

  arrow::Status run_status;
  for (auto& loader : pipeline.loaders) {
    run_status = AddContext(loader.stage->BeginRun(run_context), "loader " + loader.name);
    if (!run_status.ok()) break;
  }
  for (auto& side : pipeline.side_loaders) {
    if (!run_status.ok()) break;
    run_status =
        AddContext(side.loader->BeginRun(run_context), "side output " + side.name);
  }

  // The run's start time (of its first start, when resumed), for metadata columns.
  int64_t run_started_us = IsoMillisToMicros(record.started_at);
  RunExecution execution(pipeline, plan, state, options, record.run_id, run_started_us);
  if (run_status.ok()) {
    int threads =
        engine.partitions_in_flight > 0 ? engine.partitions_in_flight : HardwareThreads();
    execution.Execute(std::move(pending), threads);
    run_status = execution.first_error();
  }

  // Totals come from the state store, so a resumed run counts the partitions it kept.
  ARROW_ASSIGN_OR_RAISE(records, state.ListPartitions(record.run_id));
  if (run_status.ok()) {
    std::vector<std::vector<PartitionManifest>> per_loader(pipeline.loaders.size());
    std::vector<std::vector<PartitionManifest>> per_side(pipeline.side_loaders.size());
    for (const auto& partition : records) {
      if (partition.status != PartitionStatus::kCommitted) {
        run_status = arrow::Status::Invalid("partition ", partition.partition_id,
                                            " is not committed at the end of the run");
        break;
      }
      ARROW_ASSIGN_OR_RAISE(auto manifests, ManifestsFromJson(partition.manifests_json));
      for (auto& manifest : manifests) {
        for (size_t i = 0; i < pipeline.loaders.size(); ++i) {
          if (pipeline.loaders[i].name == manifest.loader)
            per_loader[i].push_back(manifest);
        }
        for (size_t i = 0; i < pipeline.side_loaders.size(); ++i) {
          if (pipeline.side_loaders[i].name == manifest.loader)
            per_side[i].push_back(manifest);
        }
      }
    }
    for (size_t i = 0; i < pipeline.loaders.size() && run_status.ok(); ++i) {
      run_status =
          AddContext(pipeline.loaders[i].stage->FinishRun(run_context, per_loader[i]),
                     "loader " + pipeline.loaders[i].name + ", finishing run");
    }
    for (size_t i = 0; i < pipeline.side_loaders.size() && run_status.ok(); ++i) {
      run_status =
          AddContext(pipeline.side_loaders[i].loader->FinishRun(run_context, per_side[i]),
                     "side output " + pipeline.side_loaders[i].name + ", finishing run");
    }
    // Advanced only once the run's data is published; a crash before FinishRun resumes
    // the run, which finds every partition committed and writes them again.
    if (run_status.ok()) {
      ARROW_RETURN_NOT_OK(
          PersistWatermarks(state, pipeline.name, plan.run_state.at_commit));
    }
  }

  for (const auto& partition : records) {
    summary.rows_read += partition.rows_read;
    summary.rows_written += partition.rows_written;
    summary.rows_dropped += partition.rows_dropped;
    summary.rows_quarantined += partition.rows_quarantined;
    summary.bytes_written += partition.bytes_written;
  }
  auto rules = state.ListRuleCounts(record.run_id);
  if (rules.ok()) {
    for (const RuleCountRecord& rule : *rules) {
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
  summary.succeeded = run_status.ok();
  summary.error = run_status.ok() ? "" : run_status.ToString();
  summary.partitions_failed = execution.partitions_failed();
  summary.attempts_retried = execution.attempts_retried();
  summary.peak_budget_bytes = execution.peak_budget_bytes();
  ARROW_RETURN_NOT_OK(state.FinishRun(
      record.run_id, summary.succeeded ? RunStatus::kSucceeded : RunStatus::kFailed,
      summary.error));
  summary.seconds = std::chrono::duration<double>(Clock::now() - started).count();
  summary.peak_rss_bytes = PeakRssBytes();
  summary.peak_arrow_pool_bytes = arrow::default_memory_pool()->max_memory();
  return summary;
}

}  // namespace jetflow
