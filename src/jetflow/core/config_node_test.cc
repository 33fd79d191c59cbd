#include "jetflow/core/config_node.h"

#include <gtest/gtest.h>

#include <cstdlib>

#include "jetflow/core/error.h"

namespace jetflow {
namespace {

TEST(ConfigNodeTest, ReadsTypedValuesWithDefaults) {
  Diagnostics diagnostics;
  auto root = ConfigNode::Parse(
      "name: x\ncount: 12\nratio: 0.5\nflag: yes\nsize: 64KiB\nwait: 250ms\nday: 1d\n",
      "p.yaml", &diagnostics);
  EXPECT_EQ(root.GetString("name", ""), "x");
  EXPECT_EQ(root.GetInt("count", 0), 12);
  EXPECT_EQ(root.GetInt("missing", 7), 7);
  EXPECT_DOUBLE_EQ(root.GetDouble("ratio", 0), 0.5);
  EXPECT_TRUE(root.GetBool("flag", false));
  EXPECT_EQ(root.GetBytes("size", 0), 65536);
  EXPECT_EQ(root.GetDuration("wait", {}).count(), 250);
  EXPECT_EQ(root.GetDuration("day", {}), std::chrono::hours(24));
  root.CheckNoUnknownKeys();
  EXPECT_FALSE(diagnostics.has_errors()) << diagnostics.ToStatus().ToString();
}

TEST(ConfigNodeTest, ReportsEveryErrorWithLocation) {
  Diagnostics diagnostics;
  auto root = ConfigNode::Parse("count: abc\ncompresion: zstd\nsize: lots\n", "p.yaml",
                                &diagnostics);
  root.GetInt("count", 0);
  root.GetString("compression", "none");
  root.GetBytes("size", 0);
  root.RequireString("path");
  root.CheckNoUnknownKeys();
  auto status = diagnostics.ToStatus();
  ASSERT_TRUE(status.IsInvalid());
  const std::string& m = status.message();
  EXPECT_NE(m.find("p.yaml:1:8: error: 'count' must be an integer"), std::string::npos)
      << m;
  EXPECT_NE(
      m.find("p.yaml:2:1: error: unknown key 'compresion' (did you mean 'compression'?)"),
      std::string::npos)
      << m;
  EXPECT_NE(m.find("p.yaml:3:7"), std::string::npos) << m;
  EXPECT_NE(m.find("missing required key 'path'"), std::string::npos) << m;
}

TEST(ConfigNodeTest, QuantitiesBeyondInt64AreErrorsNotOverflows) {
  Diagnostics diagnostics;
  auto root = ConfigNode::Parse(
      "size: 9223372036854775808\nbig: 99999999TiB\nwait: 999999999999999999999d\n"
      "huge: " +
          std::string(400, '9') + "\nlargest: 9223372036854774784\n",
      "p.yaml", &diagnostics);
  EXPECT_EQ(root.GetBytes("size", 7), 7);
  EXPECT_EQ(root.GetBytes("big", 7), 7);
  EXPECT_EQ(root.GetDuration("wait", std::chrono::seconds(1)), std::chrono::seconds(1));
  EXPECT_EQ(root.GetBytes("huge", 7), 7);  // infinite as a double
  EXPECT_EQ(root.GetBytes("largest", 7), int64_t{9223372036854774784});
  const std::string m = diagnostics.ToStatus().message();
  EXPECT_NE(m.find("p.yaml:1:7: error: 'size' is too large"), std::string::npos) << m;
  EXPECT_NE(m.find("p.yaml:2:6: error: 'big' is too large"), std::string::npos) << m;
  EXPECT_NE(m.find("p.yaml:3:7: error: 'wait' is too large"), std::string::npos) << m;
  EXPECT_NE(m.find("p.yaml:4:7: error: 'huge' is too large"), std::string::npos) << m;
  EXPECT_EQ(m.find("largest"), std::string::npos) << m;
}

TEST(ConfigNodeTest, SyntaxErrorHasLocation) {
  Diagnostics diagnostics;
  ConfigNode::Parse("a: [1, 2\nb: 3\n", "bad.yaml", &diagnostics);
  auto status = diagnostics.ToStatus();
  ASSERT_TRUE(status.IsInvalid());
  EXPECT_NE(status.message().find("bad.yaml:"), std::string::npos) << status.message();
}

TEST(ConfigNodeTest, ATokenThatStartsNoValueIsAnErrorNotAHang) {
  // yaml-cpp 0.7's LoadAll loops forever on these (jbeder/yaml-cpp#1040).
  for (const std::string text : {",", " ,\n", ",pipeline: {name: x}\nloaders: []\n"}) {
    SCOPED_TRACE(text);
    Diagnostics diagnostics;
    auto root = ConfigNode::Parse(text, "p.yaml", &diagnostics);
    EXPECT_FALSE(root.IsDefined());
    const std::string m = diagnostics.ToStatus().message();
    EXPECT_NE(m.find("p.yaml:1:"), std::string::npos) << m;
    EXPECT_NE(m.find("unexpected ','"), std::string::npos) << m;
  }
  // Documents still count: a second one is an error, an empty stream holds none.
  Diagnostics diagnostics;
  auto root = ConfigNode::Parse("a: 1\n---\nb: 2\n", "p.yaml", &diagnostics);
  EXPECT_TRUE(root.IsMap());
  EXPECT_NE(diagnostics.ToStatus().message().find("p.yaml:3:1: error: a second YAML"),
            std::string::npos)
      << diagnostics.ToStatus().ToString();
  Diagnostics empty;
  EXPECT_FALSE(ConfigNode::Parse("# only a comment\n", "p.yaml", &empty).IsDefined());
  EXPECT_TRUE(ConfigNode::Parse("a: 1\n---\n", "p.yaml", &empty).IsMap());
  EXPECT_FALSE(empty.has_errors()) << empty.ToStatus().ToString();
}

TEST(ConfigNodeTest, AnAliasOfItselfIsRefusedNotWalkedForever) {
  for (const std::string text :
       {"a: &x [1, *x]\n", "a: &x {b: [*x]}\n", "a: &x [&y [*x], *y]\n"}) {
    SCOPED_TRACE(text);
    Diagnostics diagnostics;
    EXPECT_FALSE(ConfigNode::Parse(text, "p.yaml", &diagnostics).IsDefined());
    const std::string m = diagnostics.ToStatus().message();
    EXPECT_NE(m.find("with its aliases (*name) expanded"), std::string::npos) << m;
  }
}

TEST(ConfigNodeTest, ExpandsEnvironmentVariables) {
  setenv("JETFLOW_TEST_SECRET", "s3cr3t", 1);
  unsetenv("JETFLOW_TEST_UNSET");
  Diagnostics diagnostics;
  auto root = ConfigNode::Parse(
      "a: \"pw=${JETFLOW_TEST_SECRET}\"\nb: \"${JETFLOW_TEST_UNSET:-fallback}\"\n"
      "c: \"${JETFLOW_TEST_UNSET}\"\nd: \"$${literal}\"\n",
      "p.yaml", &diagnostics);
  EXPECT_EQ(root.GetString("a", ""), "pw=s3cr3t");
  EXPECT_EQ(root.GetString("b", ""), "fallback");
  EXPECT_EQ(root.GetString("c", "x"), "");
  EXPECT_EQ(root.GetString("d", ""), "${literal}");
  auto status = diagnostics.ToStatus();
  ASSERT_TRUE(status.IsInvalid());
  EXPECT_NE(status.message().find("p.yaml:3:4: error: 'c': environment variable "
                                  "'JETFLOW_TEST_UNSET' is not set"),
            std::string::npos)
      << status.message();
}

TEST(ConfigNodeTest, EnumSuggestsClosestValue) {
  Diagnostics diagnostics;
  auto root = ConfigNode::Parse("profile: sprak\n", "p.yaml", &diagnostics);
  EXPECT_EQ(root.GetEnum("profile", "spark", {"spark", "lossless"}), "spark");
  EXPECT_NE(diagnostics.ToStatus().message().find("did you mean 'spark'?"),
            std::string::npos);
}

TEST(ConfigNodeTest, NestedPathsInMessages) {
  Diagnostics diagnostics;
  auto root = ConfigNode::Parse("loaders:\n  - type: parquet\n    rows: -1\n", "p.yaml",
                                &diagnostics);
  auto loaders = root.Get("loaders").Elements();
  ASSERT_EQ(loaders.size(), 1u);
  loaders[0].GetInt("rows", 1, 0);
  EXPECT_NE(diagnostics.ToStatus().message().find(
                "p.yaml:3:11: error: 'loaders[0].rows' must be at least 0, got '-1'"),
            std::string::npos)
      << diagnostics.ToStatus().message();
}

// Copies share the node and its read keys; assigning one node to another rebinds it
// and never rewrites the YAML it referred to.
TEST(ConfigNodeTest, CopiesShareAndAssignmentRebinds) {
  Diagnostics diagnostics;
  auto root = ConfigNode::Parse("a: {x: 1}\nb: {y: 2}\n", "p.yaml", &diagnostics);
  ConfigNode a = root.Get("a");
  const ConfigNode copy = a;
  EXPECT_EQ(copy.GetInt("x", 0), 1);
  a.CheckNoUnknownKeys();  // x was read through the copy
  a = root.Get("b");
  EXPECT_EQ(a.GetInt("y", 0), 2);
  EXPECT_EQ(a.path(), "b");
  EXPECT_EQ(root.Get("a").GetInt("x", 0), 1);
  EXPECT_EQ(copy.GetInt("x", 0), 1);
  EXPECT_EQ(copy.location().line, 1);
  EXPECT_FALSE(diagnostics.has_errors()) << diagnostics.ToStatus().ToString();
}

TEST(ErrorTest, RetryableDetailSurvivesContext) {
  auto status = MarkRetryable(arrow::Status::IOError("connection reset"));
  EXPECT_TRUE(IsRetryable(status));
  auto with_context = AddContext(status, "partition p00001");
  EXPECT_TRUE(IsRetryable(with_context));
  EXPECT_EQ(with_context.message(), "connection reset (partition p00001)");
  EXPECT_FALSE(IsRetryable(arrow::Status::Invalid("bad")));
}

}  // namespace
}  // namespace jetflow
