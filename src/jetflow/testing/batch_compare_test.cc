#include "jetflow/testing/batch_compare.h"

#include <arrow/api.h>
#include <gtest/gtest.h>

#include "jetflow/testing/batch_assertions.h"
#include "jetflow/testing/batch_from_json.h"

namespace jetflow::testing {
namespace {

std::shared_ptr<arrow::Schema> Orders() {
  return arrow::schema({arrow::field("id", arrow::int64()),
                        arrow::field("name", arrow::utf8()),
                        arrow::field("total", arrow::float64())});
}

std::shared_ptr<arrow::Table> ToTable(const std::shared_ptr<arrow::RecordBatch>& b) {
  return arrow::Table::Make(b->schema(), b->columns(), b->num_rows());
}

TEST(BatchFromJsonTest, ConvertsByColumnType) {
  auto schema = arrow::schema(
      {arrow::field("d", arrow::decimal128(10, 2)), arrow::field("day", arrow::date32()),
       arrow::field("ts", arrow::timestamp(arrow::TimeUnit::MICRO, "UTC")),
       arrow::field("naive", arrow::timestamp(arrow::TimeUnit::MILLI)),
       arrow::field("flag", arrow::boolean()),
       arrow::field("tags", arrow::list(arrow::utf8())),
       arrow::field("f", arrow::float32())});
  JETFLOW_ASSERT_OK_AND_ASSIGN(
      auto batch, BatchFromJson(schema, R"([{"d": "12.50", "day": "2024-02-29",
        "ts": "2024-03-10T02:30:00", "naive": "2024-03-10 02:30:00.125", "flag": true,
        "tags": ["a", null], "f": 0.1},
        {"d": 3, "ts": "2024-03-10T03:30:00+01:00"}])"));
  EXPECT_EQ(batch->num_rows(), 2);
  EXPECT_EQ(FormatValue(*batch->column(0), 0), "12.50");
  EXPECT_EQ(FormatValue(*batch->column(0), 1), "3.00");
  EXPECT_EQ(FormatValue(*batch->column(1), 0), "2024-02-29");
  EXPECT_EQ(FormatValue(*batch->column(1), 1), "null");  // missing key
  // Offset-less values of a zoned column are UTC; offsets are honoured.
  EXPECT_TRUE(batch->column(2)->RangeEquals(0, 1, 1, *batch->column(2)));
  EXPECT_EQ(FormatValue(*batch->column(5), 0), "[\"a\", null]");
  EXPECT_FLOAT_EQ(static_cast<const arrow::FloatArray&>(*batch->column(6)).Value(0),
                  0.1f);
}

TEST(BatchFromJsonTest, NamesTheValueThatDoesNotFit) {
  auto bad = BatchFromJson(Orders(), R"([{"id": 1}, {"id": 1.5}])");
  ASSERT_TRUE(bad.status().IsInvalid());
  EXPECT_NE(
      bad.status().message().find("column 'id': row 1: value 1.5 is not a valid int64"),
      std::string::npos)
      << bad.status().message();
  auto typo = BatchFromJson(Orders(), R"([{"idd": 1}])");
  EXPECT_NE(typo.status().message().find("no column 'idd'"), std::string::npos);
  auto overflow =
      BatchFromJson(arrow::schema({arrow::field("x", arrow::int8())}), R"([{"x": 300}])");
  EXPECT_TRUE(overflow.status().IsInvalid());
}

TEST(BatchFromJsonTest, SlicesIntoBatches) {
  JETFLOW_ASSERT_OK_AND_ASSIGN(
      auto batches, BatchesFromJson(Orders(), R"([{"id": 1}, {"id": 2}, {"id": 3}])", 2));
  ASSERT_EQ(batches.size(), 2u);
  EXPECT_EQ(batches[0]->num_rows(), 2);
  EXPECT_EQ(batches[1]->num_rows(), 1);
  JETFLOW_ASSERT_OK_AND_ASSIGN(auto empty, BatchesFromJson(Orders(), "[]", 2));
  ASSERT_EQ(empty.size(), 1u);
  EXPECT_EQ(empty[0]->num_rows(), 0);
}

TEST(CompareTablesTest, EqualTablesHaveNoDiff) {
  JETFLOW_ASSERT_OK_AND_ASSIGN(
      auto a, BatchFromJson(Orders(), R"([{"id": 1, "name": "a", "total": 0.3}])"));
  JETFLOW_ASSERT_OK_AND_ASSIGN(
      auto b, BatchFromJson(Orders(),
                            R"([{"id": 1, "name": "a", "total": 0.30000000000000004}])"));
  JETFLOW_EXPECT_BATCHES_EQUAL(*a, *b);  // within the float tolerance
  EXPECT_EQ(DiffBatches(*a, *a), "");
}

TEST(CompareTablesTest, ReportsRowColumnExpectedActual) {
  JETFLOW_ASSERT_OK_AND_ASSIGN(auto e, BatchFromJson(Orders(), R"([
      {"id": 1, "name": "a", "total": 1.5}, {"id": 2, "name": "b", "total": 2},
      {"id": 3, "name": "c", "total": 3}])"));
  JETFLOW_ASSERT_OK_AND_ASSIGN(auto a, BatchFromJson(Orders(), R"([
      {"id": 1, "name": "a", "total": 1.5}, {"id": 2, "name": null, "total": 2.5}])"));
  JETFLOW_ASSERT_OK_AND_ASSIGN(auto diff, CompareBatches(*e, *a));
  EXPECT_EQ(diff.ToString(),
            "row count: expected 3, actual 2\n"
            "row 1, column 'name': expected \"b\", actual null\n"
            "row 1, column 'total': expected 2, actual 2.5\n"
            "missing row (expected row 2): {id: 3, name: \"c\", total: 3}\n");
  EXPECT_FALSE(BatchesEqual(*e, *a));
}

TEST(CompareTablesTest, UnorderedMatchesRowsAsMultisets) {
  JETFLOW_ASSERT_OK_AND_ASSIGN(auto e, BatchFromJson(Orders(), R"([
      {"id": 1, "name": "a"}, {"id": 2, "name": "b"}, {"id": 2, "name": "b"},
      {"id": 4, "name": "d", "total": 1}])"));
  JETFLOW_ASSERT_OK_AND_ASSIGN(auto a, BatchFromJson(Orders(), R"([
      {"id": 2, "name": "b"}, {"id": 4, "name": "d", "total": 2}, {"id": 1, "name": "a"},
      {"id": 9, "name": "z", "total": 5}])"));
  CompareOptions options;
  options.ordered = false;
  JETFLOW_ASSERT_OK_AND_ASSIGN(auto diff, CompareBatches(*e, *a, options));
  EXPECT_EQ(diff.ToString(),
            "expected row 3 ~ actual row 1, column 'total': expected 1, actual 2\n"
            "missing row (expected row 2): {id: 2, name: \"b\", total: null}\n"
            "extra row (actual row 3): {id: 9, name: \"z\", total: 5}\n")
      << diff.ToString();
}

TEST(CompareTablesTest, SchemaProblemsAndSubsetOfColumns) {
  auto narrow = arrow::schema({arrow::field("total", arrow::utf8())});
  JETFLOW_ASSERT_OK_AND_ASSIGN(auto e, BatchFromJson(narrow, R"([{"total": "1.25"}])"));
  JETFLOW_ASSERT_OK_AND_ASSIGN(auto a,
                               BatchFromJson(Orders(), R"([{"id": 1, "total": 1.25}])"));
  JETFLOW_ASSERT_OK_AND_ASSIGN(auto strict, CompareBatches(*e, *a));
  EXPECT_NE(strict.ToString().find("column 'total' has type double, expected string"),
            std::string::npos)
      << strict.ToString();
  EXPECT_NE(strict.ToString().find("unexpected column 'id'"), std::string::npos);
  CompareOptions subset;
  subset.same_columns = false;
  JETFLOW_ASSERT_OK_AND_ASSIGN(auto loose, CompareBatches(*e, *a, subset));
  EXPECT_TRUE(loose.empty()) << loose.ToString();  // "1.25" cast to double
  JETFLOW_ASSERT_OK_AND_ASSIGN(auto bad, BatchFromJson(narrow, R"([{"total": "x"}])"));
  EXPECT_TRUE(CompareBatches(*bad, *a, subset).status().IsInvalid());
}

TEST(CompareTablesTest, NaNsAndNullsAndEmptyTables) {
  auto schema = arrow::schema({arrow::field("x", arrow::float64())});
  JETFLOW_ASSERT_OK_AND_ASSIGN(auto e,
                               BatchFromJson(schema, R"([{"x": "nan"}, {"x": null}])"));
  JETFLOW_EXPECT_BATCHES_EQUAL(*e, *e);
  JETFLOW_ASSERT_OK_AND_ASSIGN(auto empty, BatchFromJson(schema, "[]"));
  JETFLOW_ASSERT_OK_AND_ASSIGN(auto diff, CompareTables(*ToTable(empty), *ToTable(e)));
  EXPECT_EQ(diff.extra_total, 2);
}

}  // namespace
}  // namespace jetflow::testing
