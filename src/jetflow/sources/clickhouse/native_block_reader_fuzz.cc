// libFuzzer target for NativeBlockReader (see cmake/Fuzzing.cmake).
//
// Input: a column list, one "name<TAB>type" line per column (as DESCRIBE ... FORMAT TSV
// prints it, unescaped), optionally followed by "<TAB>replace" or "<TAB>binary" (the
// column's invalid_utf8 policy; error otherwise), an empty line, then a `FORMAT Native`
// stream read to the end. Malformed type lists are skipped; malformed streams must fail
// with a Status. Every batch returned must be valid, its strings valid UTF-8 included.
#include <arrow/buffer.h>
#include <arrow/io/memory.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "jetflow/sources/clickhouse/native_format.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace jetflow::clickhouse;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  std::vector<NativeColumnSpec> columns;
  size_t pos = 0;
  while (true) {
    const size_t end = text.find('\n', pos);
    if (end == std::string_view::npos || columns.size() > 32) return 0;
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    if (line.empty()) break;
    const size_t tab = line.find('\t');
    if (tab == std::string_view::npos) return 0;
    std::string_view type_text = line.substr(tab + 1);
    auto policy = jetflow::sources::InvalidUtf8::kError;
    const size_t policy_tab = type_text.find('\t');
    if (policy_tab != std::string_view::npos) {
      const std::string_view name = type_text.substr(policy_tab + 1);
      if (name == "replace") policy = jetflow::sources::InvalidUtf8::kReplace;
      if (name == "binary") policy = jetflow::sources::InvalidUtf8::kBinary;
      type_text = type_text.substr(0, policy_tab);
    }
    auto type = ParseClickHouseType(type_text);
    if (!type.ok()) return 0;
    columns.push_back({std::string(line.substr(0, tab)), std::move(*type), policy});
  }
  auto buffer = std::make_shared<arrow::Buffer>(data + pos, size - pos);
  NativeReaderOptions options;
  options.max_block_bytes = 8 << 20;  // stays far below libFuzzer's RSS limit
  auto reader = NativeBlockReader::Make(std::make_shared<arrow::io::BufferReader>(buffer),
                                        std::move(columns), options);
  if (!reader.ok()) return 0;
  for (int blocks = 0; blocks < 1000; ++blocks) {
    auto batch = (*reader)->Next();
    if (!batch.ok() || *batch == nullptr) break;
    // Whatever is returned must be a valid batch.
    if (!(*batch)->ValidateFull().ok()) __builtin_trap();
  }
  return 0;
}
