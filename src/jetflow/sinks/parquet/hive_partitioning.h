// HivePartitioning: the `partition_by` option of the parquet loader. Rows are written
// under Hive-style column directories inside their partition directory,
//
//   <path>/<run.key>=<run.value>/<partition_column>=<partition id>/<c1>=<v1>/<c2>=<v2>/
//       part-00000.parquet
//
// and, as in Hive and Spark, the partition_by columns are not stored in the data files:
// readers take them from the path. So the column directories must read back as the
// values that were written, in Spark, Hive, Trino, DuckDB and pyarrow alike:
//  - only integers, strings (also dictionary-encoded), dates and booleans can be
//  partition
//    values; every other type is refused at plan time, naming the column and the reason;
//  - integers are decimal text, dates YYYY-MM-DD (years 1..9999), booleans true/false;
//  - strings are percent-encoded exactly like Hive's FileUtils.escapePathName (and
//  Spark's
//    ExternalCatalogUtils.escapePathName): bytes 0x00-0x1F and 0x7F and the characters
//    " # % ' * / : = ? \ { [ ] ^ become %XX (upper-case hex); everything else, including
//    UTF-8 beyond ASCII, is kept as is;
//  - null, and the empty string (a directory name cannot be empty; Hive and Spark do the
//    same), is __HIVE_DEFAULT_PARTITION__.
//
// Splitting a batch by its partition values costs O(rows): Arrow's Grouper hashes the key
// columns into group ids, a counting sort (Grouper::MakeGroupings) orders the row indices
// by group, one Take gathers the rows, and each group is a zero-copy slice of the result.
// Groups come in the order of their first row, and rows keep their batch order within a
// group, so the same batches always split the same way.
//
// Threading: HivePartitioning is immutable and shared by every writer of a loader; a
// HiveBatchSplitter belongs to one partition writer and is used by one thread.
#pragma once

#include <arrow/record_batch.h>
#include <arrow/result.h>
#include <arrow/type_fwd.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace arrow::compute {
class Grouper;
}  // namespace arrow::compute

namespace jetflow {

/// The directory value of a null (or empty string) partition value.
inline constexpr std::string_view kHiveDefaultPartition = "__HIVE_DEFAULT_PARTITION__";
/// Longest directory name `<column>=<escaped value>` in bytes (NAME_MAX of Linux file
/// systems; also what HDFS allows per path component).
inline constexpr size_t kMaxHiveDirectoryNameBytes = 255;

/// `value` percent-encoded as Hive's FileUtils.escapePathName does it.
std::string EscapeHivePathValue(std::string_view value);

/// Why a column of output type `type` cannot be a partition_by column, or nullopt if it
/// can (integers, utf8/large_utf8/string_view, dictionaries of those, date32, boolean).
std::optional<std::string> HivePartitionTypeProblem(const arrow::DataType& type);

/// One group of rows of a batch that share their partition values.
struct HiveGroup {
  /// Relative directory of the group, e.g. "country=DE" or "country=DE/city=K%C3%B6ln"
  /// (the separator is '/').
  std::string directory;
  /// The rows, in batch order, with the file schema (no partition_by columns).
  std::shared_ptr<arrow::RecordBatch> rows;
};

class HiveBatchSplitter;

class HivePartitioning {
 public:
  /// Checks `columns` against the loader's output schema and builds the layout. Invalid,
  /// listing every problem: a column that is not in the output (with a "did you mean"
  /// from the output's names), one of a type that cannot be a partition value (naming
  /// the type and why; `input` gives the stream type when the profile changed it), and
  /// partitioning by every column (data files need at least one).
  /// REQUIRES: `columns` are distinct.
  static arrow::Result<std::shared_ptr<const HivePartitioning>> Make(
      const arrow::Schema& input, const std::shared_ptr<arrow::Schema>& output,
      const std::vector<std::string>& columns);

  /// The partition_by columns, in directory order.
  const std::vector<std::string>& columns() const { return columns_; }
  /// Their fields in the output schema, in directory order.
  const arrow::FieldVector& partition_fields() const { return partition_fields_; }
  /// The output schema without the partition_by columns: what data files hold.
  const std::shared_ptr<arrow::Schema>& file_schema() const { return file_schema_; }

 private:
  friend class HiveBatchSplitter;
  HivePartitioning() = default;

  std::vector<std::string> columns_;
  arrow::FieldVector partition_fields_;
  std::vector<int> key_indices_;   // of the partition_by columns in the output schema
  std::vector<int> file_indices_;  // of the other columns
  std::shared_ptr<arrow::Schema> file_schema_;
  // Key types as grouped: dictionaries decoded, string views as utf8.
  std::vector<std::shared_ptr<arrow::DataType>> key_types_;
};

class HiveBatchSplitter {
 public:
  /// A splitter for one writer.
  static arrow::Result<std::unique_ptr<HiveBatchSplitter>> Make(
      std::shared_ptr<const HivePartitioning> layout);
  ~HiveBatchSplitter();

  /// Splits `batch` (conformed to the output schema) into groups of rows with equal
  /// partition values; groups are in the order of their first row. `first_row` is the
  /// row number of the batch's first row in its partition, for messages. Invalid if a
  /// value cannot be a directory name (a date outside years 1..9999, a directory name
  /// longer than kMaxHiveDirectoryNameBytes), naming the column, row and value.
  arrow::Result<std::vector<HiveGroup>> Split(
      const std::shared_ptr<arrow::RecordBatch>& batch, int64_t first_row);

 private:
  HiveBatchSplitter(std::shared_ptr<const HivePartitioning> layout,
                    std::unique_ptr<arrow::compute::Grouper> grouper);

  std::shared_ptr<const HivePartitioning> layout_;
  std::unique_ptr<arrow::compute::Grouper> grouper_;
};

}  // namespace jetflow
