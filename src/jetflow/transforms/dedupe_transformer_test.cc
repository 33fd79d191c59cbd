#include "jetflow/transforms/dedupe_transformer.h"

#include <arrow/api.h>
#include <gtest/gtest.h>

#include "jetflow/testing/batch_from_json.h"
#include "jetflow/testing/status_assertions.h"
#include "jetflow/transforms/constant_transformer.h"
#include "jetflow/transforms/metadata_transformer.h"

namespace jetflow {
namespace {

std::shared_ptr<arrow::Schema> Input() {
  return arrow::schema({arrow::field("id", arrow::int64()),
                        arrow::field("name", arrow::utf8()),
                        arrow::field("ts", arrow::int64())});
}

/// All output rows of a partition (Apply of every batch, then Finish) as one batch.
std::shared_ptr<arrow::RecordBatch> RunDedupe(const DedupeTransformer::Options& options,
                                              const std::vector<std::string>& batches,
                                              TransformCounters* counters) {
  DedupeTransformer dedupe(options);
  JETFLOW_EXPECT_OK(dedupe.Bind(Input()));
  auto partition = dedupe.Open({}).ValueOrDie();
  std::vector<std::shared_ptr<arrow::RecordBatch>> out;
  for (const auto& json : batches) {
    out.push_back(partition->Apply(testing::BatchFromJson(Input(), json).ValueOrDie())
                      .ValueOrDie());
  }
  for (auto& batch : partition->Finish().ValueOrDie()) out.push_back(batch);
  *counters = partition->counters();
  auto table = arrow::Table::FromRecordBatches(Input(), out).ValueOrDie();
  return table->CombineChunksToBatch().ValueOrDie();
}

constexpr const char* kFirst = R"([{"id": 1, "name": "a", "ts": 5},
                                   {"id": 2, "name": "b", "ts": 1},
                                   {"id": 1, "name": "c", "ts": 9}])";
constexpr const char* kSecond = R"([{"id": 2, "name": "d", "ts": 0},
                                    {"id": 1, "name": "e", "ts": 7},
                                    {"id": null, "name": "f", "ts": null},
                                    {"id": null, "name": "g", "ts": 3}])";

std::string Names(const arrow::RecordBatch& batch) {
  std::string names;
  auto column = std::static_pointer_cast<arrow::StringArray>(batch.column(1));
  for (int64_t i = 0; i < column->length(); ++i) names += column->GetString(i);
  return names;
}

TEST(DedupeTransformerTest, KeepFirstStreams) {
  TransformCounters counters;
  auto out = RunDedupe({{"id"}, false, std::nullopt}, {kFirst, kSecond}, &counters);
  EXPECT_EQ(Names(*out), "abf");
  EXPECT_EQ(counters.rows_dropped, 4);
  EXPECT_EQ(counters.rules[0].rule, "duplicates");
}

TEST(DedupeTransformerTest, KeepLastHoldsUntilFinish) {
  TransformCounters counters;
  auto out = RunDedupe({{"id"}, true, std::nullopt}, {kFirst, kSecond}, &counters);
  EXPECT_EQ(Names(*out), "deg");  // stream order of the winners
  EXPECT_EQ(counters.rows_dropped, 4);
}

TEST(DedupeTransformerTest, OrderByPicksLargestOrSmallestAndNullsLose) {
  TransformCounters counters;
  auto last = RunDedupe({{"id"}, true, "ts"}, {kFirst, kSecond}, &counters);
  EXPECT_EQ(Names(*last), "bcg");
  auto first = RunDedupe({{"id"}, false, "ts"}, {kFirst, kSecond}, &counters);
  EXPECT_EQ(Names(*first), "adg");
  EXPECT_EQ(counters.rows_dropped, 4);
}

TEST(DedupeTransformerTest, CompositeKeysAndEmptyBatches) {
  TransformCounters counters;
  auto out = RunDedupe({{"id", "name"}, true, std::nullopt},
                       {"[]", R"([{"id": 1, "name": "a"}, {"id": 1, "name": "b"},
                                  {"id": 1, "name": "a"}])",
                        "[]"},
                       &counters);
  EXPECT_EQ(out->num_rows(), 2);
  EXPECT_EQ(counters.rows_dropped, 1);
}

TEST(DedupeTransformerTest, MemoryLimitFailsWithAMessage) {
  DedupeTransformer dedupe({{"name"}, true, std::nullopt, 100});
  JETFLOW_ASSERT_OK(dedupe.Bind(Input()));
  auto partition = dedupe.Open({}).ValueOrDie();
  auto out = partition->Apply(testing::BatchFromJson(Input(), kFirst).ValueOrDie());
  ASSERT_TRUE(out.status().IsInvalid());
  EXPECT_NE(out.status().message().find("max_bytes"), std::string::npos);
}

TEST(DedupeTransformerTest, BindChecksColumns) {
  DedupeTransformer dedupe({{"idd"}, false, std::nullopt});
  auto bound = dedupe.Bind(Input());
  ASSERT_TRUE(bound.status().IsInvalid());
  EXPECT_NE(bound.status().message().find("did you mean 'id'"), std::string::npos);
  DedupeTransformer ordered({{"id"}, false, "nmae"});
  EXPECT_TRUE(ordered.Bind(Input()).status().IsInvalid());
}

TEST(ConstantTransformerTest, TypedValuesAndLocatedErrors) {
  Diagnostics diagnostics;
  ConfigNode node = ConfigNode::Parse(R"(columns:
  - {name: source_system, value: crm}
  - {name: version, value: 3, type: int32}
  - {name: note, value: null}
)",
                                      "p.yaml", &diagnostics);
  auto options = ConstantTransformer::ParseOptions(node);
  ASSERT_TRUE(options.ok()) << options.status().ToString();
  ConstantTransformer constant(*options);
  auto bound = constant.Bind(Input());
  JETFLOW_ASSERT_OK(bound);
  EXPECT_EQ((*bound)->ToString(),
            "id: int64\nname: string\nts: int64\nsource_system: string not null\n"
            "version: int32 not null\nnote: string");
  auto partition = constant.Open({}).ValueOrDie();
  auto out = partition->Apply(testing::BatchFromJson(Input(), kFirst).ValueOrDie());
  JETFLOW_ASSERT_OK(out);
  auto expected = testing::BatchFromJson(*bound, R"([
    {"id": 1, "name": "a", "ts": 5, "source_system": "crm", "version": 3, "note": null},
    {"id": 2, "name": "b", "ts": 1, "source_system": "crm", "version": 3, "note": null},
    {"id": 1, "name": "c", "ts": 9, "source_system": "crm", "version": 3, "note": null}])");
  EXPECT_EQ(testing::DiffBatches(**expected, **out), "");

  Diagnostics bad_diagnostics;
  ConfigNode bad = ConfigNode::Parse("columns:\n  - {name: v, value: abc, type: int32}\n",
                                     "p.yaml", &bad_diagnostics);
  auto failed = ConstantTransformer::ParseOptions(bad);
  ASSERT_FALSE(failed.ok());
  EXPECT_NE(failed.status().message().find("p.yaml:2:"), std::string::npos)
      << failed.status().message();
  ConstantTransformer clash({{{"id", std::make_shared<arrow::Int64Scalar>(1)}}});
  EXPECT_TRUE(clash.Bind(Input()).status().IsInvalid());
}

TEST(MetadataTransformerTest, AddsRunPartitionTimeAndSource) {
  Diagnostics diagnostics;
  ConfigNode node = ConfigNode::Parse("{}", "p.yaml", &diagnostics);
  auto options = MetadataTransformer::ParseOptions(node);
  JETFLOW_ASSERT_OK(options);
  MetadataTransformer metadata(*options);
  auto bound = metadata.Bind(Input());
  JETFLOW_ASSERT_OK(bound);
  PartitionContext context;
  context.run = {"dt", "2026-11-25"};
  context.partition.id = "p00001";
  context.run_started_us = 1764028800000000;  // 2025-11-25T00:00:00Z
  context.source = "orders_db";
  auto partition = metadata.Open(context).ValueOrDie();
  auto out = partition->Apply(testing::BatchFromJson(Input(), kFirst).ValueOrDie());
  JETFLOW_ASSERT_OK(out);
  EXPECT_EQ((*out)->num_columns(), 7);
  EXPECT_EQ(
      (*out)->GetColumnByName("_jetflow_run")->GetScalar(2).ValueOrDie()->ToString(),
      "2026-11-25");
  EXPECT_EQ((*out)
                ->GetColumnByName("_jetflow_partition")
                ->GetScalar(0)
                .ValueOrDie()
                ->ToString(),
            "p00001");
  EXPECT_EQ(
      (*out)->GetColumnByName("_jetflow_source")->GetScalar(1).ValueOrDie()->ToString(),
      "orders_db");
  EXPECT_EQ((*out)
                ->GetColumnByName("_jetflow_ingested_at")
                ->GetScalar(0)
                .ValueOrDie()
                ->ToString(),
            "2025-11-25 00:00:00.000000Z");

  Diagnostics named_diagnostics;
  ConfigNode named =
      ConfigNode::Parse("columns: {partition: id}", "p.yaml", &named_diagnostics);
  MetadataTransformer clash(MetadataTransformer::ParseOptions(named).ValueOrDie());
  EXPECT_TRUE(clash.Bind(Input()).status().IsInvalid());
  Diagnostics typo_diagnostics;
  ConfigNode typo =
      ConfigNode::Parse("columns: {partiton: p}", "p.yaml", &typo_diagnostics);
  auto failed = MetadataTransformer::ParseOptions(typo);
  ASSERT_FALSE(failed.ok());
  EXPECT_NE(failed.status().message().find("did you mean 'partition'"), std::string::npos)
      << failed.status().message();
}

}  // namespace
}  // namespace jetflow
