// `jetflow test`: finds the test files of pipelines, runs every case, prints one line per
// case (and a diff for each failure), a summary line, and optionally JUnit XML.
//
// Discovery (docs/testing.md), for a pipeline file <dir>/<name>.yaml:
//   - <dir>/<name>.test.yaml (or .test.yml);
//   - every <dir>/tests/*.yaml (or .yml) whose `pipeline:` names it, or that has no
//     `pipeline:` key while <dir> holds exactly one pipeline.
// A directory argument stands for every pipeline file directly in it (a YAML map with a
// `consumer` key); a test file argument (*.test.yaml, or a file with `cases:`) is run
// against its `pipeline:` or, for <name>.test.yaml, <name>.yaml. No argument means the
// current directory.
//
// Exit codes: 0 every case passed; 1 a case failed; 2 a test file or pipeline is invalid
// (each error printed as file:line:col), or no case was found.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "jetflow/core/registry.h"

namespace jetflow::pipetest {

struct TestCommandOptions {
  /// Pipeline files, test files or directories; empty = the current directory.
  std::vector<std::string> paths;
  /// Write JUnit XML here.
  std::optional<std::string> junit_file;
  /// Run only cases whose name contains this text.
  std::optional<std::string> filter;
  /// One JSON document on stdout instead of text.
  bool json = false;
};

/// Runs the tests; returns the exit code. Components are looked up in `registry`, so a
/// program that registers its own components can run their pipelines' tests too.
int RunTestCommand(const TestCommandOptions& options, const ComponentRegistry& registry);

}  // namespace jetflow::pipetest
