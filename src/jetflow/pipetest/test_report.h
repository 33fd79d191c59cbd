// Reports of a `jetflow test` run: JUnit XML for CI systems.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "jetflow/pipetest/pipeline_test_runner.h"

namespace jetflow::pipetest {

/// A test file (or its pipeline) that could not be parsed: reported as an error.
struct FileError {
  std::string file;
  /// One "file:line:col: error: ..." line per problem.
  std::string message;
};

/// JUnit XML: <testsuites> with one <testsuite> per test file, one <testcase> per case
/// (classname = the test file, time in seconds), <failure message="first line"> with the
/// whole diff as text, and one <testcase> with an <error> per invalid file.
std::string JUnitXml(const std::vector<CaseResult>& results,
                     const std::vector<FileError>& errors);

/// Escapes text for XML attributes and content: the five special characters, and
/// control characters XML 1.0 cannot hold (written as "\xNN").
std::string XmlEscape(std::string_view text);

}  // namespace jetflow::pipetest
