// `jetflow test`: runs the pipeline test cases next to pipelines (docs/testing.md) with
// the built-in components. The logic lives in the pipetest library, so programs that
// register their own components can offer the same command (examples/custom_stage/).
#include "jetflow/pipetest/test_command.h"

#include "jetflow/builtins/builtin_components.h"
#include "jetflow/cli/commands.h"

namespace jetflow::cli {

int TestCommand(const TestOptions& options) {
  ComponentRegistry registry;
  RegisterBuiltinComponents(registry);
  pipetest::TestCommandOptions test;
  test.paths = options.paths;
  test.junit_file = options.junit_file;
  test.filter = options.filter;
  test.json = options.json;
  return pipetest::RunTestCommand(test, registry);
}

}  // namespace jetflow::cli
