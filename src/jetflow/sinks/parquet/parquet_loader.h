// ParquetLoader (`type: parquet`): writes a pipeline's output as a Hive-style Parquet
// lake that Spark, DuckDB, Trino and pyarrow read without settings, and publishes it so
// that readers never see a partial partition, a duplicate or a stale file.
//
//   <path>/<run.key>=<run.value>/<partition_column>=<partition.id>/part-00000.parquet
//
// With `partition_by: [c1, c2]`, rows are written one level per column deeper, under
// Hive-style directories of their values (hive_partitioning.h), and those columns are
// left out of the data files, as Hive and Spark do:
//
//   <path>/<run.key>=<run.value>/<partition_column>=<partition.id>/c1=<v1>/c2=<v2>/
//       part-00000.parquet
//
// Per partition attempt, files are written into a staging directory, their footers are
// read back and checked, and the Committer (committer.h; RenameCommitter for every
// filesystem today) writes a manifest next to them and makes the directory replace the
// partition's previous output in one atomic step. A re-run of a run instance therefore
// replaces its output file for file; FinishRun removes partitions that left the plan and
// writes `_jetflow_run.json` and finally `_SUCCESS`. A run instance without any row gets
// one data file without rows, so that readers find its schema (kEmptyRunPartitionId).
// docs/parquet-loader.md describes the protocol and what a crash at each step leaves
// behind.
//
// The output schema is fixed at plan time (Bind): the declared `schema:` if given, else
// the stream schema under the output profile (docs/type-mapping.md). Every batch is
// converted to it exactly, or the partition fails naming the column, row and value. Data
// files hold the output schema without the partition_by columns (file_schema()).
//
// Threading: see Loader. Writers of different partitions run concurrently and share only
// immutable settings.
#pragma once

#include <arrow/filesystem/filesystem.h>
#include <arrow/util/compression.h>
#include <parquet/properties.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "jetflow/core/config_node.h"
#include "jetflow/core/loader.h"
#include "jetflow/core/registry.h"
#include "jetflow/sinks/parquet/output_profile.h"
#include "jetflow/sinks/parquet/parquet_partition_writer.h"

namespace jetflow {

class ParquetLoader : public Loader {
 public:
  /// What to do with stream columns that a declared schema does not list.
  enum class ExtraColumns { kError, kDrop };

  /// How a partition writer turns batches into row groups. The bytes written are the
  /// same either way, except that with partition_by a file whose last rows were flushed
  /// early (to keep all files' rows within one row group) ends with an empty row group
  /// when streaming.
  enum class WriteMode {
    /// kRowGroups where other partitions keep the cores busy meanwhile, falling back to
    /// kStreaming for a partition whose source turns out slower than its encoding (see
    /// RowGroupEncodingFor).
    kAuto,
    /// Each batch is encoded as it arrives; the open row group's compressed pages stay
    /// in memory until it is complete. Encoding keeps pace with the source, so a single
    /// partition reads and encodes at the same time.
    kStreaming,
    /// A row group's batches are held as they are (no copy) and encoded column by column
    /// once it is complete, like pyarrow's write_table: about a quarter less CPU and no
    /// copy of the pages, but the source of that partition waits while a row group is
    /// encoded, and up to row_group_bytes of Arrow data is held per open file.
    kRowGroups,
  };

  struct Options {
    /// Name of the loader in the config; recorded in manifests.
    std::string name = "parquet";
    /// Root of the lake: a local path or a URI (file://, hdfs://, ...). Publishing needs
    /// atomic directory renames (RenameCommitter): object stores are not supported yet.
    std::string path;
    OutputProfile profile = OutputProfile::kSpark;
    arrow::Compression::type compression = arrow::Compression::ZSTD;
    std::optional<int> compression_level;
    int64_t row_group_rows = int64_t{1} << 20;
    /// A row group also ends once the Arrow size of its rows reaches this, so that wide
    /// rows do not make a writer hold ever more memory; 0 = unlimited.
    int64_t row_group_bytes = int64_t{128} << 20;
    /// Roll to a new file after this many rows; 0 = unlimited.
    int64_t max_file_rows = 0;
    /// Roll to a new file once this many bytes are flushed; 0 = unlimited.
    int64_t max_file_bytes = int64_t{512} << 20;
    bool dictionary = true;
    bool statistics = true;
    parquet::ParquetDataPageVersion data_page_version =
        parquet::ParquetDataPageVersion::V1;
    /// Threads encoding the columns of one row group; 1 encodes on the calling thread.
    int encode_threads = 1;
    WriteMode write_mode = WriteMode::kAuto;
    /// Force each file and directory to disk before its partition is published (fsync,
    /// with writeback started as files are written). false leaves writeback to the
    /// kernel: a killed process loses nothing, but a machine crash or power cut soon
    /// after a commit can lose or truncate files the state store records as committed.
    /// Local filesystems only: object stores are durable when a write completes.
    bool fsync = true;
    /// Let a run replace or remove what its run instance's folder holds although jetflow
    /// did not write it (RenameCommitter::Options::adopt_existing); refused otherwise.
    bool adopt_existing = false;
    /// Hive key of partition directories: "<partition_column>=<partition id>".
    std::string partition_column = "part";
    /// Output columns whose values become Hive-style directories inside each partition
    /// directory, in this order; they are not stored in the data files. Integers,
    /// strings, dates and booleans only (checked by Bind).
    std::vector<std::string> partition_by;
    /// The pipeline's run instance key (`run_instance.key`) when it is known at config
    /// load (ParseOptions takes it from the ComponentContext): Make() then refuses a
    /// partition_column or partition_by column named like it, and Bind a column of the
    /// data files. Empty: unknown until CheckRunInstance.
    std::string run_key;
    /// With partition_by: data files open at once per partition. Opening one more closes
    /// the least recently written; its next rows start a new part file.
    int max_open_files = 64;
    /// Declared output schema (names, order, types, nullability), or nullptr to write the
    /// stream schema under `profile`.
    std::shared_ptr<arrow::Schema> schema;
    ExtraColumns extra_columns = ExtraColumns::kError;
    /// Test seam: when set, `path` is a path inside this filesystem (the committer is
    /// chosen from it as from a URI's).
    std::shared_ptr<arrow::fs::FileSystem> filesystem;
  };

  /// Reads every option from `node` (the loader's map in the pipeline YAML), recording
  /// each problem in the node's Diagnostics with its file:line:col; Invalid if any.
  static arrow::Result<Options> ParseOptions(const ConfigNode& node,
                                             const ComponentContext& context);
  /// How a partition writer encodes: `options.write_mode` unless kAuto, which is
  /// kAdaptive (whole row groups, streaming once the writer finds it mostly waits for
  /// rows) when holding row groups whole can only save CPU: one encode thread, at
  /// least two partitions in flight (while one partition encodes a row group, the others
  /// keep the cores busy), row groups bounded by row_group_bytes whose sum over the
  /// partitions in flight is at most half the memory budget, and no partition_by;
  /// otherwise kStreaming.
  static RowGroupEncoding RowGroupEncodingFor(const Options& options,
                                              const PartitionContext& context);
  /// Checks the options and opens the filesystem; touches no file.
  static arrow::Result<std::unique_ptr<ParquetLoader>> Make(Options options);

  ~ParquetLoader() override;

  /// Plan time: the output schema for `input` (partition_by columns included), or one
  /// Invalid listing every column that cannot be written (a type the profile rejects, a
  /// declared column missing from the stream or not castable from it, an undeclared
  /// stream column, a type the Parquet writer cannot round-trip), or every partition_by
  /// column that is unknown or of a type that cannot be a directory name, or every
  /// column of the data files named (ignoring case) like a directory key of the lake
  /// (run_key when known, partition_column, partition_by): readers would take its value
  /// from the path.
  arrow::Result<std::shared_ptr<arrow::Schema>> Bind(
      const std::shared_ptr<arrow::Schema>& input) override;
  /// Plan time, after Bind: Invalid if the run instance key is (ignoring case) the
  /// partition directory key, a partition_by column or a column of the data files.
  arrow::Status CheckRunInstance(const RunInstance& run) override;
  /// Committer::BeginRun: cleans up after dead attempts and removes the run's completion
  /// marker. Fails with IOError naming the root if it cannot be written, and with Invalid
  /// (before touching anything) if CheckRunInstance fails.
  arrow::Status BeginRun(const RunContext& run) override;
  /// REQUIRES: Bind() succeeded.
  arrow::Result<std::unique_ptr<PartitionWriter>> OpenPartition(
      const PartitionContext& context) override;
  /// A run instance that wrote no rows at all gets one data file without rows (as
  /// Spark writes one for an empty result), so that readers which infer the schema from
  /// the files (Spark, DuckDB) find the instance's schema: FinishRun writes it into the
  /// first partition of the plan (by id), republishing that partition with it, or, for
  /// a plan without partitions (an empty incremental window), into a partition of this
  /// id. An instance where any partition wrote rows gets no such file.
  static constexpr const char* kEmptyRunPartitionId = "empty";
  /// Builds `_jetflow_run.json` from `partitions` (after writing the empty file above
  /// when they hold no rows); Committer::FinishRun checks they are all published,
  /// removes partition directories not among them, writes it, then `_SUCCESS`.
  arrow::Status FinishRun(const RunContext& run,
                          const std::vector<PartitionManifest>& partitions) override;

  /// Checks the partition's directory against `manifest` (lake_verifier.h): the
  /// partition manifest next to the data equals it, every file it lists is there with
  /// its size (and, by `depth`, checksum, footer, rows and schema), and no data file it
  /// does not list is in the directory.
  arrow::Result<std::vector<ManifestDifference>> VerifyCommitted(
      const PartitionManifest& manifest, VerifyDepth depth) override;
  /// Checks `_jetflow_run.json`, `_SUCCESS`, every partition it lists as above, and that
  /// the run instance's directory holds no data file that it does not list.
  arrow::Result<PublishedRunCheck> VerifyPublished(const RunInstance& run,
                                                   VerifyDepth depth) override;

  const Options& options() const { return options_; }
  /// The output schema, partition_by columns included; nullptr before Bind().
  const std::shared_ptr<arrow::Schema>& output_schema() const { return output_schema_; }
  /// The schema of data files: output_schema() without the partition_by columns.
  const std::shared_ptr<arrow::Schema>& file_schema() const { return file_schema_; }
  /// How it stages and publishes partitions (chosen from the filesystem of `path`).
  const Committer& committer() const { return *committer_; }

 private:
  ParquetLoader(Options options, std::shared_ptr<arrow::fs::FileSystem> filesystem,
                std::shared_ptr<Committer> committer);

  arrow::Result<std::shared_ptr<arrow::Schema>> BindDeclared(
      const arrow::Schema& input) const;
  /// Publishes partition `partition_id` of `run` holding one file without rows (see
  /// kEmptyRunPartitionId); its manifest.
  arrow::Result<PartitionManifest> PublishEmptyFile(const RunContext& run,
                                                    const std::string& partition_id);

  Options options_;
  /// The lake's filesystem, read by VerifyCommitted and VerifyPublished.
  std::shared_ptr<arrow::fs::FileSystem> filesystem_;
  std::shared_ptr<Committer> committer_;
  std::shared_ptr<arrow::Schema> output_schema_;          // set by Bind()
  std::shared_ptr<arrow::Schema> file_schema_;            // set by Bind()
  std::shared_ptr<const ParquetWriteSettings> settings_;  // set by Bind()
};

/// Registers `type: parquet`.
void RegisterParquetLoader(ComponentRegistry& registry);

}  // namespace jetflow
