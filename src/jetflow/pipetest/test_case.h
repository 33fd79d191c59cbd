// Pipeline test cases: the YAML files `jetflow test` runs (docs/testing.md).
//
//   pipeline: ../orders.yaml          # optional; see FindTestFiles() for the default
//   cases:
//     - name: keeps paid orders
//       input: {rows: [{id: 1, status: paid}, {id: 2, status: open}]}
//       stages: all                   # | <transformer> | [from, to] (names or indexes)
//       expect: {rows: [{id: 1}], ordered: true}
//
// A test file is parsed against the pipeline it tests (its transformer and loader names
// are checked), with every mistake recorded in Diagnostics at file:line:col, like a
// pipeline file.
#pragma once

#include <arrow/type_fwd.h>

#include <cstdint>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "jetflow/core/config_node.h"

namespace jetflow::pipetest {

/// Where a case's input rows come from; exactly one of `rows` and `file` is set.
struct CaseInput {
  /// Row objects from `rows:` (YAML) or `json:` (a JSON array). Scalars from YAML are
  /// kept as text and converted to the column type later.
  std::optional<std::vector<nlohmann::json>> rows;
  /// `file:` fixture (CSV, JSON Lines or Parquet), resolved against the test file.
  std::optional<std::string> file;
  /// `schema:` {column: type}, in file order; empty = the pipeline's schema at the
  /// first stage (the consumer's InferSchema(), bound through earlier transformers).
  std::vector<std::pair<std::string, std::shared_ptr<arrow::DataType>>> schema;
  /// Rows per input batch; 0 = the pipeline's engine.batch_rows.
  int64_t batch_rows = 0;
  SourceLocation location;
};

struct CaseExpectation {
  /// Expected rows; only the columns they name are compared (a missing key is null).
  std::optional<std::vector<nlohmann::json>> rows;
  std::vector<std::string> row_columns;  // union of the rows' keys, first-seen order
  bool ordered = true;
  /// Exact output schema: these columns, in this order, of these types.
  std::optional<std::vector<std::pair<std::string, std::shared_ptr<arrow::DataType>>>>
      schema;
  std::optional<int64_t> row_count;
  /// Rows per rule (RuleCount::rule, or "<transformer>.<rule>"), summed over stages.
  std::map<std::string, int64_t> rule_counts;
  std::optional<int64_t> dropped;
  std::optional<int64_t> quarantined;
  /// The case must fail (bind, apply, or the run) with a message containing this.
  std::optional<std::string> error;
};

struct TestCase {
  std::string name;
  SourceLocation location;
  CaseInput input;
  /// Transformers [first_stage, end_stage) of the pipeline run on the input.
  size_t first_stage = 0;
  size_t end_stage = 0;
  /// Run the whole engine into a temporary lake and read the written Parquet back.
  bool through_loader = false;
  /// Index of the loader whose output is read back (through_loader).
  size_t loader = 0;
  /// Run instance value; empty = the pipeline's run_instance.value, else "test".
  std::string run_instance;
  CaseExpectation expect;
};

/// What a test file needs to know of its pipeline to be checked.
struct PipelineShape {
  std::string file;
  std::vector<std::string> transformers;  // stage names, in order
  std::vector<std::string> loaders;
};

struct TestFile {
  std::string path;
  std::string pipeline_path;
  std::vector<TestCase> cases;
};

/// The `pipeline:` of a test file resolved against its folder, if it names one. Records
/// YAML errors in `diagnostics`.
std::optional<std::string> DeclaredPipeline(const std::string& test_path,
                                            Diagnostics* diagnostics);

/// Parses the cases of `test_path` against `pipeline`. Every problem goes to
/// `diagnostics`; the result is meaningful only if it has no error.
TestFile ParseTestFile(const std::string& test_path, const PipelineShape& pipeline,
                       Diagnostics* diagnostics);

}  // namespace jetflow::pipetest
