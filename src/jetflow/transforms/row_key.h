// RowKeyEncoder: the values of a few key columns of each row as one byte string, so that
// rows with equal keys (nulls equal to nulls) have equal strings. Used by the `unique`
// validation rule and by `dedupe`, which keep a hash set of the keys of a partition.
#pragma once

#include <arrow/record_batch.h>
#include <arrow/result.h>
#include <arrow/type_fwd.h>

#include <string>
#include <vector>

namespace jetflow {

class RowKeyEncoder {
 public:
  /// Invalid naming the column (with a did-you-mean) if a key is missing, or of a type
  /// that cannot be a key (only fixed-width primitive, temporal, decimal, boolean,
  /// string and binary columns can).
  static arrow::Result<RowKeyEncoder> Make(const arrow::Schema& schema,
                                           const std::vector<std::string>& keys);

  /// One key per row of `batch` (whose schema is the one given to Make).
  arrow::Result<std::vector<std::string>> Encode(const arrow::RecordBatch& batch) const;

  const std::vector<int>& columns() const { return columns_; }

 private:
  std::vector<int> columns_;
};

}  // namespace jetflow
