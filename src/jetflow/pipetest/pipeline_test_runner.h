// Runs one pipeline test case with no live source: the pipeline's consumer is replaced by
// the case's input rows, then either
//  - the selected transformers run in the calling thread over the input, split into
//    batches of engine.batch_rows (Bind -> Open -> Apply... -> Finish, side outputs
//    drained as the engine does; testing/stage_harness.h), or
//  - with through_loader, the whole engine runs the pipeline into a temporary folder
//    (every `path:` of the loaders and transformers is redirected there, with a
//    temporary state store), and the Parquet written by the selected loader is read back.
// The output is then checked against the case's expectations.
//
// Threading: RunTestCase may be called from one thread at a time per registry.
#pragma once

#include <string>

#include "jetflow/core/registry.h"
#include "jetflow/pipetest/test_case.h"

namespace jetflow::pipetest {

struct CaseResult {
  std::string file;  // test file path
  std::string name;
  SourceLocation location;
  bool passed = false;
  /// Why it failed: one problem per line (diffs, errors); empty when passed.
  std::string message;
  double seconds = 0;
};

/// Runs `test_case` of `file` (whose pipeline is file.pipeline_path). Never fails as a
/// function: every problem, including a pipeline that no longer loads, is a failed case.
CaseResult RunTestCase(const TestFile& file, const TestCase& test_case,
                       const ComponentRegistry& registry);

}  // namespace jetflow::pipetest
