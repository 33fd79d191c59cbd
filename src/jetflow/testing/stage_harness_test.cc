#include "jetflow/testing/stage_harness.h"

#include <arrow/api.h>
#include <gtest/gtest.h>

#include "jetflow/testing/batch_assertions.h"
#include "jetflow/testing/batch_from_json.h"

namespace jetflow::testing {
namespace {

std::shared_ptr<arrow::Schema> Ids() {
  return arrow::schema({arrow::field("id", arrow::int64())});
}

// Keeps even ids, holds the last batch back until Finish(), reports a side output.
class EvenOnly : public Transformer {
 public:
  arrow::Result<std::shared_ptr<arrow::Schema>> Bind(
      const std::shared_ptr<arrow::Schema>& input) override {
    if (input->GetFieldIndex("id") < 0) return arrow::Status::Invalid("no column 'id'");
    return input;
  }
  std::vector<SideOutputSpec> side_outputs() const override {
    return {{"odd", "/nowhere", Ids()}};
  }
  arrow::Result<std::unique_ptr<PartitionTransform>> Open(
      const PartitionContext&) override {
    class Partition : public PartitionTransform {
     public:
      arrow::Result<std::shared_ptr<arrow::RecordBatch>> Apply(
          const std::shared_ptr<arrow::RecordBatch>& batch) override {
        std::vector<nlohmann::json> even, odd;
        const auto& ids = static_cast<const arrow::Int64Array&>(*batch->column(0));
        for (int64_t i = 0; i < ids.length(); ++i) {
          (ids.Value(i) % 2 == 0 ? even : odd).push_back({{"id", ids.Value(i)}});
        }
        counters_.rows_dropped += static_cast<int64_t>(odd.size());
        ARROW_ASSIGN_OR_RAISE(auto side, BatchFromJsonRows(Ids(), odd));
        side_.push_back({0, side});
        auto previous = held_;
        ARROW_ASSIGN_OR_RAISE(held_, BatchFromJsonRows(Ids(), even));
        if (previous) return previous;
        return BatchFromJsonRows(Ids(), {});
      }
      arrow::Result<std::vector<std::shared_ptr<arrow::RecordBatch>>> Finish() override {
        return std::vector<std::shared_ptr<arrow::RecordBatch>>{held_};
      }
      TransformCounters counters() const override { return counters_; }
      std::vector<SideBatch> TakeSideBatches() override { return std::move(side_); }

     private:
      std::shared_ptr<arrow::RecordBatch> held_;
      TransformCounters counters_;
      std::vector<SideBatch> side_;
    };
    return std::make_unique<Partition>();
  }
};

TEST(StageHarnessTest, RunsApplyAndFinishAndDrainsSideOutputs) {
  EvenOnly even;
  JETFLOW_ASSERT_OK_AND_ASSIGN(
      auto input,
      BatchesFromJson(Ids(), R"([{"id": 1}, {"id": 2}, {"id": 3}, {"id": 4}])", 3));
  JETFLOW_ASSERT_OK_AND_ASSIGN(auto out, RunTransformer(even, input));
  JETFLOW_ASSERT_OK_AND_ASSIGN(auto expected,
                               BatchFromJson(Ids(), R"([{"id": 2}, {"id": 4}])"));
  JETFLOW_EXPECT_TABLES_EQUAL(*arrow::Table::Make(Ids(), expected->columns()),
                              *out.table);
  ASSERT_EQ(out.counters.size(), 1u);
  EXPECT_EQ(out.counters[0].rows_dropped, 2);
  ASSERT_EQ(out.side_rows.size(), 1u);
  EXPECT_EQ(out.side_rows[0].output.name, "odd");
  ASSERT_EQ(out.side_rows[0].batches.size(), 2u);
  EXPECT_EQ(
      out.side_rows[0].batches[0]->num_rows() + out.side_rows[0].batches[1]->num_rows(),
      2);
}

TEST(StageHarnessTest, ChainsStagesAndNamesTheFailingOne) {
  EvenOnly first, second;
  JETFLOW_ASSERT_OK_AND_ASSIGN(auto input,
                               BatchFromJson(Ids(), R"([{"id": 2}, {"id": 5}])"));
  JETFLOW_ASSERT_OK_AND_ASSIGN(auto out, RunTransformers({&first, &second}, {input}));
  EXPECT_EQ(out.table->num_rows(), 1);
  auto wrong = arrow::schema({arrow::field("x", arrow::int64())});
  JETFLOW_ASSERT_OK_AND_ASSIGN(auto bad, BatchFromJson(wrong, R"([{"x": 1}])"));
  auto failed = RunTransformers({&first, &second}, {bad});
  ASSERT_FALSE(failed.ok());
  EXPECT_NE(failed.status().message().find("transformer #0 Bind"), std::string::npos)
      << failed.status().message();
}

TEST(StageHarnessTest, FixtureConsumerYieldsItsBatchesAsOnePartition) {
  JETFLOW_ASSERT_OK_AND_ASSIGN(
      auto input, BatchesFromJson(Ids(), R"([{"id": 1}, {"id": 2}, {"id": 3}])", 2));
  FixtureConsumer consumer(Ids(), input);
  JETFLOW_ASSERT_OK_AND_ASSIGN(auto table, ReadConsumer(consumer, {"dt", "2024-01-01"}));
  EXPECT_EQ(table->num_rows(), 3);
  JETFLOW_ASSERT_OK_AND_ASSIGN(auto plan, consumer.PlanPartitions({"dt", "x"}));
  ASSERT_EQ(plan.size(), 1u);
  EXPECT_EQ(plan[0].expected_rows, 3);
}

}  // namespace
}  // namespace jetflow::testing
