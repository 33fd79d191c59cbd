// Test-only helpers for the Native fixtures in testdata/ (recorded server responses and
// their column lists), shared by the NativeBlockReader tests.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

namespace jetflow::clickhouse::testdata {

/// The bytes of testdata/NAME (under $JETFLOW_SOURCE_DIR, else the working directory).
inline std::string Read(const std::string& name) {
  const char* root = std::getenv("JETFLOW_SOURCE_DIR");
  std::string path =
      std::string(root ? root : ".") + "/src/jetflow/sources/clickhouse/testdata/" + name;
  std::ifstream file(path, std::ios::binary);
  EXPECT_TRUE(file.good()) << path;
  return std::string(std::istreambuf_iterator<char>(file), {});
}

struct Column {
  std::string name;
  std::string type;
};

/// The columns of a `.describe` fixture: "name<TAB>type" lines as ClickHouse's TSV
/// prints them (quotes and backslashes escaped).
inline std::vector<Column> DescribedColumns(const std::string& describe) {
  std::vector<Column> columns;
  std::istringstream lines(describe);
  std::string line;
  while (std::getline(lines, line)) {
    const size_t tab = line.find('\t');
    if (tab == std::string::npos) continue;
    std::string type;
    for (size_t i = tab + 1; i < line.size() && line[i] != '\t'; ++i) {
      if (line[i] == '\\' && i + 1 < line.size()) ++i;
      type.push_back(line[i]);
    }
    columns.push_back({line.substr(0, tab), type});
  }
  return columns;
}

}  // namespace jetflow::clickhouse::testdata
