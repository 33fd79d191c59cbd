#include "jetflow/testing/batch_compare.h"

#include <arrow/api.h>
#include <arrow/array/concatenate.h>
#include <arrow/compute/api.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <sstream>
#include <unordered_map>

namespace jetflow::testing {

namespace {

struct ColumnPair {
  std::string name;
  std::shared_ptr<arrow::Array> expected;
  std::shared_ptr<arrow::Array> actual;
};

arrow::Result<std::shared_ptr<arrow::Array>> Flatten(const arrow::ChunkedArray& column) {
  if (column.num_chunks() == 0) return arrow::MakeEmptyArray(column.type());
  if (column.num_chunks() == 1) return column.chunk(0);
  return arrow::Concatenate(column.chunks());
}

bool IsFloating(const arrow::DataType& type) {
  return type.id() == arrow::Type::DOUBLE || type.id() == arrow::Type::FLOAT;
}

bool FloatsEqual(double e, double a, double tolerance) {
  if (std::isnan(e) || std::isnan(a)) return std::isnan(e) && std::isnan(a);
  if (e == a) return true;
  return std::fabs(e - a) <= tolerance * std::max(std::fabs(e), std::fabs(a));
}

bool CellEqual(const arrow::Array& e, int64_t i, const arrow::Array& a, int64_t j,
               double tolerance) {
  bool e_null = e.IsNull(i);
  bool a_null = a.IsNull(j);
  if (e_null || a_null) return e_null && a_null;
  if (e.type_id() == arrow::Type::DOUBLE && a.type_id() == arrow::Type::DOUBLE) {
    return FloatsEqual(static_cast<const arrow::DoubleArray&>(e).Value(i),
                       static_cast<const arrow::DoubleArray&>(a).Value(j), tolerance);
  }
  if (e.type_id() == arrow::Type::FLOAT && a.type_id() == arrow::Type::FLOAT) {
    return FloatsEqual(static_cast<const arrow::FloatArray&>(e).Value(i),
                       static_cast<const arrow::FloatArray&>(a).Value(j),
                       tolerance == 0 ? 0 : std::max(tolerance, 1e-6));
  }
  return e.RangeEquals(i, i + 1, j, a);
}

bool RowEqual(const std::vector<ColumnPair>& pairs, int64_t i, int64_t j,
              double tolerance) {
  for (const auto& p : pairs) {
    if (!CellEqual(*p.expected, i, *p.actual, j, tolerance)) return false;
  }
  return true;
}

// Key of a row over its exactly-compared (non-float) columns, to bucket candidates.
std::string RowKey(const std::vector<ColumnPair>& pairs, bool expected, int64_t row) {
  std::string key;
  for (const auto& p : pairs) {
    const arrow::Array& array = expected ? *p.expected : *p.actual;
    if (IsFloating(*array.type())) continue;
    key += FormatValue(array, row);
    key += '\x1f';
  }
  return key;
}

std::string FormatRow(const std::vector<ColumnPair>& pairs, bool expected, int64_t row) {
  std::string out = "{";
  for (size_t c = 0; c < pairs.size(); ++c) {
    if (c > 0) out += ", ";
    out += pairs[c].name + ": ";
    out += FormatValue(expected ? *pairs[c].expected : *pairs[c].actual, row);
  }
  return out + "}";
}

std::string JoinNames(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

}  // namespace

std::string FormatValue(const arrow::Array& array, int64_t row) {
  if (array.IsNull(row)) return "null";
  auto scalar = array.GetScalar(row);
  if (!scalar.ok()) return "<" + scalar.status().ToString() + ">";
  switch (array.type_id()) {
    case arrow::Type::STRING:
    case arrow::Type::LARGE_STRING:
    case arrow::Type::STRING_VIEW:
    case arrow::Type::BINARY:
    case arrow::Type::LARGE_BINARY:
    case arrow::Type::BINARY_VIEW: {
      auto view = static_cast<const arrow::BaseBinaryScalar&>(**scalar).view();
      return nlohmann::json(std::string(view))
          .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    }
    case arrow::Type::LIST:
    case arrow::Type::LARGE_LIST:
    case arrow::Type::FIXED_SIZE_LIST:
    case arrow::Type::MAP: {
      auto values = static_cast<const arrow::BaseListScalar&>(**scalar).value;
      std::string out = "[";
      for (int64_t k = 0; values && k < values->length(); ++k) {
        out += (k > 0 ? ", " : "") + FormatValue(*values, k);
      }
      return out + "]";
    }
    case arrow::Type::STRUCT: {
      const auto& s = static_cast<const arrow::StructArray&>(array);
      std::string out = "{";
      for (int f = 0; f < s.num_fields(); ++f) {
        out += (f > 0 ? ", " : "") + s.type()->field(f)->name() + ": " +
               FormatValue(*s.field(f), row);
      }
      return out + "}";
    }
    default:
      return (*scalar)->ToString();
  }
}

arrow::Result<std::shared_ptr<arrow::Table>> TableFromBatches(
    const std::shared_ptr<arrow::Schema>& schema,
    const std::vector<std::shared_ptr<arrow::RecordBatch>>& batches) {
  if (batches.empty()) return arrow::Table::MakeEmpty(schema);
  return arrow::Table::FromRecordBatches(batches[0]->schema(), batches);
}

arrow::Result<TableDiff> CompareTables(const arrow::Table& expected,
                                       const arrow::Table& actual,
                                       const CompareOptions& options) {
  TableDiff diff;
  diff.ordered = options.ordered;
  diff.expected_rows = expected.num_rows();
  diff.actual_rows = actual.num_rows();
  const arrow::Schema& es = *expected.schema();
  const arrow::Schema& as = *actual.schema();

  std::vector<ColumnPair> pairs;
  for (int i = 0; i < es.num_fields(); ++i) {
    const auto& field = es.field(i);
    int j = as.GetFieldIndex(field->name());
    if (j < 0) {
      diff.problems.push_back(
          "column '" + field->name() +
          "' is missing (actual columns: " + JoinNames(as.field_names()) + ")");
      continue;
    }
    const auto& actual_type = as.field(j)->type();
    ARROW_ASSIGN_OR_RAISE(auto e, Flatten(*expected.column(i)));
    ARROW_ASSIGN_OR_RAISE(auto a, Flatten(*actual.column(j)));
    if (!e->type()->Equals(*actual_type)) {
      if (options.same_columns) {
        diff.problems.push_back("column '" + field->name() + "' has type " +
                                actual_type->ToString() + ", expected " +
                                field->type()->ToString());
      }
      auto cast =
          arrow::compute::Cast(e, actual_type, arrow::compute::CastOptions::Safe());
      if (!cast.ok()) {
        if (options.same_columns) continue;  // the type problem is reported
        return arrow::Status::Invalid("column '", field->name(), "': expected values (",
                                      field->type()->ToString(), ") do not convert to ",
                                      actual_type->ToString(), ": ",
                                      cast.status().message());
      }
      e = cast->make_array();
    }
    pairs.push_back({field->name(), std::move(e), std::move(a)});
  }
  if (options.same_columns) {
    for (const auto& field : as.fields()) {
      if (es.GetFieldIndex(field->name()) < 0) {
        diff.problems.push_back("unexpected column '" + field->name() + "' (" +
                                field->type()->ToString() + ")");
      }
    }
    if (diff.problems.empty() && es.field_names() != as.field_names()) {
      diff.problems.push_back("columns in another order: expected [" +
                              JoinNames(es.field_names()) + "], actual [" +
                              JoinNames(as.field_names()) + "]");
    }
  }

  const int64_t max = options.max_reported;
  auto add_cell = [&](int64_t i, int64_t j, const ColumnPair& p) {
    if (diff.cells_total++ < max) {
      diff.cells.push_back(
          {i, j, p.name, FormatValue(*p.expected, i), FormatValue(*p.actual, j)});
    }
  };
  auto add_missing = [&](int64_t i) {
    if (diff.missing_total++ < max)
      diff.missing_rows.push_back({i, FormatRow(pairs, true, i)});
  };
  auto add_extra = [&](int64_t j) {
    if (diff.extra_total++ < max)
      diff.extra_rows.push_back({j, FormatRow(pairs, false, j)});
  };

  const int64_t ne = expected.num_rows();
  const int64_t na = actual.num_rows();
  if (options.ordered) {
    int64_t n = std::min(ne, na);
    for (int64_t r = 0; r < n; ++r) {
      for (const auto& p : pairs) {
        if (!CellEqual(*p.expected, r, *p.actual, r, options.float_tolerance)) {
          add_cell(r, r, p);
        }
      }
    }
    for (int64_t r = n; r < ne; ++r) add_missing(r);
    for (int64_t r = n; r < na; ++r) add_extra(r);
    return diff;
  }

  // Unordered: match equal rows through buckets of their exact columns.
  std::unordered_map<std::string, std::vector<int64_t>> buckets;
  for (int64_t j = 0; j < na; ++j) buckets[RowKey(pairs, false, j)].push_back(j);
  std::vector<bool> used(static_cast<size_t>(na), false);
  std::vector<int64_t> missing;
  for (int64_t i = 0; i < ne; ++i) {
    bool matched = false;
    auto it = buckets.find(RowKey(pairs, true, i));
    if (it != buckets.end()) {
      for (int64_t j : it->second) {
        if (!used[j] && RowEqual(pairs, i, j, options.float_tolerance)) {
          used[j] = true;
          matched = true;
          break;
        }
      }
    }
    if (!matched) missing.push_back(i);
  }
  std::vector<int64_t> extra;
  for (int64_t j = 0; j < na; ++j) {
    if (!used[j]) extra.push_back(j);
  }
  // Pair a missing row with the extra row that agrees on most columns (at least half),
  // so that one wrong value reads as one cell, not as a missing and an extra row.
  std::vector<bool> extra_paired(extra.size(), false);
  const bool pairing = pairs.size() > 1 && missing.size() * extra.size() <= 1000000;
  for (int64_t i : missing) {
    int best = -1;
    size_t best_equal = 0;
    if (pairing) {
      for (size_t k = 0; k < extra.size(); ++k) {
        if (extra_paired[k]) continue;
        size_t equal = 0;
        for (const auto& p : pairs) {
          equal +=
              CellEqual(*p.expected, i, *p.actual, extra[k], options.float_tolerance);
        }
        if (equal > best_equal) {
          best_equal = equal;
          best = static_cast<int>(k);
        }
      }
    }
    if (best >= 0 && best_equal * 2 >= pairs.size()) {
      extra_paired[best] = true;
      for (const auto& p : pairs) {
        if (!CellEqual(*p.expected, i, *p.actual, extra[best], options.float_tolerance)) {
          add_cell(i, extra[best], p);
        }
      }
    } else {
      add_missing(i);
    }
  }
  for (size_t k = 0; k < extra.size(); ++k) {
    if (!extra_paired[k]) add_extra(extra[k]);
  }
  return diff;
}

arrow::Result<TableDiff> CompareBatches(const arrow::RecordBatch& expected,
                                        const arrow::RecordBatch& actual,
                                        const CompareOptions& options) {
  auto e = arrow::Table::Make(expected.schema(), expected.columns(), expected.num_rows());
  auto a = arrow::Table::Make(actual.schema(), actual.columns(), actual.num_rows());
  return CompareTables(*e, *a, options);
}

std::string TableDiff::ToString() const {
  std::ostringstream out;
  for (const auto& p : problems) out << p << "\n";
  if (expected_rows != actual_rows) {
    out << "row count: expected " << expected_rows << ", actual " << actual_rows << "\n";
  }
  for (const auto& c : cells) {
    if (ordered) {
      out << "row " << c.expected_row;
    } else {
      out << "expected row " << c.expected_row << " ~ actual row " << c.actual_row;
    }
    out << ", column '" << c.column << "': expected " << c.expected << ", actual "
        << c.actual << "\n";
  }
  if (cells_total > static_cast<int64_t>(cells.size())) {
    out << "... and " << cells_total - static_cast<int64_t>(cells.size())
        << " more differing cells\n";
  }
  for (const auto& r : missing_rows) {
    out << "missing row (expected row " << r.row << "): " << r.values << "\n";
  }
  if (missing_total > static_cast<int64_t>(missing_rows.size())) {
    out << "... and " << missing_total - static_cast<int64_t>(missing_rows.size())
        << " more missing rows\n";
  }
  for (const auto& r : extra_rows) {
    out << "extra row (actual row " << r.row << "): " << r.values << "\n";
  }
  if (extra_total > static_cast<int64_t>(extra_rows.size())) {
    out << "... and " << extra_total - static_cast<int64_t>(extra_rows.size())
        << " more extra rows\n";
  }
  return out.str();
}

}  // namespace jetflow::testing
