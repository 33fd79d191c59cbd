#include "jetflow/config/pipeline_config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "jetflow/builtins/builtin_components.h"

namespace jetflow {
namespace {

using ::testing::HasSubstr;

// Loads `text` as p.yaml; the error message when it is refused, "" when it loads.
std::string ErrorOf(const std::string& text) {
  ComponentRegistry registry;
  RegisterBuiltinComponents(registry);
  auto loaded = LoadPipelineText(text, "p.yaml", "/tmp/jetflow-config-test", registry);
  return loaded.ok() ? "" : loaded.status().message();
}

constexpr const char* kStages =
    "consumer: {type: generate, rows: 10}\n"
    "loaders:\n"
    "  - {type: parquet, path: ./lake}\n";

TEST(PipelineConfigTest, AGoodPipelineLoads) {
  EXPECT_EQ(ErrorOf(std::string("pipeline: orders\n") + kStages), "");
}

TEST(PipelineConfigTest, DuplicateKeysAreRefusedAtTheSecond) {
  EXPECT_THAT(
      ErrorOf(std::string("pipeline: a\n") + kStages + "pipeline: b\n"),
      HasSubstr("p.yaml:5:1: error: duplicate key 'pipeline' (first at p.yaml:1:1)"));
  // Nested maps too, also inside sequences.
  EXPECT_THAT(ErrorOf("pipeline: a\n"
                      "consumer: {type: generate, rows: 10, rows: 20}\n"
                      "loaders:\n"
                      "  - {type: parquet, path: ./lake, path: ./other}\n"),
              ::testing::AllOf(HasSubstr("p.yaml:2:38: error: duplicate key 'rows'"),
                               HasSubstr("p.yaml:4:35: error: duplicate key 'path'")));
}

TEST(PipelineConfigTest, ASecondDocumentIsRefused) {
  EXPECT_THAT(ErrorOf(std::string("pipeline: a\n") + kStages + "---\npipeline: b\n"),
              HasSubstr("p.yaml:6:1: error: a second YAML document"));
  // A bare end marker holds no second configuration.
  EXPECT_EQ(ErrorOf(std::string("pipeline: a\n") + kStages + "...\n"), "");
}

TEST(PipelineConfigTest, UnquotedReferenceInAFlowMapSaysToQuoteIt) {
  EXPECT_THAT(ErrorOf("pipeline: a\n"
                      "consumer: {type: generate, rows: ${ROWS}}\n"
                      "loaders:\n"
                      "  - {type: parquet, path: ./lake}\n"),
              HasSubstr("must be quoted, e.g. rows: \"${ROWS}\""));
}

TEST(PipelineConfigTest, DeepNestingIsNamed) {
  const std::string deep =
      "pipeline: a\nx: " + std::string(100000, '[') + std::string(100000, ']') + "\n";
  EXPECT_THAT(ErrorOf(deep), HasSubstr("nested more than"));
}

TEST(PipelineConfigTest, NamesHaveLimits) {
  EXPECT_THAT(ErrorOf(std::string("pipeline: \"\"\n") + kStages),
              HasSubstr("p.yaml:1:11: error: 'pipeline' must not be empty"));
  EXPECT_THAT(ErrorOf("pipeline: " + std::string(129, 'a') + "\n" + kStages),
              HasSubstr("at most 128 characters"));
  EXPECT_EQ(ErrorOf("pipeline: " + std::string(128, 'a') + "\n" + kStages), "");
  EXPECT_THAT(ErrorOf(std::string("pipeline: ..\n") + kStages),
              HasSubstr("not '.' or '..'"));
}

TEST(PipelineConfigTest, TwoLoadersMayNotShareALake) {
  EXPECT_THAT(ErrorOf("pipeline: a\n"
                      "consumer: {type: generate, rows: 10}\n"
                      "loaders:\n"
                      "  - {type: parquet, name: x, path: ./lake}\n"
                      "  - {type: parquet, name: y, path: lake/}\n"),
              HasSubstr("p.yaml:5:36: error: loaders 'x' and 'y' write the same path "
                        "/tmp/jetflow-config-test/lake"));
  EXPECT_THAT(ErrorOf("pipeline: a\n"
                      "consumer: {type: generate, rows: 10}\n"
                      "loaders:\n"
                      "  - {type: parquet, name: x, path: ./lake/inner}\n"
                      "  - {type: parquet, name: y, path: ./lake}\n"),
              HasSubstr("one lake inside the other"));
  // A common prefix of names is not nesting.
  EXPECT_EQ(ErrorOf("pipeline: a\n"
                    "consumer: {type: generate, rows: 10}\n"
                    "loaders:\n"
                    "  - {type: parquet, name: x, path: ./lake}\n"
                    "  - {type: parquet, name: y, path: ./lake2}\n"),
            "");
}

TEST(PipelineConfigTest, SectionsThatAreNotMapsAreRefused) {
  for (const char* section : {"engine: [4]", "engine: 4", "state: [sqlite, s.db]",
                              "run_instance: dt", "engine: {retries: 3}"}) {
    EXPECT_THAT(ErrorOf(std::string("pipeline: a\n") + kStages + section + "\n"),
                HasSubstr("must be a map"))
        << section;
  }
}

TEST(PipelineConfigTest, AliasBombsAreRefusedWithoutExpandingThem) {
  std::string text =
      std::string("pipeline: a\n") + kStages + "x0: &x0 [a, a, a, a, a, a, a, a, a, a]\n";
  for (int level = 1; level < 10; ++level) {
    text += "x" + std::to_string(level) + ": &x" + std::to_string(level) + " [";
    for (int i = 0; i < 10; ++i) text += (i ? ", *x" : "*x") + std::to_string(level - 1);
    text += "]\n";
  }
  EXPECT_THAT(ErrorOf(text), HasSubstr("with its aliases (*name) expanded"));
  // A few aliases are fine (and then only the unknown keys are wrong).
  EXPECT_THAT(ErrorOf(std::string("pipeline: a\n") + kStages + "x: &x [1]\ny: *x\n"),
              HasSubstr("unknown key 'x'"));
}

TEST(PipelineConfigTest, ALakeNeedsAFolderOfItsOwn) {
  auto with_path = [](const std::string& path) {
    return "pipeline: a\nconsumer: {type: generate, rows: 10}\nloaders:\n"
           "  - {type: parquet, path: \"" +
           path +
           "\"}\n"
           "state: {path: /tmp/jetflow-config-test/store/state.db}\n";
  };
  EXPECT_THAT(ErrorOf(with_path("/")), HasSubstr("writes the root folder /"));
  ASSERT_NE(std::getenv("HOME"), nullptr);
  EXPECT_THAT(ErrorOf(with_path(std::string(std::getenv("HOME")) + "/")),
              HasSubstr("writes the home folder"));
  EXPECT_THAT(
      ErrorOf(with_path("/tmp/jetflow-config-test/store")),
      HasSubstr("the state store /tmp/jetflow-config-test/store/state.db is inside"));
  EXPECT_THAT(ErrorOf(with_path("/tmp/jetflow-config-test")), HasSubstr("is inside"));
  EXPECT_EQ(ErrorOf(with_path("/tmp/jetflow-config-test/lake")), "");
}

}  // namespace
}  // namespace jetflow
