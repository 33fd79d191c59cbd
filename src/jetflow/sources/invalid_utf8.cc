#include "jetflow/sources/invalid_utf8.h"

#include <cctype>
#include <cstdio>
#include <cstring>

namespace jetflow::sources {

namespace {

// The names of InvalidUtf8's values, in their order.
constexpr const char* kPolicies[] = {"error", "replace", "binary"};

// One policy value; records an error (and returns kError) for anything else.
InvalidUtf8 ReadPolicy(const ConfigNode& node) {
  if (!node.IsScalar()) {
    node.Error("'" + node.path() + "' must be error, replace or binary");
    return InvalidUtf8::kError;
  }
  const std::string text = node.AsString();
  for (int i = 0; i < 3; ++i) {
    if (text == kPolicies[i]) return static_cast<InvalidUtf8>(i);
  }
  auto hint = ClosestMatch(text, {"error", "replace", "binary"});
  node.Error("'" + node.path() + "' must be error, replace or binary, not '" + text +
             "'" + (hint ? " (did you mean '" + *hint + "'?)" : ""));
  return InvalidUtf8::kError;
}

// The length of the well-formed UTF-8 sequence that starts with `lead` (Unicode 15,
// table 3-7), and the range of its second byte; 0 for a byte that starts none.
struct Lead {
  int length;
  uint8_t low;
  uint8_t high;
};

Lead LeadOf(uint8_t lead) {
  if (lead < 0x80) return {1, 0, 0};
  if (lead >= 0xc2 && lead <= 0xdf) return {2, 0x80, 0xbf};
  if (lead == 0xe0) return {3, 0xa0, 0xbf};
  if (lead == 0xed) return {3, 0x80, 0x9f};
  if (lead >= 0xe1 && lead <= 0xef) return {3, 0x80, 0xbf};
  if (lead == 0xf0) return {4, 0x90, 0xbf};
  if (lead >= 0xf1 && lead <= 0xf3) return {4, 0x80, 0xbf};
  if (lead == 0xf4) return {4, 0x80, 0x8f};
  return {0, 0, 0};
}

// The bytes of the well-formed sequence at `data` (1..4), or minus the length of its
// maximal invalid subpart (-1..-3).
int SequenceAt(const uint8_t* data, int64_t size) {
  const Lead lead = LeadOf(data[0]);
  if (lead.length == 0) return -1;
  int n = 1;
  while (n < lead.length) {
    if (n >= size) return -n;
    const uint8_t low = n == 1 ? lead.low : 0x80;
    const uint8_t high = n == 1 ? lead.high : 0xbf;
    if (data[n] < low || data[n] > high) return -n;
    ++n;
  }
  return n;
}

}  // namespace

const char* InvalidUtf8Name(InvalidUtf8 policy) {
  return kPolicies[static_cast<int>(policy)];
}

InvalidUtf8 InvalidUtf8Options::For(std::string_view column) const {
  for (const Column& entry : columns) {
    if (entry.name == column) return entry.policy;
  }
  return default_policy;
}

arrow::Status InvalidUtf8Options::Check(
    const std::vector<std::string>& names,
    const std::function<bool(const std::string&)>& has_text,
    const std::string& what) const {
  std::string problems;
  for (const Column& column : columns) {
    std::string problem;
    bool known = false;
    for (const std::string& name : names) known |= name == column.name;
    if (!known) {
      auto hint = ClosestMatch(column.name, names);
      problem = "invalid_utf8: '" + column.name + "' is not a column of " + what +
                (hint ? " (did you mean '" + *hint + "'?)" : "");
    } else if (!has_text(column.name)) {
      problem =
          "invalid_utf8: column '" + column.name + "' of " + what +
          " holds no text (no String / text values), so its policy would do nothing";
    } else {
      continue;
    }
    problems += (problems.empty() ? "" : "\n") + column.where.ToString() + ": " + problem;
  }
  if (problems.empty()) return arrow::Status::OK();
  return arrow::Status::Invalid(problems);
}

InvalidUtf8Options ParseInvalidUtf8(const ConfigNode& node) {
  InvalidUtf8Options options;
  ConfigNode option = node.Get("invalid_utf8");
  if (!option.IsDefined() || option.IsNull()) return options;
  if (!option.IsMap()) {
    options.default_policy = ReadPolicy(option);
    return options;
  }
  ConfigNode fallback = option.Get("default");
  if (fallback.IsDefined()) options.default_policy = ReadPolicy(fallback);
  ConfigNode columns = option.Get("columns");
  if (columns.IsDefined() && !columns.IsNull()) {
    if (!columns.IsMap()) {
      columns.Error("'" + columns.path() +
                    "' must be a map of column name -> error, replace or binary, e.g. "
                    "{payload: binary}");
    } else {
      for (const auto& [name, value] : columns.Entries()) {
        options.columns.push_back({name, ReadPolicy(value), value.location()});
      }
    }
  }
  option.CheckNoUnknownKeys();
  return options;
}

std::optional<InvalidUtf8Position> FindInvalidUtf8(const uint8_t* data, int64_t size) {
  for (int64_t i = 0; i < size;) {
    if (data[i] < 0x80) {
      ++i;
      continue;
    }
    const int n = SequenceAt(data + i, size - i);
    if (n < 0) return InvalidUtf8Position{i, data[i]};
    i += n;
  }
  return std::nullopt;
}

std::string InvalidUtf8Description(InvalidUtf8Position position) {
  char byte[8];
  std::snprintf(byte, sizeof byte, "0x%02x", position.byte);
  return "text value is not valid UTF-8 (byte " + std::string(byte) + " at offset " +
         std::to_string(position.offset) + " of the value)";
}

std::string InvalidUtf8ColumnOption(std::string_view column, InvalidUtf8 policy) {
  std::string key(column);
  bool plain = !key.empty() && !std::isdigit(static_cast<unsigned char>(key[0]));
  for (char ch : key) plain &= std::isalnum(static_cast<unsigned char>(ch)) || ch == '_';
  if (!plain) key = "\"" + key + "\"";
  return "invalid_utf8: {columns: {" + key + ": " + InvalidUtf8Name(policy) + "}}";
}

ValueChangeCount InvalidUtf8Replaced(std::string stage, std::string column,
                                     int64_t values) {
  return {std::move(stage),
          std::move(column),
          "invalid UTF-8",
          "replace",
          "written with U+FFFD in place of the invalid bytes (invalid_utf8: replace)",
          values};
}

std::string InvalidUtf8Remedy(std::string_view column) {
  return "set 'invalid_utf8: replace' to write invalid bytes as U+FFFD, or "
         "'invalid_utf8: binary' to write the column as bytes (for this column only: '" +
         InvalidUtf8ColumnOption(column, InvalidUtf8::kReplace) + "')";
}

int64_t ReplaceInvalidUtf8(const uint8_t* data, int64_t size, uint8_t* out) {
  static constexpr uint8_t kReplacement[3] = {0xef, 0xbf, 0xbd};
  int64_t written = 0;
  for (int64_t i = 0; i < size;) {
    if (data[i] < 0x80) {
      out[written++] = data[i++];
      continue;
    }
    const int n = SequenceAt(data + i, size - i);
    if (n > 0) {
      std::memcpy(out + written, data + i, n);
      written += n;
      i += n;
    } else {
      std::memcpy(out + written, kReplacement, 3);
      written += 3;
      i += -n;
    }
  }
  return written;
}

}  // namespace jetflow::sources
