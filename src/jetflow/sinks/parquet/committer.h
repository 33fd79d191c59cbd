// Committer: the filesystem side of the Parquet loader's commit protocol
// (docs/semantics.md, docs/parquet-loader.md). The loader decides what goes into a
// partition (files, their checks, the manifest's content); a Committer decides how that
// becomes visible to readers of the lake, atomically and durably, and how a dead
// attempt's leftovers are found and removed. Where things live is the LakeLayout's
// business (lake_layout.h).
//
// Per partition attempt, from one thread:
//   attempt = PrepareAttempt(run, partition, N);
//   CreateStagedDir / OpenStagedOutput / StartWriteBack / OpenStagedInput ...
//   then exactly one of Publish(attempt, manifest) or Abort(attempt).
// Per run, from one thread, with no attempt in flight:
//   BeginRun(run) before the first attempt; FinishRun(run, ids, run_manifest) once every
//   partition of the plan is published.
//
// What readers see, what a crash leaves, and what the next BeginRun of the same run
// instance cleans up, at each step ("crash" = the process dies; with durable writes
// (RenameCommitter's fsync) the same holds for a machine crash):
//
//   step                 readers see                      a crash leaves
//   PrepareAttempt       the old partition (or none)      an empty staged attempt
//   writing files        the old partition                partial files in staging
//   Publish, before the  the old partition                a complete staged attempt
//     switch
//   Publish, the switch  old or new, whole: never a mix   the old partition or the new
//                        (RenameCommitter's move-aside:   one, the other in staging or
//                        briefly neither)                 trash (move-aside: possibly
//                                                         neither, the old one in trash)
//   Publish returned OK  the new partition, durable       the new partition
//   Abort                the old partition                part of the staged attempt
//   BeginRun             published partitions, no         part of the cleanup (BeginRun
//                        _SUCCESS once it returns         is idempotent)
//   FinishRun            partitions of the plan; stale    some stale partitions gone; no
//                        ones disappear; _SUCCESS last    _SUCCESS unless every write
//                                                         before it is done
//
// BeginRun first puts back a partition that a switch cut in the middle left outside its
// place (RenameCommitter's move-aside), then removes everything under the run instance's
// staging and trash locations: staged attempts that never published, old output that a
// switch left behind, attempts of writers that crashed mid-abort. After it, readers see
// each partition's last published output. Nothing else belongs to a dead attempt:
// published partitions stay (a resumed run keeps the committed ones and redoes the rest,
// and Publish replaces a partition whole), and partitions that left the plan are removed
// by FinishRun. Leftovers of other run instances are left alone, but for folders that
// hold nothing (which any BeginRun and FinishRun may remove). Publish and Abort remove
// the staging folders that the attempt leaves empty, so a process that stops cleanly
// (every attempt published or aborted) leaves no empty folder behind.
//
// Threading: PrepareAttempt, the staged-file calls, Publish and Abort are called
// concurrently for different partitions (never for the same partition at once);
// BeginRun and FinishRun are called from one thread with no attempt in flight.
// Implementations keep no per-attempt state beyond the StagedAttempt they return.
//
// Errors: IOError naming the path. On filesystems where failures are transient (remote
// stores) they are marked retryable (core/error.h); on a local disk a full or read-only
// filesystem stays so, and they are not.
//
// --- Implementations ---
//
// RenameCommitter (rename_committer.h): filesystems with atomic directory renames
// (local POSIX filesystems; HDFS). Stages under _jetflow_staging/, publishes with one
// atomic directory exchange (Linux renameat2 RENAME_EXCHANGE), falling back to moving the
// old directory aside into _jetflow_trash/ and renaming the staged one in. ParquetLoader
// uses it for every filesystem Arrow opens today.
//
// A manifest committer for object stores (S3, GCS, Azure without a hierarchical
// namespace) is not written yet. Object stores have no directory rename (Arrow's S3 and
// GCS filesystems refuse to move a directory, so RenameCommitter fails there at the
// first Publish, having published nothing; jetflow does not even load Arrow's S3 module,
// so "s3://" paths are refused at plan time), but a single object PUT is atomic. It will:
//   - stage: either write data files under a "_"-prefixed location (readers skip it) and
//     copy them to their final keys at Publish (server-side copies), or write them at
//     their final keys as multipart uploads whose completion is deferred to Publish (an
//     uncompleted upload is invisible to every lister). Either way OpenStagedOutput is
//     where it chooses; the footer check reads files back through OpenStagedInput, which
//     with deferred completion must be answered from the bytes the committer kept (a
//     Parquet footer is the file's tail).
//   - publish: make every data file of the new attempt exist under the partition prefix,
//     then write the partition manifest (_jetflow_manifest.json) LAST, in one PUT: the
//     manifest is the commit point. Then delete the objects under the prefix that the new
//     manifest does not list (files of the old attempt that the new one did not
//     overwrite). With today's deterministic file names, new files overwrite old ones in
//     place, so a Publish cut short leaves objects that the old manifest lists but whose
//     bytes are new: the committer must then treat the partition as not published (its
//     checksums no longer match) until it is redone — or give each attempt's files
//     attempt-unique names and let the manifest pick them. That choice is the
//     object-store issue's.
//   - what listers may see: readers that list the prefix (Spark, DuckDB, pyarrow
//     datasets) can see a mix of old and new files while a partition is published, and
//     new files before the manifest that commits them; only readers that go through the
//     manifests (or wait for _SUCCESS, which BeginRun removes first and FinishRun writes
//     last) get whole partitions. The object-store issue must document this for users.
//   - cleanup: BeginRun aborts the run instance's uncompleted multipart uploads (or
//     deletes its "_"-prefixed staging objects) and deletes, under each partition prefix,
//     objects its manifest does not list (left by a Publish that died between its first
//     copy and its manifest, or before its last delete); a partition whose objects do not
//     match its manifest is redone by the resumed run (it was not recorded committed).
//     Abort aborts the attempt's uploads; FinishRun deletes
//     the prefixes of partitions that left the plan and then writes the run manifest and
//     _SUCCESS as RenameCommitter does. Nothing needs fsync: a completed PUT is durable.
// ParquetLoader chooses the committer from the filesystem (ChooseCommitter in
// parquet_loader.cc); that is where it will be plugged in.
#pragma once

#include <arrow/io/interfaces.h>
#include <arrow/result.h>
#include <arrow/status.h>

#include <memory>
#include <string>
#include <vector>

#include "jetflow/core/loader.h"
#include "jetflow/core/partition.h"
#include "jetflow/sinks/parquet/lake_layout.h"

namespace jetflow {

/// One partition attempt's place in the lake, from Committer::PrepareAttempt.
struct StagedAttempt {
  RunInstance run;
  std::string partition_id;
  int attempt = 0;
  /// Where the attempt's files are written (absolute in the lake's filesystem); file and
  /// directory paths given to the staged-file calls are below it.
  std::string staging_dir;
  /// Where Publish makes them visible: layout().PartitionDir(run, partition_id).
  std::string partition_dir;
};

class Committer {
 public:
  virtual ~Committer() = default;

  virtual const LakeLayout& layout() const = 0;

  // --- Per run. ---

  /// Cleans up after dead attempts of `run` (see above), then removes the run instance's
  /// _SUCCESS and run manifest so that nobody takes it as complete while it is
  /// rewritten. Also the check that the root is writable: fails here, naming the path,
  /// if it is not.
  virtual arrow::Status BeginRun(const RunInstance& run) = 0;
  /// Whether partition `partition_id` of `run` has published output (its manifest is
  /// in place). Per run, like FinishRun.
  virtual arrow::Result<bool> IsPublished(const RunInstance& run,
                                          const std::string& partition_id) const = 0;
  /// REQUIRES: every partition in `partition_ids` is published for `run`.
  /// Checks that (Invalid naming a partition that is not), removes every Hive-style
  /// directory of the run instance that is not one of these partitions (output of an
  /// earlier plan or layout), removes the run's staging and trash locations, writes
  /// `run_manifest` as _jetflow_run.json, then an empty _SUCCESS, both durably.
  virtual arrow::Status FinishRun(const RunInstance& run,
                                  const std::vector<std::string>& partition_ids,
                                  const std::string& run_manifest) = 0;

  // --- Per partition attempt. ---

  /// Creates the attempt's (empty) staging location, removing a leftover of the same
  /// attempt number.
  virtual arrow::Result<StagedAttempt> PrepareAttempt(const RunInstance& run,
                                                      const std::string& partition_id,
                                                      int attempt) = 0;
  /// Creates directory `path` (and its parents) below an attempt's staging_dir.
  virtual arrow::Status CreateStagedDir(const std::string& path) = 0;
  /// Opens file `path` below an attempt's staging_dir for writing (truncating it).
  virtual arrow::Result<std::shared_ptr<arrow::io::OutputStream>> OpenStagedOutput(
      const std::string& path) = 0;
  /// Opens a written (closed) staged file for reading back.
  virtual arrow::Result<std::shared_ptr<arrow::io::RandomAccessFile>> OpenStagedInput(
      const std::string& path) = 0;
  /// A hint that what was written to `path` so far is final: a committer that makes files
  /// durable may start writing it back now, so that Publish finds little left to wait
  /// for. Best effort; failures surface in Publish.
  virtual void StartWriteBack(const std::string& path) = 0;
  /// Makes the attempt the partition's output, replacing the previous one whole: makes
  /// every file in `manifest` (paths relative to the root, below `manifest.location`,
  /// which is layout().Relative(attempt.partition_dir)) and every directory holding one
  /// durable, writes `manifest` next to them as _jetflow_manifest.json, durably, then
  /// switches. Once it returns OK the new partition is visible and durable; if it fails,
  /// readers see the old partition or the new one (see the table above).
  /// REQUIRES: every file in `manifest` is closed; no other call for this attempt follows
  /// but Abort after a failure.
  virtual arrow::Status Publish(const StagedAttempt& attempt,
                                const PartitionManifest& manifest) = 0;
  /// Removes the attempt's staged files; the published partition is untouched. Also
  /// after a failed Publish.
  virtual arrow::Status Abort(const StagedAttempt& attempt) = 0;

  // --- Helpers for the above. ---

  /// Writes a whole small file and makes it durable.
  virtual arrow::Status WriteFile(const std::string& path,
                                  const std::string& content) = 0;
  /// `status` (from an operation on `path`, e.g. a write into a staged file) with the
  /// path added and, where failures are transient, marked retryable.
  virtual arrow::Status IoFailure(const arrow::Status& status,
                                  const std::string& path) const = 0;
};

}  // namespace jetflow
