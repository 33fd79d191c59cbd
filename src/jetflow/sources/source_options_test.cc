#include "jetflow/sources/source_options.h"

#include <arrow/type.h>
#include <gtest/gtest.h>

#include "jetflow/testing/status_assertions.h"

namespace jetflow::sources {
namespace {

TEST(SourceOptionsTest, ParsesColumnTypes) {
  const std::vector<std::pair<std::string, std::shared_ptr<arrow::DataType>>> cases = {
      {"int32", arrow::int32()},
      {"BIGINT", arrow::int64()},
      {"double", arrow::float64()},
      {"string", arrow::utf8()},
      {"date", arrow::date32()},
      {"timestamp", arrow::timestamp(arrow::TimeUnit::MICRO, "UTC")},
      {"timestamp[ms]", arrow::timestamp(arrow::TimeUnit::MILLI)},
      {"timestamp[us, UTC]", arrow::timestamp(arrow::TimeUnit::MICRO, "UTC")},
      {"timestamp[ns, tz=UTC]", arrow::timestamp(arrow::TimeUnit::NANO, "UTC")},
      {"decimal(18, 4)", arrow::decimal128(18, 4)},
      {"Decimal128(38,0)", arrow::decimal128(38, 0)},
      {"numeric(5)", arrow::decimal128(5, 0)},
      {"timestamp[us, tz=UTC]", arrow::timestamp(arrow::TimeUnit::MICRO, "UTC")},
      {"list<int32>", arrow::list(arrow::int32())},
  };
  for (const auto& [name, type] : cases) {
    auto parsed = ParseColumnType(name);
    ASSERT_TRUE(parsed.ok()) << name << ": " << parsed.status().ToString();
    EXPECT_TRUE((*parsed)->Equals(*type)) << name << " -> " << (*parsed)->ToString();
  }
  for (const char* bad :
       {"int33", "decimal(39,2)", "decimal(5,6)", "timestamp[us, Europe/Paris]",
        "timestamp[m]", "decimal(x)", ""}) {
    EXPECT_TRUE(ParseColumnType(bad).status().IsInvalid()) << bad;
  }
  EXPECT_NE(ParseColumnType("timestamp[ms, Europe/Paris]")
                .status()
                .message()
                .find("write timestamp[ms, UTC]"),
            std::string::npos);
  EXPECT_NE(ParseColumnType("decimal(39,2)").status().message().find("1 <= p <= 38"),
            std::string::npos);
  EXPECT_NE(ParseColumnType("in32").status().message().find("did you mean 'int32'"),
            std::string::npos);
}

TEST(SourceOptionsTest, FinishOptionsCountsOnlyNewErrors) {
  Diagnostics diagnostics;
  diagnostics.Error({"other.yaml", 1, 1}, "an earlier component's error");
  ConfigNode node = ConfigNode::Parse("a: 1\nbatch_rows: 10\n", "p.yaml", &diagnostics);
  const size_t before = ErrorCount(diagnostics);
  node.GetInt("a", 0);
  ComponentContext context;
  EXPECT_EQ(ParseBatchRows(node, context), 10);
  JETFLOW_EXPECT_OK(FinishOptions(node, before));
  ConfigNode bad = ConfigNode::Parse("b: 1\nbatch_rows: 0\n", "p.yaml", &diagnostics);
  const size_t before_bad = ErrorCount(diagnostics);
  EXPECT_EQ(ParseBatchRows(bad, context), context.batch_rows);
  auto status = FinishOptions(bad, before_bad);
  ASSERT_TRUE(status.IsInvalid());
  EXPECT_EQ(status.message().find("earlier"), std::string::npos) << status.message();
  EXPECT_NE(status.message().find("unknown key 'b'"), std::string::npos)
      << status.message();
  EXPECT_NE(status.message().find("'batch_rows' must be at least 1"), std::string::npos)
      << status.message();
}

}  // namespace
}  // namespace jetflow::sources
