// `validate`: checks rows against rules; each rule has its own policy for rows that break
// it.
//
//   transformers:
//     - type: validate
//       rules:
//         - {name: id_not_null, not_null: id}                  # on_fail: fail (default)
//         - {unique: [id], on_fail: drop}
//         - {range: {column: amount, min: 0, max: 1e6}, on_fail: quarantine}
//         - {allowed: {column: status, values: [new, paid]}, on_fail: quarantine}
//         - {regex: {column: email, pattern: "^[^@]+@[^@]+$"}, on_fail: drop}
//         - {name: paid_or_refunded, expression: "amount >= 0 OR refunded"}
//       quarantine: {path: ./quarantine}      # needed by on_fail: quarantine
//
// Rules run in the order written, on whole arrays. A row that breaks a `drop` or
// `quarantine` rule leaves the stream there, so later rules never see it and every row
// is counted (and quarantined) once, under the first rule it broke. A `fail` rule fails
// the partition, naming the rule and its first offending rows (up to 5).
//
// Nulls: `not_null` is the only rule a null breaks; range, allowed and regex let nulls
// pass (as SQL CHECK constraints do). An `expression` rule passes only rows where it is
// true (null breaks it). `unique` treats nulls as equal values; the first row with a key
// passes, later ones break the rule.
//
// Memory: `unique` keeps the encoded key of every distinct row of the partition (about
// key bytes + 40 bytes each); `max_key_bytes` (default 512MiB) bounds it, failing the
// partition with a message rather than exhausting memory.
#pragma once

#include <arrow/result.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "jetflow/core/registry.h"
#include "jetflow/core/transformer.h"
#include "jetflow/transforms/expression/expression.h"
#include "jetflow/transforms/row_policy.h"

namespace jetflow {

class ValidateTransformer : public Transformer {
 public:
  enum class Kind { kNotNull, kUnique, kRange, kAllowed, kRegex, kExpression };
  struct Rule {
    std::string name;
    Kind kind = Kind::kNotNull;
    RowPolicy on_fail = RowPolicy::kFail;
    std::vector<std::string> columns;     // not_null, unique: several; others: one
    std::optional<std::string> min, max;  // range bounds, as written
    std::vector<std::string> values;      // allowed
    std::string pattern;                  // regex
    expression::ExpressionSource expression;
    SourceLocation location;  // of the rule, for Bind errors
    /// Human-readable form for reasons and messages, e.g. "amount in [0, 1e6]".
    std::string description;
  };
  struct Options {
    std::vector<Rule> rules;
    std::optional<std::string> quarantine_path;
    int64_t max_key_bytes = int64_t{512} << 20;
  };

  static arrow::Result<Options> ParseOptions(const ConfigNode& node,
                                             const ComponentContext& context);
  explicit ValidateTransformer(Options options) : options_(std::move(options)) {}

  /// Type-checks every rule against `input` (columns exist and have a type the rule
  /// applies to, bounds and values parse as the column's type, patterns and expressions
  /// compile); Invalid listing every problem with the rule's location. Output = input.
  arrow::Result<std::shared_ptr<arrow::Schema>> Bind(
      const std::shared_ptr<arrow::Schema>& input) override;
  arrow::Result<std::unique_ptr<PartitionTransform>> Open(
      const PartitionContext& context) override;
  std::vector<SideOutputSpec> side_outputs() const override;

  /// A rule ready to run, built by Bind.
  struct BoundRule;

 private:
  Options options_;
  std::shared_ptr<arrow::Schema> input_;
  std::vector<std::shared_ptr<const BoundRule>> bound_;
};

void RegisterValidateTransformer(ComponentRegistry& registry);

}  // namespace jetflow
