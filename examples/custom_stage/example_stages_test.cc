// Unit tests of the example's components with jetflow's testing library: batches from
// JSON, the stage harnesses, and table assertions with readable diffs.
#include <arrow/api.h>
#include <gtest/gtest.h>

#include "clamp_transformer.h"
#include "countdown_consumer.h"
#include "jetflow/testing/batch_assertions.h"
#include "jetflow/testing/batch_from_json.h"
#include "jetflow/testing/stage_harness.h"

namespace example {
namespace {

using jetflow::testing::BatchesFromJson;
using jetflow::testing::BatchFromJson;

std::shared_ptr<arrow::Schema> Prices() {
  return arrow::schema(
      {arrow::field("id", arrow::int64()), arrow::field("price", arrow::float64())});
}

TEST(ClampTransformerTest, ClampsAcrossBatchesAndKeepsNulls) {
  ClampTransformer clamp({"price", 0, 100});
  JETFLOW_ASSERT_OK_AND_ASSIGN(
      auto input,
      BatchesFromJson(Prices(), R"([{"id": 1, "price": -5}, {"id": 2, "price": 50},
        {"id": 3, "price": 250.5}, {"id": 4, "price": null}])",
                      /*batch_rows=*/3));
  JETFLOW_ASSERT_OK_AND_ASSIGN(auto out, jetflow::testing::RunTransformer(clamp, input));
  JETFLOW_ASSERT_OK_AND_ASSIGN(
      auto expected,
      BatchFromJson(Prices(), R"([{"id": 1, "price": 0}, {"id": 2, "price": 50},
        {"id": 3, "price": 100}, {"id": 4, "price": null}])"));
  auto expected_table = arrow::Table::Make(expected->schema(), expected->columns());
  JETFLOW_EXPECT_TABLES_EQUAL(*expected_table, *out.table);
  EXPECT_EQ(out.batches.size(), 2u);  // batch boundaries are kept
}

TEST(ClampTransformerTest, DiffNamesTheWrongCell) {
  ClampTransformer clamp({"price", 0, 10});
  JETFLOW_ASSERT_OK_AND_ASSIGN(auto input,
                               BatchFromJson(Prices(), R"([{"id": 1, "price": 20}])"));
  JETFLOW_ASSERT_OK_AND_ASSIGN(auto out,
                               jetflow::testing::RunTransformer(clamp, {input}));
  JETFLOW_ASSERT_OK_AND_ASSIGN(auto wrong,
                               BatchFromJson(Prices(), R"([{"id": 1, "price": 20}])"));
  auto result = jetflow::testing::TablesEqual(
      *arrow::Table::Make(wrong->schema(), wrong->columns()), *out.table);
  ASSERT_FALSE(result);
  EXPECT_NE(
      std::string(result.message()).find("row 0, column 'price': expected 20, actual 10"),
      std::string::npos)
      << result.message();
}

TEST(ClampTransformerTest, BindRejectsBadColumns) {
  ClampTransformer typo({"prize", 0, 1});
  auto bound = typo.Bind(Prices());
  ASSERT_TRUE(bound.status().IsInvalid());
  EXPECT_NE(bound.status().message().find("did you mean 'price'"), std::string::npos);
  ClampTransformer fraction({"id", 0.5, 2});
  EXPECT_FALSE(fraction.Bind(Prices()).ok());  // 0.5 does not fit int64
}

TEST(CountdownConsumerTest, ReadsEveryPartitionOnce) {
  CountdownConsumer consumer({/*from=*/5, /*partitions=*/2, /*batch_rows=*/2});
  JETFLOW_ASSERT_OK_AND_ASSIGN(
      auto table, jetflow::testing::ReadConsumer(consumer, {"dt", "2024-01-01"}));
  auto schema = arrow::schema({arrow::field("n", arrow::int64(), false)});
  JETFLOW_ASSERT_OK_AND_ASSIGN(
      auto expected,
      BatchFromJson(schema, R"([{"n": 5}, {"n": 4}, {"n": 3}, {"n": 2}, {"n": 1}])"));
  JETFLOW_EXPECT_TABLES_EQUAL(*arrow::Table::Make(schema, expected->columns()), *table);
}

}  // namespace
}  // namespace example
