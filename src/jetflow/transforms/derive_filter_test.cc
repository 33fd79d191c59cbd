// derive and filter: the transformers that run expressions (docs/expressions.md).
#include <arrow/api.h>
#include <gtest/gtest.h>

#include "jetflow/testing/batch_from_json.h"
#include "jetflow/testing/status_assertions.h"
#include "jetflow/transforms/derive_transformer.h"
#include "jetflow/transforms/filter_transformer.h"

namespace jetflow {
namespace {

std::shared_ptr<arrow::Schema> Input() {
  return arrow::schema(
      {arrow::field("first", arrow::utf8()), arrow::field("last", arrow::utf8()),
       arrow::field("amount", arrow::int64()), arrow::field("status", arrow::utf8())});
}

constexpr const char* kRows = R"([
  {"first": "Ada", "last": "Lovelace", "amount": 10, "status": "paid"},
  {"first": "Alan", "last": "Turing", "amount": 2000, "status": "cancelled"},
  {"first": null, "last": "Hopper", "amount": null, "status": null}])";

TEST(DeriveTransformerTest, LaterColumnsSeeEarlierOnesAndNamesReplace) {
  Diagnostics diagnostics;
  ConfigNode node = ConfigNode::Parse(R"y(columns:
  full_name: "concat(first, ' ', last)"
  big: amount > 1000
  amount: amount * 2
  double_big: "big AND amount > 1000"
)y",
                                      "p.yaml", &diagnostics);
  auto options = DeriveTransformer::ParseOptions(node);
  ASSERT_TRUE(options.ok()) << options.status().ToString();
  DeriveTransformer derive(*options);
  auto bound = derive.Bind(Input());
  ASSERT_TRUE(bound.ok()) << bound.status().ToString();
  EXPECT_EQ((*bound)->field_names(),
            (std::vector<std::string>{"first", "last", "amount", "status", "full_name",
                                      "big", "double_big"}));
  auto partition = derive.Open({}).ValueOrDie();
  auto out = partition->Apply(testing::BatchFromJson(Input(), kRows).ValueOrDie());
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ((*out)->GetColumnByName("full_name")->GetScalar(0).ValueOrDie()->ToString(),
            "Ada Lovelace");
  EXPECT_EQ((*out)->GetColumnByName("amount")->GetScalar(1).ValueOrDie()->ToString(),
            "4000");
  EXPECT_EQ((*out)->GetColumnByName("double_big")->GetScalar(1).ValueOrDie()->ToString(),
            "true");
  EXPECT_FALSE((*out)->GetColumnByName("big")->IsValid(2));
  auto empty = partition->Apply(testing::BatchFromJson(Input(), "[]").ValueOrDie());
  JETFLOW_ASSERT_OK(empty);
  EXPECT_EQ((*empty)->num_rows(), 0);
}

TEST(DeriveTransformerTest, CompileErrorsPointInsideTheYaml) {
  Diagnostics diagnostics;
  ConfigNode node =
      ConfigNode::Parse("columns:\n  x: \"amount + nope\"\n", "p.yaml", &diagnostics);
  DeriveTransformer derive(DeriveTransformer::ParseOptions(node).ValueOrDie());
  auto bound = derive.Bind(Input());
  ASSERT_TRUE(bound.status().IsInvalid());
  EXPECT_NE(bound.status().message().find("p.yaml:2:"), std::string::npos)
      << bound.status().message();
}

TEST(FilterTransformerTest, KeepsTrueRowsAndCountsTheRest) {
  Diagnostics diagnostics;
  ConfigNode node =
      ConfigNode::Parse("where: \"status != 'cancelled'\"", "p.yaml", &diagnostics);
  FilterTransformer filter(FilterTransformer::ParseOptions(node).ValueOrDie());
  auto bound = filter.Bind(Input());
  ASSERT_TRUE(bound.ok()) << bound.status().ToString();
  auto partition = filter.Open({}).ValueOrDie();
  auto out = partition->Apply(testing::BatchFromJson(Input(), kRows).ValueOrDie());
  JETFLOW_ASSERT_OK(out);
  EXPECT_EQ((*out)->num_rows(), 1);  // the null status is dropped too, as in SQL
  EXPECT_EQ(partition->counters().rows_dropped, 2);
  EXPECT_EQ(partition->counters().rules[0].rule, "where");
}

TEST(FilterTransformerTest, NonBooleanIsAPlanError) {
  Diagnostics diagnostics;
  ConfigNode node = ConfigNode::Parse("where: amount + 1", "p.yaml", &diagnostics);
  FilterTransformer filter(FilterTransformer::ParseOptions(node).ValueOrDie());
  auto bound = filter.Bind(Input());
  ASSERT_TRUE(bound.status().IsInvalid());
  EXPECT_NE(bound.status().message().find("p.yaml:1:8"), std::string::npos)
      << bound.status().message();
  Diagnostics missing_diagnostics;
  ConfigNode missing = ConfigNode::Parse("wher: x", "p.yaml", &missing_diagnostics);
  EXPECT_FALSE(FilterTransformer::ParseOptions(missing).ok());
}

}  // namespace
}  // namespace jetflow
