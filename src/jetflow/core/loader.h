// Loader: the stage with persistent effect (first of all, Parquet files in a lake).
//
// Commit protocol, per partition attempt:
//   writer = OpenPartition(ctx); writer->Write(batch)...; then exactly one of
//   writer->Commit()  -- durable and visible to readers once it returns OK, replacing any
//                        earlier output of the same partition;
//   writer->Abort()   -- leaves no trace in the output.
// Destroying a PartitionWriter without either is a bug (the writer aborts and logs).
//
// At plan time: Bind() (the output schema), then CheckRunInstance() (the run instance).
// Per run: BeginRun() before the first partition (e.g. remove the run's completion marker
// and leftovers of dead attempts); FinishRun() after every partition committed (remove
// output of partitions no longer in the plan, write the run manifest and marker).
//
// Checking what was written (docs/semantics.md, "What a resume and `jetflow verify`
// check"): output is never trusted only because the state store says it was committed.
// A resumed run keeps a committed partition only if VerifyCommitted() finds its output
// as its manifest describes it (the engine calls it after BeginRun, before any attempt);
// `jetflow verify` checks a published run instance with VerifyPublished().
//
// Threading: Bind, CheckRunInstance, BeginRun, FinishRun and VerifyPublished are called
// from one thread; OpenPartition and VerifyCommitted are called concurrently; each
// PartitionWriter is used by one thread.
#pragma once

#include <arrow/record_batch.h>
#include <arrow/result.h>
#include <arrow/status.h>
#include <arrow/type_fwd.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "jetflow/core/manifest.h"
#include "jetflow/core/partition.h"

namespace jetflow {

/// How far a loader checks stored output against its manifests. Each depth includes the
/// ones before it.
enum class VerifyDepth {
  /// Every file the manifest lists exists with the recorded size: one metadata lookup
  /// per file. Catches deleted, truncated and most replaced files.
  kSize,
  /// And every file's checksum: reads every byte once. Catches a file replaced by one of
  /// the same size (another partition's file, bytes changed in place).
  kChecksum,
  /// And every file is readable as the format (e.g. its Parquet footer), holds the
  /// recorded rows and the recorded schema (its fingerprint).
  kFull,
};

/// "size", "checksum", "full".
const char* ToString(VerifyDepth depth);

/// One way stored output differs from what its manifests record.
struct ManifestDifference {
  /// The file or directory concerned, relative to the loader's root.
  std::string path;
  /// What differs: "missing", "size", "checksum", "unreadable", "rows", "schema",
  /// "manifest", "stray file", ...
  std::string what;
  /// As the manifests record it; empty when nothing was expected (a stray file).
  std::string expected;
  /// As stored; empty when nothing is there (a missing file).
  std::string found;

  /// "<path>: <what> differs: expected <expected>, found <found>" (or the shorter forms
  /// for a missing or a stray file).
  std::string ToString() const;
};

/// What Loader::VerifyPublished found about one published run instance.
struct PublishedRunCheck {
  /// False when the run instance has no published output at all (no run manifest and no
  /// completion marker): nothing was compared, `differences` is empty.
  bool published = false;
  /// As the run manifest records them.
  std::string pipeline;
  int64_t run_id = 0;
  int64_t partitions = 0;
  int64_t files = 0;
  int64_t rows = 0;
  int64_t bytes = 0;
  /// Every difference found, not only the first.
  std::vector<ManifestDifference> differences;
};

class PartitionWriter {
 public:
  virtual ~PartitionWriter() = default;
  virtual arrow::Status Write(const std::shared_ptr<arrow::RecordBatch>& batch) = 0;
  /// Rows accepted by Write() so far (for reconciliation before Commit).
  virtual int64_t rows_written() const = 0;
  /// Bytes the writer holds in memory for accepted data (e.g. the encoded pages of a row
  /// group not yet written out). The engine counts them in the memory budget.
  virtual int64_t buffered_bytes() const { return 0; }
  virtual arrow::Result<PartitionManifest> Commit() = 0;
  virtual arrow::Status Abort() = 0;
};

class Loader {
 public:
  virtual ~Loader() = default;
  /// Plan time: checks that `input` (the stream schema after transformers) can be written
  /// and returns the output schema, or Invalid listing every mismatching column.
  virtual arrow::Result<std::shared_ptr<arrow::Schema>> Bind(
      const std::shared_ptr<arrow::Schema>& input) = 0;
  /// Plan time, after a successful Bind: Invalid if this loader cannot write run
  /// instance `run` as bound (e.g. an output column named like a directory key of the
  /// lake, which readers would take from the path instead of the file). Moves nothing.
  virtual arrow::Status CheckRunInstance(const RunInstance& run) {
    (void)run;
    return arrow::Status::OK();
  }
  virtual arrow::Status BeginRun(const RunContext& run) = 0;
  virtual arrow::Result<std::unique_ptr<PartitionWriter>> OpenPartition(
      const PartitionContext& context) = 0;
  /// REQUIRES: every partition of the plan committed; `partitions` are their manifests.
  virtual arrow::Status FinishRun(const RunContext& run,
                                  const std::vector<PartitionManifest>& partitions) = 0;

  /// Checks that the output `manifest` (returned by a Commit of this loader) describes is
  /// still stored as recorded, to `depth`, and returns every difference (empty: it
  /// matches). A resumed run redoes a committed partition for which this finds anything.
  /// An error Status means the check could not be made (the storage cannot be read), not
  /// that the output differs.
  /// REQUIRES: BeginRun of the run that committed `manifest` returned OK (it puts back
  /// output that a crash left aside).
  /// The default trusts the manifest: for loaders whose output cannot be read back.
  virtual arrow::Result<std::vector<ManifestDifference>> VerifyCommitted(
      const PartitionManifest& manifest, VerifyDepth depth) {
    return std::vector<ManifestDifference>{};
  }

  /// Checks the published output of run instance `run` (what FinishRun wrote) against its
  /// own run manifest and partition manifests, to `depth`, listing every difference; also
  /// output that no manifest lists. Reads only: nothing is repaired. Needs no Bind().
  /// The default: NotImplemented (the loader cannot read its output back).
  virtual arrow::Result<PublishedRunCheck> VerifyPublished(const RunInstance& run,
                                                           VerifyDepth depth) {
    return arrow::Status::NotImplemented("this loader cannot verify its output");
  }
};

}  // namespace jetflow
