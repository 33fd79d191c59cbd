#include "jetflow/transforms/cast_transformer.h"

#include <arrow/api.h>
#include <arrow/compute/initialize.h>
#include <gtest/gtest.h>

#include "jetflow/testing/batch_from_json.h"
#include "jetflow/testing/status_assertions.h"

namespace jetflow {
namespace {

// Arrow's full kernel registry (the CLI initialises it in main), for every test of this
// binary.
const bool kComputeInitialized = arrow::compute::Initialize().ok();

std::shared_ptr<arrow::Schema> Input() {
  return arrow::schema({arrow::field("id", arrow::int64()),
                        arrow::field("amount", arrow::utf8()),
                        arrow::field("qty", arrow::int64())});
}

arrow::Result<CastTransformer::Options> Parse(const std::string& yaml,
                                              Diagnostics* diagnostics) {
  ConfigNode node = ConfigNode::Parse(yaml, "p.yaml", diagnostics);
  ComponentContext context;
  context.base_dir = "/base";
  return CastTransformer::ParseOptions(node, context);
}

struct CastRun {
  std::vector<std::shared_ptr<arrow::RecordBatch>> out;
  std::vector<SideBatch> side;
  TransformCounters counters;
  arrow::Status status;
};

CastRun Apply(CastTransformer& cast, const std::vector<std::string>& batches) {
  CastRun run;
  auto partition = cast.Open({});
  if (!partition.ok()) {
    run.status = partition.status();
    return run;
  }
  for (const auto& json : batches) {
    auto batch = testing::BatchFromJson(Input(), json);
    if (!batch.ok()) {
      run.status = batch.status();
      return run;
    }
    auto out = (*partition)->Apply(*batch);
    if (!out.ok()) {
      run.status = out.status();
      return run;
    }
    run.out.push_back(*out);
    for (auto& side : (*partition)->TakeSideBatches()) run.side.push_back(side);
  }
  run.counters = (*partition)->counters();
  return run;
}

TEST(CastTransformerTest, CastsAndKeepsOtherColumns) {
  ASSERT_TRUE(kComputeInitialized);
  Diagnostics diagnostics;
  auto options = Parse("columns: {amount: \"decimal(18,2)\", qty: int32}", &diagnostics);
  ASSERT_TRUE(options.ok()) << options.status().ToString();
  CastTransformer cast(*options);
  auto bound = cast.Bind(Input());
  ASSERT_TRUE(bound.ok()) << bound.status().ToString();
  EXPECT_EQ((*bound)->field(1)->type()->ToString(), "decimal128(18, 2)");
  EXPECT_EQ((*bound)->field(2)->type()->ToString(), "int32");
  CastRun run = Apply(cast, {R"([{"id": 1, "amount": "12.50", "qty": 3},
                             {"id": 2, "amount": null, "qty": null}])",
                             "[]"});
  ASSERT_TRUE(run.status.ok()) << run.status.ToString();
  auto expected =
      testing::BatchFromJson(*bound, R"([{"id": 1, "amount": "12.50", "qty": 3},
                                                     {"id": 2, "amount": null, "qty": null}])");
  ASSERT_TRUE(expected.ok()) << expected.status().ToString();
  EXPECT_EQ(testing::DiffBatches(**expected, *run.out[0]), "");
  EXPECT_EQ(run.out[1]->num_rows(), 0);
}

TEST(CastTransformerTest, ErrorPolicyNamesColumnRowAndValue) {
  Diagnostics diagnostics;
  auto options = Parse("columns: {qty: int8}", &diagnostics);
  JETFLOW_ASSERT_OK(options);
  CastTransformer cast(*options);
  JETFLOW_ASSERT_OK(cast.Bind(Input()));
  CastRun run = Apply(cast, {R"([{"id": 1, "qty": 3}, {"id": 2, "qty": 4}])",
                             R"([{"id": 3, "qty": 5}, {"id": 4, "qty": 300}])"});
  ASSERT_TRUE(run.status.IsInvalid());
  const std::string& m = run.status.message();
  EXPECT_NE(m.find("column 'qty'"), std::string::npos) << m;
  EXPECT_NE(m.find("300"), std::string::npos) << m;
  EXPECT_NE(m.find("row 3"), std::string::npos) << m;  // 0-based row in the partition
}

TEST(CastTransformerTest, NullPolicyNullsOnlyFailingValues) {
  Diagnostics diagnostics;
  auto options =
      Parse("columns: {amount: {type: \"decimal(5,2)\", on_error: null}}", &diagnostics);
  JETFLOW_ASSERT_OK(options);
  CastTransformer cast(*options);
  auto bound = cast.Bind(Input());
  JETFLOW_ASSERT_OK(bound);
  EXPECT_TRUE((*bound)->field(1)->nullable());
  CastRun run = Apply(cast, {R"([{"id": 1, "amount": "1.5"}, {"id": 2, "amount": "abc"},
                             {"id": 3, "amount": "123456.7"}, {"id": 4, "amount": "2"}])"});
  ASSERT_TRUE(run.status.ok()) << run.status.ToString();
  auto expected = testing::BatchFromJson(
      *bound, R"([{"id": 1, "amount": "1.50"}, {"id": 2, "amount": null},
                  {"id": 3, "amount": null}, {"id": 4, "amount": "2.00"}])");
  ASSERT_TRUE(expected.ok()) << expected.status().ToString();
  EXPECT_EQ(testing::DiffBatches(**expected, *run.out[0]), "");
  ASSERT_EQ(run.counters.rules.size(), 1u);
  EXPECT_EQ(run.counters.rules[0].rule, "cast:amount");
  EXPECT_EQ(run.counters.rules[0].action, "null");
  EXPECT_EQ(run.counters.rules[0].rows, 2);
  EXPECT_EQ(run.counters.rows_dropped + run.counters.rows_quarantined, 0);
}

TEST(CastTransformerTest, QuarantinePolicyMovesRowsWithOriginalValues) {
  Diagnostics diagnostics;
  auto options = Parse(
      "columns: {qty: {type: int16, on_error: quarantine}, amount: {type: float64, "
      "on_error: quarantine}}\nquarantine: {path: q}",
      &diagnostics);
  ASSERT_TRUE(options.ok()) << options.status().ToString();
  EXPECT_EQ(*options->quarantine_path, "/base/q");
  CastTransformer cast(*options);
  JETFLOW_ASSERT_OK(cast.Bind(Input()));
  ASSERT_EQ(cast.side_outputs().size(), 1u);
  EXPECT_EQ(cast.side_outputs()[0].schema->field_names(),
            (std::vector<std::string>{"id", "amount", "qty", "_jetflow_rule",
                                      "_jetflow_reason"}));
  CastRun run = Apply(cast, {R"([{"id": 1, "amount": "1", "qty": 70000},
                             {"id": 2, "amount": "x", "qty": 1},
                             {"id": 3, "amount": "2", "qty": 2}])"});
  ASSERT_TRUE(run.status.ok()) << run.status.ToString();
  EXPECT_EQ(run.out[0]->num_rows(), 1);
  EXPECT_EQ(run.counters.rows_quarantined, 2);
  ASSERT_EQ(run.side.size(), 2u);
  auto first = run.side[0].batch;
  EXPECT_EQ(first->num_rows(), 1);
  EXPECT_EQ(first->GetColumnByName("qty")->GetScalar(0).ValueOrDie()->ToString(),
            "70000");
  EXPECT_EQ(
      first->GetColumnByName("_jetflow_rule")->GetScalar(0).ValueOrDie()->ToString(),
      "cast:qty");
  auto reason =
      first->GetColumnByName("_jetflow_reason")->GetScalar(0).ValueOrDie()->ToString();
  EXPECT_NE(reason.find("70000"), std::string::npos) << reason;
  auto second = run.side[1].batch;
  EXPECT_EQ(second->GetColumnByName("amount")->GetScalar(0).ValueOrDie()->ToString(),
            "x");
}

TEST(CastTransformerTest, BindListsUnknownColumnsAndImpossibleCasts) {
  CastTransformer cast({{{"qtty", arrow::int32(), RowPolicy::kFail},
                         {"id", arrow::list(arrow::int32()), RowPolicy::kFail}},
                        std::nullopt});
  auto bound = cast.Bind(Input());
  ASSERT_TRUE(bound.status().IsInvalid());
  const std::string& m = bound.status().message();
  EXPECT_NE(m.find("no column 'qtty' (did you mean 'qty'?)"), std::string::npos) << m;
  EXPECT_NE(m.find("column 'id' of type int64 cannot be cast"), std::string::npos) << m;
}

TEST(CastTransformerTest, ConfigErrorsAreLocated) {
  Diagnostics diagnostics;
  auto options = Parse(
      "columns:\n  amount: {type: \"decimal(99\", on_eror: null}\n  qty: {type: int8, "
      "on_error: quarantine}",
      &diagnostics);
  ASSERT_FALSE(options.ok());
  const std::string m = options.status().message();
  EXPECT_NE(m.find("p.yaml:2:"), std::string::npos) << m;
  EXPECT_NE(m.find("on_error"), std::string::npos) << m;    // did you mean
  EXPECT_NE(m.find("quarantine"), std::string::npos) << m;  // no quarantine path
}

}  // namespace
}  // namespace jetflow
