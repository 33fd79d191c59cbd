#include "jetflow/testing/batch_from_json.h"

#include <arrow/api.h>
#include <arrow/json/from_string.h>

#include <sstream>

namespace jetflow::testing {

arrow::Result<std::shared_ptr<arrow::RecordBatch>> BatchFromJson(
    const std::shared_ptr<arrow::Schema>& schema, const std::string& json_rows) {
  ARROW_ASSIGN_OR_RAISE(auto array, arrow::json::ArrayFromJSONString(
                                        arrow::struct_(schema->fields()), json_rows));
  ARROW_ASSIGN_OR_RAISE(auto batch, arrow::RecordBatch::FromStructArray(array));
  // FromStructArray drops schema metadata; keep the caller's schema exactly.
  return arrow::RecordBatch::Make(schema, batch->num_rows(), batch->columns());
}

std::string DiffBatches(const arrow::RecordBatch& expected,
                        const arrow::RecordBatch& actual) {
  std::ostringstream out;
  if (!expected.schema()->Equals(*actual.schema(), /*check_metadata=*/false)) {
    out << "schema differs:\n  expected: " << expected.schema()->ToString()
        << "\n  actual:   " << actual.schema()->ToString() << "\n";
    return out.str();
  }
  if (expected.num_rows() != actual.num_rows()) {
    out << "row count differs: expected " << expected.num_rows() << ", actual "
        << actual.num_rows() << "\n";
  }
  for (int i = 0; i < expected.num_columns(); ++i) {
    const auto& e = *expected.column(i);
    const auto& a = *actual.column(i);
    if (e.Equals(a)) continue;
    out << "column '" << expected.schema()->field(i)->name() << "' differs:\n"
        << e.Diff(a) << "\n";
  }
  return out.str();
}

}  // namespace jetflow::testing
