#include "jetflow/core/config_node.h"

#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/parser.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <string_view>

namespace jetflow {

std::string SourceLocation::ToString() const {
  if (line <= 0) return file;
  return file + ":" + std::to_string(line) + ":" + std::to_string(column);
}

std::string Diagnostic::ToString() const {
  return location.ToString() + ": " +
         (severity == Severity::kError ? "error: " : "warning: ") + message;
}

void Diagnostics::Error(const SourceLocation& where, std::string message) {
  entries_.push_back({Diagnostic::Severity::kError, where, std::move(message)});
}

void Diagnostics::Warning(const SourceLocation& where, std::string message) {
  entries_.push_back({Diagnostic::Severity::kWarning, where, std::move(message)});
}

bool Diagnostics::has_errors() const {
  return std::any_of(entries_.begin(), entries_.end(), [](const Diagnostic& d) {
    return d.severity == Diagnostic::Severity::kError;
  });
}

arrow::Status Diagnostics::ToStatus() const {
  std::string text;
  int errors = 0;
  for (const auto& d : entries_) {
    if (d.severity != Diagnostic::Severity::kError) continue;
    if (errors++ > 0) text += "\n";
    text += d.ToString();
  }
  if (errors == 0) return arrow::Status::OK();
  return arrow::Status::Invalid(text);
}

namespace {

size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t above = row[j];
      size_t cost = (std::tolower(a[i - 1]) == std::tolower(b[j - 1])) ? 0 : 1;
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + cost});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::string DidYouMean(std::string_view word,
                       const std::vector<std::string>& candidates) {
  auto match = ClosestMatch(word, candidates);
  return match ? " (did you mean '" + *match + "'?)" : "";
}

std::string Join(const std::vector<std::string>& items) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) out += (i ? ", " : "") + items[i];
  return out;
}

// Replaces ${VAR} and ${VAR:-default} from the environment. Returns false (with `error`)
// for an unset variable without a default or an unterminated reference.
bool ExpandEnvironment(const std::string& in, std::string* out, std::string* error) {
  out->clear();
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '$' && i + 1 < in.size() && in[i + 1] == '$') {  // "$$" escapes "$"
      out->push_back('$');
      ++i;
      continue;
    }
    if (in[i] != '$' || i + 1 >= in.size() || in[i + 1] != '{') {
      out->push_back(in[i]);
      continue;
    }
    size_t end = in.find('}', i + 2);
    if (end == std::string::npos) {
      *error = "unterminated '${' in value";
      return false;
    }
    std::string reference = in.substr(i + 2, end - i - 2);
    std::optional<std::string> fallback;
    if (size_t pos = reference.find(":-"); pos != std::string::npos) {
      fallback = reference.substr(pos + 2);
      reference = reference.substr(0, pos);
    }
    const char* value = std::getenv(reference.c_str());
    if (value != nullptr && (*value != '\0' || !fallback)) {
      out->append(value);
    } else if (fallback) {
      out->append(*fallback);
    } else {
      *error = "environment variable '" + reference + "' is not set";
      return false;
    }
    i = end;
  }
  return true;
}

// A location from yaml-cpp's 0-based mark.
SourceLocation At(const std::string& file, const YAML::Mark& mark) {
  if (mark.is_null()) return {file, 0, 0};
  return {file, mark.line + 1, mark.column + 1};
}

// `{rows: ${ROWS}}` is not YAML: in a flow collection `{`, `}` and `,` end a plain
// scalar, so yaml-cpp reports a broken flow. Say what to do when that is likely the
// cause.
std::string FlowReferenceHint(const std::string& text, const YAML::Mark& mark) {
  if (mark.is_null() || mark.line < 0) return "";
  size_t begin = 0;
  for (int line = 0; line < mark.line && begin != std::string::npos; ++line) {
    begin = text.find('\n', begin);
    if (begin != std::string::npos) ++begin;
  }
  if (begin == std::string::npos) return "";
  const size_t end = text.find('\n', begin);
  const std::string_view line =
      std::string_view(text).substr(begin, end == std::string::npos ? end : end - begin);
  if (line.find("${") == std::string_view::npos) return "";
  return " (a ${VAR} reference inside a flow collection {...} or [...] must be quoted, "
         "e.g. rows: \"${ROWS}\")";
}

// yaml-cpp keeps both entries of a repeated key and lookups find the first: the file
// would not mean what its last line says. Every map, at any depth.
// An alias shares its anchor's node (and mark): each collection is walked once, so a
// document of nested aliases ("billion laughs") costs its size, not its expansion.
void ReportDuplicateKeys(const YAML::Node& node, const std::string& file,
                         Diagnostics* diagnostics, std::set<int>* visited) {
  if (!node.IsSequence() && !node.IsMap()) return;
  if (!visited->insert(node.Mark().pos).second) return;
  if (node.IsSequence()) {
    for (const YAML::Node& element : node) {
      ReportDuplicateKeys(element, file, diagnostics, visited);
    }
    return;
  }
  std::map<std::string, YAML::Mark> first_seen;
  for (const auto& entry : node) {
    if (entry.first.IsScalar()) {
      auto [first, inserted] =
          first_seen.emplace(entry.first.Scalar(), entry.first.Mark());
      if (!inserted) {
        diagnostics->Error(At(file, entry.first.Mark()),
                           "duplicate key '" + entry.first.Scalar() + "' (first at " +
                               At(file, first->second).ToString() +
                               "); give each key once");
      }
    }
    ReportDuplicateKeys(entry.second, file, diagnostics, visited);
  }
}

// How many nodes the document holds with every alias expanded, as a reader of it sees
// them (memoised per collection, saturating at `limit`). A collection that holds an alias
// of itself (`a: &x [1, *x]`) is a cycle that expands forever: it counts as `limit`.
uint64_t ExpandedSize(const YAML::Node& node, uint64_t limit,
                      std::map<int, uint64_t>* sizes) {
  if (!node.IsSequence() && !node.IsMap()) return 1;
  const int key = node.Mark().pos;
  if (auto known = sizes->find(key); known != sizes->end()) return known->second;
  (*sizes)[key] = limit;  // while it is counted: a path back to it is a cycle
  uint64_t size = 1;
  for (const auto& entry : node) {
    size += node.IsMap() ? 1 + ExpandedSize(entry.second, limit, sizes)
                         : ExpandedSize(entry, limit, sizes);
    if (size >= limit) break;
  }
  size = std::min(size, limit);
  (*sizes)[key] = size;
  return size;
}

// Aliases can make a small file expand to billions of nodes; a pipeline has hundreds.
constexpr uint64_t kMaxExpandedNodes = 1'000'000;

// The documents of a YAML stream, from the parser's events: where each one starts and
// whether it holds a value. jetflow does not call YAML::LoadAll: in yaml-cpp 0.7 (Debian
// 12) it loops forever, adding a document each time, on a token that starts no value,
// such as a ',' outside a flow collection (jbeder/yaml-cpp#1040, fixed in 0.8). Such a
// document starts where the one before it started: that is how Parse() stops.
class DocumentScanner final : public YAML::EventHandler {
 public:
  int documents() const { return documents_; }
  const YAML::Mark& start() const { return start_; }
  /// Where the document's value starts; nullopt for a document without one.
  const std::optional<YAML::Mark>& value() const { return value_; }

  void OnDocumentStart(const YAML::Mark& mark) override {
    ++documents_;
    start_ = mark;
    value_.reset();
  }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t) override { Value(mark); }
  void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                const std::string&) override {
    Value(mark);
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {
    Value(mark);
  }
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {
    Value(mark);
  }
  void OnMapEnd() override {}

 private:
  void Value(const YAML::Mark& mark) {
    if (!value_) value_ = mark;
  }

  int documents_ = 0;
  YAML::Mark start_ = YAML::Mark::null_mark();
  std::optional<YAML::Mark> value_;
};

}  // namespace

std::optional<std::string> ClosestMatch(std::string_view word,
                                        const std::vector<std::string>& candidates) {
  std::optional<std::string> best;
  size_t best_distance = std::max<size_t>(2, word.size() / 3) + 1;
  for (const auto& candidate : candidates) {
    size_t d = EditDistance(word, candidate);
    if (d < best_distance) {
      best_distance = d;
      best = candidate;
    }
  }
  return best;
}

struct ConfigNode::Yaml {
  static std::shared_ptr<const Yaml> Of(YAML::Node node) {
    // YAML::Node has no move constructor: this copies a handle (no deep copy).
    return std::make_shared<const Yaml>(Yaml{node});
  }
  YAML::Node node;
};

ConfigNode::ConfigNode(std::shared_ptr<const Yaml> yaml, std::string file,
                       Diagnostics* diagnostics, std::string path)
    : yaml_(std::move(yaml)),
      file_(std::move(file)),
      diagnostics_(diagnostics),
      path_(std::move(path)),
      known_keys_(std::make_shared<std::set<std::string>>()) {}

ConfigNode ConfigNode::Parse(const std::string& text, const std::string& file,
                             Diagnostics* diagnostics) {
  auto undefined = [&] {
    return ConfigNode(Yaml::Of(YAML::Node(YAML::NodeType::Undefined)), file, diagnostics,
                      "");
  };
  // yaml-cpp reports syntax errors by throwing; they stop here. The first document is
  // loaded; the stream's documents are then walked as events (DocumentScanner), for a
  // second one and for a token that starts no value.
  YAML::Node first;
  std::optional<YAML::Mark> second;
  std::optional<YAML::Mark> stuck;
  int documents = 0;
  YAML::Mark previous = YAML::Mark::null_mark();
  try {
    first = YAML::Load(text);
    std::istringstream stream(text);
    YAML::Parser parser(stream);
    DocumentScanner scanner;
    while (parser.HandleNextDocument(scanner)) {
      if (scanner.documents() > 1) {
        if (scanner.start().pos == previous.pos) {
          stuck = scanner.start();
          break;
        }
        if (scanner.value()) {
          second = scanner.value();
          break;
        }
      }
      previous = scanner.start();
    }
    documents = scanner.documents();
  } catch (const YAML::DeepRecursion& e) {
    diagnostics->Error(At(file, e.mark),
                       "collections nested more than " + std::to_string(e.depth()) +
                           " levels deep; a configuration needs only a few");
    return undefined();
  } catch (const YAML::Exception& e) {
    diagnostics->Error(At(file, e.mark), e.msg + FlowReferenceHint(text, e.mark));
    return undefined();
  }
  if (stuck) {
    const size_t pos = static_cast<size_t>(std::max(stuck->pos, 0));
    const std::string token = pos < text.size() ? text.substr(pos, 1) : "";
    diagnostics->Error(At(file, *stuck), "unexpected '" + token +
                                             "': no value starts with it here (quote "
                                             "the value, or remove it)");
    return undefined();
  }
  if (documents == 0) return undefined();
  // A second document would be ignored by every reader that takes the first.
  if (second) {
    diagnostics->Error(At(file, *second),
                       "a second YAML document ('---'): a file holds one configuration");
  }
  std::map<int, uint64_t> sizes;
  if (ExpandedSize(first, kMaxExpandedNodes, &sizes) >= kMaxExpandedNodes) {
    diagnostics->Error(At(file, first.Mark()),
                       "with its aliases (*name) expanded the file holds more than " +
                           std::to_string(kMaxExpandedNodes) +
                           " values; a configuration needs far fewer");
    return undefined();
  }
  std::set<int> visited;
  ReportDuplicateKeys(first, file, diagnostics, &visited);
  return ConfigNode(Yaml::Of(first), file, diagnostics, "");
}

bool ConfigNode::IsDefined() const { return yaml_->node.IsDefined(); }
bool ConfigNode::IsNull() const {
  return !yaml_->node.IsDefined() || yaml_->node.IsNull();
}
bool ConfigNode::IsMap() const { return yaml_->node.IsDefined() && yaml_->node.IsMap(); }
bool ConfigNode::IsSequence() const {
  return yaml_->node.IsDefined() && yaml_->node.IsSequence();
}
bool ConfigNode::IsScalar() const {
  return yaml_->node.IsDefined() && yaml_->node.IsScalar();
}

bool ConfigNode::IsPlainScalar() const {
  return yaml_->node.IsDefined() && yaml_->node.IsScalar() && yaml_->node.Tag() != "!";
}

SourceLocation ConfigNode::location() const {
  YAML::Mark mark =
      yaml_->node.IsDefined() ? yaml_->node.Mark() : YAML::Mark::null_mark();
  if (mark.is_null()) return {file_, 0, 0};
  return {file_, mark.line + 1, mark.column + 1};
}

void ConfigNode::Error(std::string message) const {
  diagnostics_->Error(location(), std::move(message));
}
void ConfigNode::Warning(std::string message) const {
  diagnostics_->Warning(location(), std::move(message));
}

ConfigNode ConfigNode::Child(std::shared_ptr<const Yaml> yaml, std::string path) const {
  return ConfigNode(std::move(yaml), file_, diagnostics_, std::move(path));
}

bool ConfigNode::Has(std::string_view key) const {
  known_keys_->insert(std::string(key));
  return IsMap() && yaml_->node[std::string(key)].IsDefined() &&
         !yaml_->node[std::string(key)].IsNull();
}

ConfigNode ConfigNode::Get(std::string_view key) const {
  std::string k(key);
  known_keys_->insert(k);
  std::string child_path = path_.empty() ? k : path_ + "." + k;
  if (!IsMap()) return Child(Yaml::Of(YAML::Node(YAML::NodeType::Undefined)), child_path);
  // operator[] on a const node does not insert missing keys.
  const YAML::Node& self = yaml_->node;
  return Child(Yaml::Of(self[k]), child_path);
}

ConfigNode ConfigNode::Require(std::string_view key) const {
  ConfigNode child = Get(key);
  if (child.IsNull()) {
    std::string where = path_.empty() ? "" : " in '" + path_ + "'";
    Error("missing required key '" + std::string(key) + "'" + where);
  }
  return child;
}

std::optional<std::string> ConfigNode::ScalarText() const {
  if (!IsScalar()) {
    Error("'" + path_ + "' must be a single value, not a " +
          (IsMap()        ? "map"
           : IsSequence() ? "list"
                          : "null"));
    return std::nullopt;
  }
  std::string expanded, error;
  if (!ExpandEnvironment(yaml_->node.Scalar(), &expanded, &error)) {
    Error("'" + path_ + "': " + error);
    return std::nullopt;
  }
  return expanded;
}

std::string ConfigNode::Shown() const {
  // A value that came from the environment may be a secret: name the reference instead.
  const std::string& raw = IsScalar() ? yaml_->node.Scalar() : path_;
  return "'" + raw + "'";
}

std::string ConfigNode::AsString() const { return ScalarText().value_or(""); }

int64_t ConfigNode::AsInt() const {
  auto text = ScalarText();
  if (!text) return 0;
  errno = 0;
  char* end = nullptr;
  long long value = std::strtoll(text->c_str(), &end, 10);
  if (text->empty() || *end != '\0' || errno == ERANGE) {
    Error("'" + path_ + "' must be an integer, got " + Shown());
    return 0;
  }
  return value;
}

double ConfigNode::AsDouble() const {
  auto text = ScalarText();
  if (!text) return 0;
  char* end = nullptr;
  double value = std::strtod(text->c_str(), &end);
  if (text->empty() || *end != '\0' || !std::isfinite(value)) {
    Error("'" + path_ + "' must be a number, got " + Shown());
    return 0;
  }
  return value;
}

bool ConfigNode::AsBool() const {
  auto text = ScalarText();
  if (!text) return false;
  std::string lower;
  for (char c : *text) lower.push_back(static_cast<char>(std::tolower(c)));
  if (lower == "true" || lower == "yes" || lower == "on") return true;
  if (lower == "false" || lower == "no" || lower == "off") return false;
  Error("'" + path_ + "' must be true or false, got " + Shown());
  return false;
}

std::string ConfigNode::GetString(std::string_view key, std::string default_value) const {
  ConfigNode child = Get(key);
  return child.IsNull() ? default_value : child.AsString();
}

std::optional<std::string> ConfigNode::GetOptionalString(std::string_view key) const {
  ConfigNode child = Get(key);
  if (child.IsNull()) return std::nullopt;
  return child.AsString();
}

std::string ConfigNode::RequireString(std::string_view key) const {
  ConfigNode child = Require(key);
  return child.IsNull() ? "" : child.AsString();
}

int64_t ConfigNode::GetInt(std::string_view key, int64_t default_value, int64_t min,
                           int64_t max) const {
  ConfigNode child = Get(key);
  if (child.IsNull()) return default_value;
  int64_t value = child.AsInt();
  if (value < min || value > max) {
    std::ostringstream range;
    if (max == INT64_MAX) {
      range << "at least " << min;
    } else {
      range << "between " << min << " and " << max;
    }
    child.Error("'" + child.path() + "' must be " + range.str() + ", got " +
                child.Shown());
    return default_value;
  }
  return value;
}

double ConfigNode::GetDouble(std::string_view key, double default_value) const {
  ConfigNode child = Get(key);
  return child.IsNull() ? default_value : child.AsDouble();
}

bool ConfigNode::GetBool(std::string_view key, bool default_value) const {
  ConfigNode child = Get(key);
  return child.IsNull() ? default_value : child.AsBool();
}

namespace {

using UnitTable = std::vector<std::pair<std::string, double>>;

// "512MiB" -> 512 * units["MiB"]; the number may have a fraction and a space before the
// unit. nullopt if the text is not a number followed by one of `units`. The value may be
// out of int64_t's range (or infinite): the caller checks.
std::optional<double> ParseQuantity(const std::string& text, const UnitTable& units) {
  size_t i = 0;
  while (i < text.size() &&
         (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.')) {
    ++i;
  }
  if (i == 0) return std::nullopt;
  char* end = nullptr;
  std::string digits = text.substr(0, i);
  double number = std::strtod(digits.c_str(), &end);
  if (*end != '\0') return std::nullopt;
  while (i < text.size() && text[i] == ' ') ++i;
  std::string unit = text.substr(i);
  for (const auto& [name, factor] : units) {
    if (unit == name) return number * factor;
  }
  return std::nullopt;
}

}  // namespace

std::optional<int64_t> ConfigNode::GetQuantity(
    std::string_view key, const std::vector<std::pair<std::string, double>>& units,
    const std::string& expected) const {
  ConfigNode child = Get(key);
  if (child.IsNull()) return std::nullopt;
  auto text = child.ScalarText();
  if (!text) return std::nullopt;
  auto value = ParseQuantity(*text, units);
  if (!value) {
    child.Error("'" + child.path() + "' must be " + expected + ", got " + child.Shown());
    return std::nullopt;
  }
  // 2^63 as a double: every double below it converts to int64_t.
  constexpr double kLimit = 9223372036854775808.0;
  if (!(*value < kLimit)) {
    child.Error("'" + child.path() + "' is too large, got " + child.Shown());
    return std::nullopt;
  }
  return static_cast<int64_t>(*value);
}

int64_t ConfigNode::GetBytes(std::string_view key, int64_t default_value) const {
  static const UnitTable kUnits = {{"", 1},          {"B", 1},
                                   {"KiB", 1024.0},  {"MiB", 1048576.0},
                                   {"GiB", 1 << 30}, {"TiB", 1099511627776.0},
                                   {"KB", 1e3},      {"MB", 1e6},
                                   {"GB", 1e9},      {"TB", 1e12}};
  return GetQuantity(key, kUnits,
                     "a size like 1048576, \"64KiB\", \"512MiB\" or \"2GiB\"")
      .value_or(default_value);
}

std::chrono::milliseconds ConfigNode::GetDuration(
    std::string_view key, std::chrono::milliseconds default_value) const {
  static const UnitTable kUnits = {{"", 1000},   {"ms", 1},      {"s", 1000},
                                   {"m", 60000}, {"h", 3600000}, {"d", 86400000}};
  auto millis = GetQuantity(
      key, kUnits, "a duration like \"250ms\", \"30s\", \"5m\", \"1h\" or \"1d\"");
  return millis ? std::chrono::milliseconds(*millis) : default_value;
}

std::string ConfigNode::GetEnum(std::string_view key, std::string default_value,
                                const std::vector<std::string>& allowed) const {
  ConfigNode child = Get(key);
  if (child.IsNull()) return default_value;
  auto value = child.ScalarText();
  if (!value) return default_value;
  if (std::find(allowed.begin(), allowed.end(), *value) != allowed.end()) return *value;
  child.Error("'" + child.path() + "' must be one of: " + Join(allowed) + "; got " +
              child.Shown() + DidYouMean(*value, allowed));
  return default_value;
}

std::vector<std::string> ConfigNode::GetStringList(std::string_view key) const {
  ConfigNode child = Get(key);
  std::vector<std::string> out;
  if (child.IsNull()) return out;
  if (child.IsScalar()) return {child.AsString()};
  for (const auto& element : child.Elements()) out.push_back(element.AsString());
  return out;
}

std::vector<ConfigNode> ConfigNode::Elements() const {
  std::vector<ConfigNode> out;
  if (IsNull()) return out;
  if (!IsSequence()) {
    Error("'" + path_ + "' must be a list");
    return out;
  }
  for (size_t i = 0; i < yaml_->node.size(); ++i) {
    out.push_back(Child(Yaml::Of(yaml_->node[i]), path_ + "[" + std::to_string(i) + "]"));
  }
  return out;
}

std::vector<std::pair<std::string, ConfigNode>> ConfigNode::Entries() const {
  std::vector<std::pair<std::string, ConfigNode>> out;
  if (IsNull()) return out;
  if (!IsMap()) {
    Error("'" + path_ + "' must be a map of key: value");
    return out;
  }
  for (const auto& entry : yaml_->node) {
    std::string key = entry.first.as<std::string>("");
    known_keys_->insert(key);
    out.emplace_back(
        key, Child(Yaml::Of(entry.second), path_.empty() ? key : path_ + "." + key));
  }
  return out;
}

void ConfigNode::CheckNoUnknownKeys() const {
  if (!IsMap()) return;
  std::vector<std::string> known(known_keys_->begin(), known_keys_->end());
  for (const auto& entry : yaml_->node) {
    std::string key = entry.first.as<std::string>("");
    if (known_keys_->count(key)) continue;
    YAML::Mark mark = entry.first.Mark();
    std::string where = path_.empty() ? "" : " in '" + path_ + "'";
    diagnostics_->Error({file_, mark.line + 1, mark.column + 1},
                        "unknown key '" + key + "'" + where + DidYouMean(key, known));
  }
}

}  // namespace jetflow
