// A `jetflow test` for pipelines that use the example's own components: the built-in
// components plus `countdown` and `clamp`, registered before any pipeline is loaded.
//
//   example_jetflow test examples/custom_stage/pipeline.yaml --junit out.xml
#include <arrow/compute/initialize.h>

#include <CLI/CLI.hpp>
#include <iostream>

#include "countdown_consumer.h"
#include "jetflow/builtins/builtin_components.h"
#include "jetflow/pipetest/test_command.h"

int main(int argc, char** argv) {
  CLI::App app{"jetflow with the custom_stage example's components"};
  app.require_subcommand(1);
  jetflow::pipetest::TestCommandOptions options;
  auto* test = app.add_subcommand("test", "Run pipeline test cases (docs/testing.md)");
  test->add_option("paths", options.paths, "Pipeline files, test files or folders");
  test->add_option("--junit", options.junit_file, "Write JUnit XML to this file");
  test->add_option("--filter", options.filter, "Run only cases whose name contains this");
  test->add_flag("--json", options.json, "Print machine-readable JSON on stdout");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  if (auto status = arrow::compute::Initialize(); !status.ok()) {
    std::cerr << "error: " << status.ToString() << "\n";
    return 2;
  }
  jetflow::ComponentRegistry registry;
  jetflow::RegisterBuiltinComponents(registry);
  example::RegisterExampleStages(registry);
  return jetflow::pipetest::RunTestCommand(options, registry);
}
