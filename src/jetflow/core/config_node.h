// ConfigNode: typed, located access to one node of a pipeline's YAML file.
//
// Every component parses its own options from a ConfigNode. The contract that makes
// "all config errors at once, each as file:line:col: message" work:
//  - readers never stop at the first problem: a missing key, a value of the wrong type or
//    out of range records a Diagnostic at the offending node's location and returns the
//    default, so parsing continues and reports every mistake in one pass;
//  - every key a component reads from a map is remembered; CheckNoUnknownKeys() then
//    reports the rest as errors with a "did you mean" suggestion;
//  - scalars have ${VAR} and ${VAR:-default} replaced from the environment when read.
//    Values are never logged, so secrets passed this way stay out of logs.
//
// Threading: a ConfigNode and its Diagnostics are used by one thread at plan time.
// Copies share the same YAML node, the same set of read keys and the same Diagnostics.
//
// The YAML library (yaml-cpp) is an implementation detail of config_node.cc: nothing
// here exposes it, so components that read options do not depend on it.
#pragma once

#include <arrow/result.h>
#include <arrow/status.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace jetflow {

/// A position in a config file; line and column are 1-based (0 when unknown).
struct SourceLocation {
  std::string file;
  int line = 0;
  int column = 0;
  /// "file:line:col", or just "file" when the position is unknown.
  std::string ToString() const;
};

struct Diagnostic {
  enum class Severity { kError, kWarning };
  Severity severity = Severity::kError;
  SourceLocation location;
  std::string message;
  /// "file:line:col: error: message"
  std::string ToString() const;
};

/// Collects config errors and warnings so all of them can be reported at once.
class Diagnostics {
 public:
  void Error(const SourceLocation& where, std::string message);
  void Warning(const SourceLocation& where, std::string message);
  bool has_errors() const;
  const std::vector<Diagnostic>& entries() const { return entries_; }
  /// OK if there is no error; otherwise Invalid with one "file:line:col: ..." line per
  /// error.
  arrow::Status ToStatus() const;

 private:
  std::vector<Diagnostic> entries_;
};

class ConfigNode {
 public:
  /// Parses YAML text; a syntax error is recorded in `diagnostics` with its location and
  /// an undefined node is returned.
  /// REQUIRES: diagnostics outlives the returned node and all nodes reached from it.
  static ConfigNode Parse(const std::string& text, const std::string& file,
                          Diagnostics* diagnostics);

  bool IsDefined() const;  // false for a missing key
  bool IsNull() const;
  bool IsMap() const;
  bool IsSequence() const;
  bool IsScalar() const;
  /// A scalar written without quotes or block indicator, so its text starts exactly at
  /// location(); a quoted one starts one column later (used to point inside
  /// expressions).
  bool IsPlainScalar() const;

  SourceLocation location() const;
  /// Dotted path from the document root, e.g. "loaders[0].compression"; for messages.
  const std::string& path() const { return path_; }
  Diagnostics* diagnostics() const { return diagnostics_; }

  /// Records an error / warning at this node's location.
  void Error(std::string message) const;
  void Warning(std::string message) const;

  // --- Map access. Each call marks `key` as known. ---
  bool Has(std::string_view key) const;
  /// The child node; not IsDefined() if absent.
  ConfigNode Get(std::string_view key) const;
  /// The child node; records "missing required key" if absent.
  ConfigNode Require(std::string_view key) const;

  std::string GetString(std::string_view key, std::string default_value) const;
  std::optional<std::string> GetOptionalString(std::string_view key) const;
  std::string RequireString(std::string_view key) const;
  int64_t GetInt(std::string_view key, int64_t default_value, int64_t min = INT64_MIN,
                 int64_t max = INT64_MAX) const;
  double GetDouble(std::string_view key, double default_value) const;
  bool GetBool(std::string_view key, bool default_value) const;
  /// Sizes: 1048576, "64KiB", "512MiB", "1GiB", "10MB" (KB/MB/GB are decimal).
  int64_t GetBytes(std::string_view key, int64_t default_value) const;
  /// Durations: "250ms", "1s", "2m", "1h"; a bare number means seconds.
  std::chrono::milliseconds GetDuration(std::string_view key,
                                        std::chrono::milliseconds default_value) const;
  /// One of `allowed`; otherwise an error listing them (with a "did you mean").
  std::string GetEnum(std::string_view key, std::string default_value,
                      const std::vector<std::string>& allowed) const;
  std::vector<std::string> GetStringList(std::string_view key) const;

  // --- Scalar access on this node itself (records an error on a type mismatch). ---
  std::string AsString() const;
  int64_t AsInt() const;
  double AsDouble() const;
  bool AsBool() const;

  /// Sequence elements (empty, with an error, if this is not a sequence).
  std::vector<ConfigNode> Elements() const;
  /// Map entries in file order; marks every key as known.
  std::vector<std::pair<std::string, ConfigNode>> Entries() const;

  /// Records an error for every key of this map that no Get/Has/Require call asked for,
  /// with the closest known key as a suggestion.
  void CheckNoUnknownKeys() const;

 private:
  /// The yaml-cpp node, defined in config_node.cc; immutable once built.
  struct Yaml;

  ConfigNode(std::shared_ptr<const Yaml> yaml, std::string file, Diagnostics* diagnostics,
             std::string path);
  ConfigNode Child(std::shared_ptr<const Yaml> yaml, std::string path) const;
  /// The scalar with ${VAR} expanded; nullopt after recording an error.
  std::optional<std::string> ScalarText() const;
  /// The value as written in the file (quoted), for messages: never an expanded secret.
  std::string Shown() const;
  /// A number with a unit from `units` (name -> factor), e.g. "512MiB"; nullopt if the
  /// key is absent or (with an error saying it must be `expected`) malformed.
  std::optional<int64_t> GetQuantity(
      std::string_view key, const std::vector<std::pair<std::string, double>>& units,
      const std::string& expected) const;

  std::shared_ptr<const Yaml> yaml_;
  std::string file_;
  Diagnostics* diagnostics_;
  std::string path_;
  std::shared_ptr<std::set<std::string>> known_keys_;
};

/// The closest of `candidates` to `word` by edit distance, if it is close enough to be a
/// plausible typo; used for "did you mean" hints.
std::optional<std::string> ClosestMatch(std::string_view word,
                                        const std::vector<std::string>& candidates);

}  // namespace jetflow
