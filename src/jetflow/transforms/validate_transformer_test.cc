#include "jetflow/transforms/validate_transformer.h"

#include <arrow/api.h>
#include <gtest/gtest.h>

#include "jetflow/testing/batch_from_json.h"
#include "jetflow/testing/status_assertions.h"

namespace jetflow {
namespace {

std::shared_ptr<arrow::Schema> Input() {
  return arrow::schema(
      {arrow::field("id", arrow::int64()), arrow::field("amount", arrow::float64()),
       arrow::field("status", arrow::utf8()), arrow::field("email", arrow::utf8())});
}

struct Result {
  std::vector<std::shared_ptr<arrow::RecordBatch>> out;
  std::vector<SideBatch> side;
  TransformCounters counters;
  arrow::Status status;
};

class ValidateTest : public ::testing::Test {
 protected:
  arrow::Status Make(const std::string& yaml) {
    ConfigNode node = ConfigNode::Parse(yaml, "p.yaml", &diagnostics_);
    ComponentContext context;
    context.base_dir = "/base";
    ARROW_ASSIGN_OR_RAISE(auto options, ValidateTransformer::ParseOptions(node, context));
    validate_ = std::make_unique<ValidateTransformer>(std::move(options));
    return validate_->Bind(Input()).status();
  }

  Result Apply(const std::vector<std::string>& batches) {
    Result result;
    auto partition = validate_->Open({});
    result.status = partition.status();
    if (!partition.ok()) return result;
    for (const auto& json : batches) {
      auto batch = testing::BatchFromJson(Input(), json);
      if (!batch.ok()) {
        result.status = batch.status();
        return result;
      }
      auto out = (*partition)->Apply(*batch);
      result.counters = (*partition)->counters();
      if (!out.ok()) {
        result.status = out.status();
        return result;
      }
      result.out.push_back(*out);
      for (auto& side : (*partition)->TakeSideBatches()) result.side.push_back(side);
    }
    return result;
  }

  int64_t Count(const Result& result, const std::string& rule) {
    for (const auto& r : result.counters.rules) {
      if (r.rule == rule) return r.rows;
    }
    return -1;
  }

  Diagnostics diagnostics_;
  std::unique_ptr<ValidateTransformer> validate_;
};

constexpr const char* kRows = R"([
  {"id": 1, "amount": 10, "status": "new", "email": "a@x.org"},
  {"id": null, "amount": 5, "status": "new", "email": "b@x.org"},
  {"id": 3, "amount": -1, "status": "paid", "email": "c@x.org"},
  {"id": 4, "amount": null, "status": "lost", "email": "nope"},
  {"id": 1, "amount": 7, "status": null, "email": null}
])";

TEST_F(ValidateTest, EachRuleWithDropCountsItsRows) {
  JETFLOW_ASSERT_OK(Make(R"(rules:
  - {not_null: id, on_fail: drop}
  - {range: {column: amount, min: 0, max: 1e6}, on_fail: drop}
  - {allowed: {column: status, values: [new, paid]}, on_fail: drop}
  - {regex: {column: email, pattern: "^[^@]+@[^@]+$"}, on_fail: drop}
  - {unique: [id], on_fail: drop}
)"));
  Result result = Apply({kRows, "[]"});
  ASSERT_TRUE(result.status.ok()) << result.status.ToString();
  EXPECT_EQ(result.out[0]->num_rows(), 1);  // only id 1 survives once
  EXPECT_EQ(Count(result, "not_null_id"), 1);
  EXPECT_EQ(Count(result, "range_amount"), 1);    // -1; null passes
  EXPECT_EQ(Count(result, "allowed_status"), 1);  // lost; null passes
  EXPECT_EQ(Count(result, "regex_email"), 0);     // "nope" already dropped; null passes
  EXPECT_EQ(Count(result, "unique_id"), 1);       // second id 1
  EXPECT_EQ(result.counters.rows_dropped, 4);
  EXPECT_EQ(result.out[1]->num_rows(), 0);
}

TEST_F(ValidateTest, UniqueSpansBatches) {
  JETFLOW_ASSERT_OK(Make("rules: [{unique: id, on_fail: drop}]"));
  Result result = Apply({R"([{"id": 1}, {"id": 2}])", R"([{"id": 2}, {"id": null},
                                                          {"id": null}])"});
  JETFLOW_ASSERT_OK(result.status);
  EXPECT_EQ(result.out[0]->num_rows(), 2);
  EXPECT_EQ(result.out[1]->num_rows(), 1);  // nulls are equal to each other
  EXPECT_EQ(Count(result, "unique_id"), 2);
}

TEST_F(ValidateTest, FailNamesRuleAndFirstRows) {
  JETFLOW_ASSERT_OK(Make("rules: [{name: positive, range: {column: amount, min: 0}}]"));
  Result result = Apply({R"([{"id": 1, "amount": 1}])", kRows});
  ASSERT_TRUE(result.status.IsInvalid());
  const std::string& m = result.status.message();
  EXPECT_NE(m.find("rule 'positive'"), std::string::npos) << m;
  EXPECT_NE(m.find("row 3 {id: 3, amount: -1"), std::string::npos) << m;
  EXPECT_EQ(Count(result, "positive"), 1);
}

TEST_F(ValidateTest, QuarantineCarriesRuleAndReason) {
  JETFLOW_ASSERT_OK(Make(R"(rules:
  - {name: has_id, not_null: id, on_fail: quarantine}
  - {allowed: {column: status, values: [new, paid]}, on_fail: quarantine}
quarantine: {path: q})"));
  ASSERT_EQ(validate_->side_outputs().size(), 1u);
  EXPECT_EQ(validate_->side_outputs()[0].path, "/base/q");
  Result result = Apply({kRows});
  ASSERT_TRUE(result.status.ok()) << result.status.ToString();
  EXPECT_EQ(result.out[0]->num_rows(), 3);
  EXPECT_EQ(result.counters.rows_quarantined, 2);
  ASSERT_EQ(result.side.size(), 2u);
  auto rows = result.side[0].batch;
  EXPECT_EQ(rows->GetColumnByName("_jetflow_rule")->GetScalar(0).ValueOrDie()->ToString(),
            "has_id");
  EXPECT_EQ(
      rows->GetColumnByName("_jetflow_reason")->GetScalar(0).ValueOrDie()->ToString(),
      "not_null id");
  EXPECT_EQ(result.side[1]
                .batch->GetColumnByName("status")
                ->GetScalar(0)
                .ValueOrDie()
                ->ToString(),
            "lost");
}

TEST_F(ValidateTest, RegexOnInvalidUtf8MatchesBytes) {
  JETFLOW_ASSERT_OK(
      Make("rules: [{regex: {column: email, pattern: \"@\"}, on_fail: drop}]"));
  arrow::StringBuilder builder;
  JETFLOW_ASSERT_OK(builder.Append(std::string("a@\xff\xfe")));
  JETFLOW_ASSERT_OK(builder.Append(std::string("\xc3")));
  auto emails = builder.Finish().ValueOrDie();
  auto base = testing::BatchFromJson(Input(), R"([{"id": 1}, {"id": 2}])").ValueOrDie();
  auto batch = base->SetColumn(3, Input()->field(3), emails).ValueOrDie();
  auto partition = validate_->Open({});
  JETFLOW_ASSERT_OK(partition);
  // Invalid UTF-8 is matched byte-wise, like any string: the row with an '@' passes,
  // the other is dropped and counted.
  JETFLOW_ASSERT_OK_AND_ASSIGN(auto out, (*partition)->Apply(batch));
  ASSERT_EQ(out->num_rows(), 1);
  EXPECT_EQ(out->column(0)->GetScalar(0).ValueOrDie()->ToString(), "1");
  EXPECT_EQ((*partition)->counters().rows_dropped, 1);
}

TEST_F(ValidateTest, BindErrorsNameRuleLocationAndColumn) {
  arrow::Status status = Make(R"(rules:
  - {not_null: idd}
  - {range: {column: status, min: 0}}
  - {range: {column: amount, min: abc}}
  - {allowed: {column: id, values: [1, x]}}
  - {regex: {column: id, pattern: "a"}}
  - {regex: {column: email, pattern: "(unclosed"}}
)");
  ASSERT_TRUE(status.IsInvalid());
  const std::string& m = status.message();
  EXPECT_NE(
      m.find("p.yaml:2:5: rule 'not_null_idd': no column 'idd' (did you mean 'id'?)"),
      std::string::npos)
      << m;
  EXPECT_NE(m.find("'abc' is not a valid double"), std::string::npos) << m;
  EXPECT_NE(m.find("allowed value 'x' is not a valid int64"), std::string::npos) << m;
  EXPECT_NE(m.find("regex needs a string column"), std::string::npos) << m;
  EXPECT_NE(m.find("invalid pattern"), std::string::npos) << m;
  EXPECT_NE(m.find("p.yaml:7:"), std::string::npos) << m;
}

TEST_F(ValidateTest, ConfigErrorsAreLocated) {
  arrow::Status status = Make(R"(rules:
  - {not_nul: id}
  - {not_null: id, unique: [id]}
  - {not_null: id, on_fail: quarantine}
)");
  ASSERT_TRUE(status.IsInvalid());
  const std::string& m = status.message();
  EXPECT_NE(m.find("p.yaml:2:"), std::string::npos) << m;
  EXPECT_NE(m.find("did you mean 'not_null'"), std::string::npos) << m;
  EXPECT_NE(m.find("exactly one of"), std::string::npos) << m;
  EXPECT_NE(m.find("quarantine"), std::string::npos) << m;
}

TEST_F(ValidateTest, EmptyBatchesPassThrough) {
  JETFLOW_ASSERT_OK(Make("rules: [{not_null: id}]"));
  Result result = Apply({"[]", "[]"});
  JETFLOW_ASSERT_OK(result.status);
  EXPECT_EQ(result.out[0]->num_rows(), 0);
  EXPECT_EQ(Count(result, "not_null_id"), 0);
}

}  // namespace
}  // namespace jetflow
