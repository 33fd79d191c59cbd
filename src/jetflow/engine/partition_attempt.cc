#include "jetflow/engine/partition_attempt.h"

#include <arrow/api.h>
#include <arrow/util/byte_size.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "jetflow/core/error.h"
#include "jetflow/engine/bounded_queue.h"

namespace jetflow {
namespace {

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

class PartitionAttempt {
 public:
  PartitionAttempt(const AttemptServices& services, const PartitionContext& context)
      : services_(services), pipeline_(services.pipeline), context_(context) {}

  arrow::Status Run(AttemptResult* result, std::vector<PartitionManifest>* manifests) {
    arrow::Status status = ReadTransformWrite(result, manifests);
    if (!status.ok()) AbortWriters();
    return status;
  }

 private:
  std::string Where(const std::string& stage, int64_t batch = -1) const {
    std::string where = "pipeline " + context_.pipeline + ", run " + context_.run.id() +
                        ", partition " + context_.partition.id + ", attempt " +
                        std::to_string(context_.attempt) + ", stage " + stage;
    if (batch >= 0) where += ", batch " + std::to_string(batch);
    return where;
  }

  void AbortWriters() {
    auto abort = [&](std::unique_ptr<PartitionWriter>& writer, const std::string& name) {
      if (writer == nullptr) return;
      arrow::Status aborted = writer->Abort();
      if (!aborted.ok()) {
        spdlog::warn("abort failed ({}): {}", Where(name), aborted.ToString());
      }
    };
    for (size_t i = 0; i < writers_.size(); ++i) {
      abort(writers_[i], "loader " + pipeline_.loaders[i].name);
    }
    for (size_t i = 0; i < side_writers_.size(); ++i) {
      abort(side_writers_[i], "side output " + pipeline_.side_loaders[i].name);
    }
  }

  arrow::Status Open(std::unique_ptr<PartitionReader>* reader) {
    auto opened_reader = pipeline_.consumer->OpenPartition(context_);
    JETFLOW_RETURN_NOT_OK_CTX(opened_reader.status(), Where("consumer"));
    *reader = std::move(*opened_reader);
    for (auto& transformer : pipeline_.transformers) {
      auto opened = transformer.stage->Open(context_);
      JETFLOW_RETURN_NOT_OK_CTX(opened.status(),
                                Where("transformer " + transformer.name));
      transforms_.push_back(std::move(*opened));
    }
    for (auto& loader : pipeline_.loaders) {
      auto opened = loader.stage->OpenPartition(context_);
      JETFLOW_RETURN_NOT_OK_CTX(opened.status(), Where("loader " + loader.name));
      writers_.push_back(std::move(*opened));
    }
    for (auto& side : pipeline_.side_loaders) {
      auto opened = side.loader->OpenPartition(context_);
      JETFLOW_RETURN_NOT_OK_CTX(opened.status(), Where("side output " + side.name));
      side_writers_.push_back(std::move(*opened));
    }
    return arrow::Status::OK();
  }

  // Pushes `batch` through transformers [first, end) and then into every writer.
  arrow::Status Forward(std::shared_ptr<arrow::RecordBatch> batch, size_t first,
                        int64_t batch_index) {
    for (size_t i = first; i < transforms_.size(); ++i) {
      auto mapped = transforms_[i]->Apply(batch);
      JETFLOW_RETURN_NOT_OK_CTX(
          mapped.status(),
          Where("transformer " + pipeline_.transformers[i].name, batch_index));
      batch = *mapped;
      ARROW_RETURN_NOT_OK(WriteSide(i, batch_index));
      if (batch->num_rows() == 0) break;
    }
    if (batch->num_rows() == 0) return arrow::Status::OK();
    for (size_t i = 0; i < writers_.size(); ++i) {
      JETFLOW_RETURN_NOT_OK_CTX(
          writers_[i]->Write(batch),
          Where("loader " + pipeline_.loaders[i].name, batch_index));
    }
    rows_out_ += batch->num_rows();
    if (services_.progress) services_.progress->rows_written += batch->num_rows();
    return arrow::Status::OK();
  }

  // Hands the rows transformer `transformer` sent to its side outputs to their writers.
  arrow::Status WriteSide(size_t transformer, int64_t batch_index) {
    for (SideBatch& side : transforms_[transformer]->TakeSideBatches()) {
      if (side.batch == nullptr || side.batch->num_rows() == 0) continue;
      size_t found = side_writers_.size();
      for (size_t k = 0; k < pipeline_.side_loaders.size(); ++k) {
        if (pipeline_.side_loaders[k].transformer == transformer &&
            pipeline_.side_loaders[k].output == side.output) {
          found = k;
        }
      }
      if (found == side_writers_.size()) {
        return arrow::Status::Invalid(
            "transformer sent rows to side output ", side.output,
            " that it did not declare (",
            Where("transformer " + pipeline_.transformers[transformer].name, batch_index),
            ")");
      }
      JETFLOW_RETURN_NOT_OK_CTX(
          side_writers_[found]->Write(side.batch),
          Where("side output " + pipeline_.side_loaders[found].name, batch_index));
    }
    return arrow::Status::OK();
  }

  /// Reads the partition on a thread of its own into a bounded queue and writes what it
  /// reads on the calling thread. Returns the first error of either.
  arrow::Status Stream(PartitionReader& source, int64_t* rows_read) {
    struct Queued {
      std::shared_ptr<arrow::RecordBatch> batch;
      int64_t bytes;
      int64_t index;
    };
    BoundedQueue<Queued> queue(static_cast<size_t>(pipeline_.engine.queue_batches));
    MemoryBudget& budget = services_.budget;
    // Bytes of this partition's batches between reader and writer. A partition whose
    // writers hold memory and whose queue is empty may read one more batch even over the
    // budget: its writers may need that batch to complete (and free) a row group, so
    // memory held by writers can never starve every reader into a deadlock.
    std::atomic<int64_t> queued_bytes{0};
    WriterMemory writer_memory(budget, writers_);
    arrow::Status read_status;
    std::thread reader_thread([&] {
      for (int64_t index = 0;; ++index) {
        if (services_.cancellation.cancelled()) {
          read_status = arrow::Status::Cancelled("run cancelled");
          break;
        }
        auto next = source.Next();
        if (!next.ok()) {
          read_status = AddContext(next.status(), Where("consumer", index));
          break;
        }
        std::shared_ptr<arrow::RecordBatch> batch = *next;
        if (batch == nullptr) break;
        if (!batch->schema()->Equals(*services_.plan.source_schema,
                                     /*check_metadata=*/false)) {
          read_status = arrow::Status::Invalid(
              "consumer produced a batch whose schema differs from its declared schema: ",
              batch->schema()->ToString(), " (", Where("consumer", index), ")");
          break;
        }
        const int64_t bytes = arrow::util::TotalBufferSize(*batch);
        auto may_exceed = [&] {
          return queued_bytes.load() == 0 && writer_memory.counted() > 0;
        };
        if (!budget.Reserve(bytes, may_exceed).ok()) {
          read_status = arrow::Status::Cancelled("run cancelled");
          break;
        }
        if (services_.progress) {
          services_.progress->rows_read += batch->num_rows();
          services_.progress->bytes_read += bytes;
        }
        queued_bytes += bytes;
        if (!queue.Push(Queued{std::move(batch), bytes, index})) {
          queued_bytes -= bytes;
          budget.Release(bytes);
          break;
        }
      }
      queue.Close();
    });

    arrow::Status write_status;
    while (auto item = queue.Pop()) {
      if (write_status.ok()) {
        *rows_read += item->batch->num_rows();
        write_status = Forward(item->batch, 0, item->index);
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
    for (size_t i = 0; i < transforms_.size(); ++i) {
      auto flushed = transforms_[i]->Finish();
      JETFLOW_RETURN_NOT_OK_CTX(flushed.status(),
                                Where("transformer " + pipeline_.transformers[i].name));
      ARROW_RETURN_NOT_OK(WriteSide(i, -1));
      for (auto& batch : *flushed) ARROW_RETURN_NOT_OK(Forward(batch, i + 1, -1));
    }
    writer_memory.Update(0);
    return arrow::Status::OK();
  }

  arrow::Status ReadTransformWrite(AttemptResult* result,
                                   std::vector<PartitionManifest>* manifests) {
    std::unique_ptr<PartitionReader> reader;
    ARROW_RETURN_NOT_OK(Open(&reader));
    int64_t rows_read = 0;
    ARROW_RETURN_NOT_OK(Stream(*reader, &rows_read));

    result->rows_read = rows_read;
    result->rows_written = rows_out_;
    for (const RuleCount& rule : reader->counters()) {
      result->rules.push_back({context_.partition.id, pipeline_.consumer_name, rule.rule,
                               rule.action, rule.rows});
    }
    for (size_t i = 0; i < transforms_.size(); ++i) {
      TransformCounters counters = transforms_[i]->counters();
      result->rows_dropped += counters.rows_dropped;
      result->rows_quarantined += counters.rows_quarantined;
      for (const RuleCount& rule : counters.rules) {
        result->rules.push_back({context_.partition.id, pipeline_.transformers[i].name,
                                 rule.rule, rule.action, rule.rows});
      }
    }
    ARROW_RETURN_NOT_OK(Reconcile(*result));
    if (services_.before_publish) {
      JETFLOW_RETURN_NOT_OK_CTX(services_.before_publish(), Where("commit"));
    }

    // Side outputs first: once the partition's data is visible, so are its quarantined
    // rows. A failure after this point fails the attempt; its retry replaces them.
    for (size_t i = 0; i < side_writers_.size(); ++i) {
      auto committed = side_writers_[i]->Commit();
      JETFLOW_RETURN_NOT_OK_CTX(committed.status(),
                                Where("side output " + pipeline_.side_loaders[i].name));
      side_writers_[i].reset();
      committed->loader = pipeline_.side_loaders[i].name;
      manifests->push_back(std::move(*committed));
    }
    for (size_t i = 0; i < writers_.size(); ++i) {
      auto committed = writers_[i]->Commit();
      JETFLOW_RETURN_NOT_OK_CTX(committed.status(),
                                Where("loader " + pipeline_.loaders[i].name));
      writers_[i].reset();  // committed: nothing left to abort
      committed->loader = pipeline_.loaders[i].name;
      result->bytes_written += committed->bytes;
      manifests->push_back(std::move(*committed));
    }
    return arrow::Status::OK();
  }

  // Every row read is accounted for before anything is published.
  arrow::Status Reconcile(const AttemptResult& result) const {
    const int64_t expected = context_.partition.expected_rows;
    if (expected >= 0 && result.rows_read != expected) {
      return arrow::Status::Invalid("reconciliation failed: the source promised ",
                                    expected, " rows at plan time but ", result.rows_read,
                                    " were read (", Where("consumer"), ")");
    }
    const int64_t accounted =
        result.rows_written + result.rows_dropped + result.rows_quarantined;
    if (accounted != result.rows_read) {
      return arrow::Status::Invalid(
          "reconciliation failed: read ", result.rows_read, " rows but written ",
          result.rows_written, " + dropped ", result.rows_dropped, " + quarantined ",
          result.rows_quarantined, " = ", accounted, " (", Where("transformers"), ")");
    }
    if (!side_writers_.empty()) {
      int64_t side_rows = 0;
      for (const auto& writer : side_writers_) side_rows += writer->rows_written();
      if (side_rows != result.rows_quarantined) {
        return arrow::Status::Invalid(
            "reconciliation failed: transformers counted ", result.rows_quarantined,
            " quarantined rows but their side outputs accepted ", side_rows, " (",
            Where("transformers"), ")");
      }
    }
    for (size_t i = 0; i < writers_.size(); ++i) {
      if (writers_[i]->rows_written() != result.rows_written) {
        return arrow::Status::Invalid("reconciliation failed: ", result.rows_written,
                                      " rows were sent to the loader but it accepted ",
                                      writers_[i]->rows_written(), " (",
                                      Where("loader " + pipeline_.loaders[i].name), ")");
      }
    }
    return arrow::Status::OK();
  }

  const AttemptServices& services_;
  Pipeline& pipeline_;
  const PartitionContext& context_;
  std::vector<std::unique_ptr<PartitionTransform>> transforms_;
  std::vector<std::unique_ptr<PartitionWriter>> writers_;
  std::vector<std::unique_ptr<PartitionWriter>> side_writers_;
  int64_t rows_out_ = 0;
};

}  // namespace

arrow::Status RunPartitionAttempt(const AttemptServices& services,
                                  const PartitionContext& context, AttemptResult* result,
                                  std::vector<PartitionManifest>* manifests) {
  PartitionAttempt attempt(services, context);
  return attempt.Run(result, manifests);
}

}  // namespace jetflow
