#include "jetflow/transforms/select_transformer.h"

#include <arrow/api.h>
#include <gtest/gtest.h>

#include "jetflow/core/config_node.h"
#include "jetflow/testing/batch_from_json.h"
#include "jetflow/testing/status_assertions.h"

namespace jetflow {
namespace {

std::shared_ptr<arrow::Schema> Input() {
  return arrow::schema({arrow::field("id", arrow::int64()),
                        arrow::field("name", arrow::utf8()),
                        arrow::field("note", arrow::utf8())});
}

TEST(SelectTransformerTest, KeepsReordersAndRenames) {
  SelectTransformer select({{"note", "id"}, {}, {{"note", "comment"}}});
  auto bound = select.Bind(Input());
  ASSERT_TRUE(bound.ok()) << bound.status().ToString();
  EXPECT_EQ((*bound)->ToString(), "comment: string\nid: int64");
  auto batch =
      testing::BatchFromJson(Input(), R"([{"id": 1, "name": "a", "note": "x"}])");
  JETFLOW_ASSERT_OK(batch);
  auto partition = select.Open({});
  JETFLOW_ASSERT_OK(partition);
  auto out = (*partition)->Apply(*batch);
  JETFLOW_ASSERT_OK(out);
  auto expected = testing::BatchFromJson(*bound, R"([{"comment": "x", "id": 1}])");
  EXPECT_EQ(testing::DiffBatches(**expected, **out), "");
}

TEST(SelectTransformerTest, DropsColumns) {
  SelectTransformer select({{}, {"name"}, {}});
  auto bound = select.Bind(Input());
  JETFLOW_ASSERT_OK(bound);
  EXPECT_EQ((*bound)->field_names(), (std::vector<std::string>{"id", "note"}));
}

TEST(SelectTransformerTest, UnknownColumnsListedWithSuggestions) {
  SelectTransformer select({{"idd", "nmae"}, {}, {{"missing", "x"}}});
  auto bound = select.Bind(Input());
  ASSERT_TRUE(bound.status().IsInvalid());
  const std::string& m = bound.status().message();
  EXPECT_NE(m.find("no column 'idd' (did you mean 'id'?)"), std::string::npos) << m;
  EXPECT_NE(m.find("no column 'nmae' (did you mean 'name'?)"), std::string::npos) << m;
  EXPECT_NE(m.find("no column 'missing'"), std::string::npos) << m;
}

TEST(SelectTransformerTest, RenameClashIsAnError) {
  SelectTransformer select({{}, {}, {{"name", "id"}}});
  EXPECT_TRUE(select.Bind(Input()).status().IsInvalid());
}

TEST(SelectTransformerTest, EmptyColumnListIsRefusedWhereItIsWritten) {
  Diagnostics diagnostics;
  ConfigNode node = ConfigNode::Parse("columns: []\n", "p.yaml", &diagnostics);
  auto options = SelectTransformer::ParseOptions(node);
  ASSERT_FALSE(options.ok());
  EXPECT_NE(options.status().message().find("p.yaml:1:10: error: 'columns' is empty"),
            std::string::npos)
      << options.status().message();
}

TEST(SelectTransformerTest, DroppingEveryColumnIsAnError) {
  SelectTransformer select({{}, {"id", "name", "note"}, {}});
  auto bound = select.Bind(Input());
  ASSERT_TRUE(bound.status().IsInvalid()) << bound.status().ToString();
  EXPECT_NE(bound.status().message().find("removes every column"), std::string::npos);
}

}  // namespace
}  // namespace jetflow
