#include "jetflow/transforms/validate_transformer.h"

#include <arrow/api.h>
#include <arrow/compute/api.h>

#include <unordered_set>

#include "jetflow/transforms/expression_option.h"
#include "jetflow/transforms/row_key.h"

namespace jetflow {

namespace cp = arrow::compute;

struct ValidateTransformer::BoundRule {
  const Rule* rule = nullptr;
  std::vector<int> columns;
  std::shared_ptr<arrow::Scalar> min, max;
  std::shared_ptr<arrow::Array> allowed;
  std::shared_ptr<expression::CompiledExpression> expression;
  std::optional<RowKeyEncoder> keys;
};

namespace {

using BoundRule = ValidateTransformer::BoundRule;
using Kind = ValidateTransformer::Kind;

const char* KindName(Kind kind) {
  switch (kind) {
    case Kind::kNotNull:
      return "not_null";
    case Kind::kUnique:
      return "unique";
    case Kind::kRange:
      return "range";
    case Kind::kAllowed:
      return "allowed";
    case Kind::kRegex:
      return "regex";
    case Kind::kExpression:
      return "expression";
  }
  return "?";
}

arrow::Result<std::shared_ptr<arrow::Array>> Or(const std::shared_ptr<arrow::Array>& a,
                                                const std::shared_ptr<arrow::Array>& b) {
  if (a == nullptr) return b;
  ARROW_ASSIGN_OR_RAISE(arrow::Datum result, cp::Or(a, b));
  return result.make_array();
}

arrow::Result<std::shared_ptr<arrow::Array>> NullsFalse(
    const std::shared_ptr<arrow::Array>& mask) {
  if (mask->null_count() == 0) return mask;
  ARROW_ASSIGN_OR_RAISE(
      arrow::Datum filled,
      cp::CallFunction(
          "coalesce",
          {mask, arrow::Datum(std::make_shared<arrow::BooleanScalar>(false))}));
  return filled.make_array();
}

/// A bound for a range rule: the text parsed as the column's type, or as a double for
/// numeric columns (so `max: 1e6` works on an int64 column).
arrow::Result<std::shared_ptr<arrow::Scalar>> ParseBound(const std::string& text,
                                                         const arrow::DataType& type) {
  auto parsed = arrow::Scalar::Parse(type.GetSharedPtr(), text);
  if (parsed.ok()) return *parsed;
  if (arrow::is_numeric(type.id()) || arrow::is_decimal(type.id())) {
    auto as_double = arrow::Scalar::Parse(arrow::float64(), text);
    if (as_double.ok()) return *as_double;
  }
  return arrow::Status::Invalid("'", text, "' is not a valid ", type.ToString());
}

class ValidatePartition : public PartitionTransform {
 public:
  ValidatePartition(const ValidateTransformer::Options& options,
                    std::vector<std::shared_ptr<const BoundRule>> rules,
                    std::shared_ptr<arrow::Schema> quarantine_schema)
      : options_(options),
        rules_(std::move(rules)),
        quarantine_schema_(std::move(quarantine_schema)),
        broken_(rules_.size(), 0) {}

  arrow::Result<std::shared_ptr<arrow::RecordBatch>> Apply(
      const std::shared_ptr<arrow::RecordBatch>& input) override {
    const int64_t first_row = rows_seen_;
    rows_seen_ += input->num_rows();
    std::shared_ptr<arrow::RecordBatch> batch = input;
    std::shared_ptr<arrow::Array> row_numbers;  // set once rows were removed
    for (size_t r = 0; r < rules_.size() && batch->num_rows() > 0; ++r) {
      const BoundRule& bound = *rules_[r];
      const ValidateTransformer::Rule& rule = *bound.rule;
      ARROW_ASSIGN_OR_RAISE(auto broken, Broken(bound, *batch));
      const int64_t count = CountTrue(*broken);
      if (count == 0) continue;
      broken_[r] += count;
      switch (rule.on_fail) {
        case RowPolicy::kFail:
        case RowPolicy::kNull:
          return arrow::Status::Invalid(
              "validation failed: rule '", rule.name, "' (", rule.description,
              ") is broken by ", count, count == 1 ? " row" : " rows", " of this batch: ",
              DescribeRows(*batch, *broken, first_row, 5, row_numbers.get()));
        case RowPolicy::kQuarantine: {
          ARROW_ASSIGN_OR_RAISE(
              auto rows, QuarantineRows(quarantine_schema_, batch, broken, rule.name,
                                        rule.description));
          side_.push_back({0, std::move(rows)});
          quarantined_ += count;
          break;
        }
        case RowPolicy::kDrop:
          dropped_ += count;
          break;
      }
      if (row_numbers == nullptr) {
        arrow::Int64Builder numbers;
        ARROW_RETURN_NOT_OK(numbers.Reserve(batch->num_rows()));
        for (int64_t i = 0; i < batch->num_rows(); ++i) {
          numbers.UnsafeAppend(first_row + i);
        }
        ARROW_ASSIGN_OR_RAISE(row_numbers, numbers.Finish());
      }
      ARROW_ASSIGN_OR_RAISE(arrow::Datum keep, cp::Invert(broken));
      ARROW_ASSIGN_OR_RAISE(arrow::Datum kept, cp::Filter(batch, keep));
      ARROW_ASSIGN_OR_RAISE(arrow::Datum kept_numbers, cp::Filter(row_numbers, keep));
      batch = kept.record_batch();
      row_numbers = kept_numbers.make_array();
    }
    return batch;
  }

  TransformCounters counters() const override {
    TransformCounters counters;
    counters.rows_dropped = dropped_;
    counters.rows_quarantined = quarantined_;
    for (size_t r = 0; r < rules_.size(); ++r) {
      counters.rules.push_back(
          {rules_[r]->rule->name, ToString(rules_[r]->rule->on_fail), broken_[r]});
    }
    return counters;
  }

  std::vector<SideBatch> TakeSideBatches() override { return std::move(side_); }

 private:
  /// True where the row breaks the rule; never null.
  arrow::Result<std::shared_ptr<arrow::Array>> Broken(const BoundRule& bound,
                                                      const arrow::RecordBatch& batch) {
    const ValidateTransformer::Rule& rule = *bound.rule;
    std::shared_ptr<arrow::Array> broken;
    switch (rule.kind) {
      case Kind::kNotNull:
        for (int column : bound.columns) {
          ARROW_ASSIGN_OR_RAISE(arrow::Datum is_null, cp::IsNull(batch.column(column)));
          ARROW_ASSIGN_OR_RAISE(broken, Or(broken, is_null.make_array()));
        }
        return broken;
      case Kind::kRange: {
        const auto& values = batch.column(bound.columns[0]);
        if (bound.min) {
          ARROW_ASSIGN_OR_RAISE(arrow::Datum below,
                                cp::CallFunction("less", {values, bound.min}));
          ARROW_ASSIGN_OR_RAISE(broken, Or(broken, below.make_array()));
        }
        if (bound.max) {
          ARROW_ASSIGN_OR_RAISE(arrow::Datum above,
                                cp::CallFunction("greater", {values, bound.max}));
          ARROW_ASSIGN_OR_RAISE(broken, Or(broken, above.make_array()));
        }
        return NullsFalse(broken);
      }
      case Kind::kAllowed: {
        const auto& values = batch.column(bound.columns[0]);
        cp::SetLookupOptions lookup(bound.allowed, /*skip_nulls=*/true);
        ARROW_ASSIGN_OR_RAISE(arrow::Datum found, cp::IsIn(values, lookup));
        ARROW_ASSIGN_OR_RAISE(arrow::Datum not_found, cp::Invert(found));
        ARROW_ASSIGN_OR_RAISE(arrow::Datum valid, cp::IsValid(values));
        ARROW_ASSIGN_OR_RAISE(arrow::Datum result, cp::And(not_found, valid));
        return NullsFalse(result.make_array());
      }
      case Kind::kRegex: {
        cp::MatchSubstringOptions match(rule.pattern);
        ARROW_ASSIGN_OR_RAISE(arrow::Datum matched,
                              cp::CallFunction("match_substring_regex",
                                               {batch.column(bound.columns[0])}, &match));
        ARROW_ASSIGN_OR_RAISE(arrow::Datum result, cp::Invert(matched));
        return NullsFalse(result.make_array());
      }
      case Kind::kExpression: {
        ARROW_ASSIGN_OR_RAISE(auto value, bound.expression->Evaluate(batch));
        if (value->type_id() == arrow::Type::NA) {
          return arrow::MakeArrayFromScalar(arrow::BooleanScalar(true), batch.num_rows());
        }
        ARROW_ASSIGN_OR_RAISE(auto is_true, NullsFalse(value));
        ARROW_ASSIGN_OR_RAISE(arrow::Datum result, cp::Invert(is_true));
        return result.make_array();
      }
      case Kind::kUnique: {
        ARROW_ASSIGN_OR_RAISE(auto keys, bound.keys->Encode(batch));
        auto& seen = seen_[bound.rule];
        arrow::BooleanBuilder builder;
        ARROW_RETURN_NOT_OK(builder.Reserve(batch.num_rows()));
        for (auto& key : keys) {
          const size_t size = key.size();
          bool inserted = seen.insert(std::move(key)).second;
          if (inserted) key_bytes_ += static_cast<int64_t>(size) + 40;
          builder.UnsafeAppend(!inserted);
        }
        if (key_bytes_ > options_.max_key_bytes) {
          return arrow::Status::Invalid(
              "validate: rule '", rule.name, "' holds ", key_bytes_,
              " bytes of distinct keys, more than max_key_bytes (",
              options_.max_key_bytes,
              "); plan smaller partitions or raise max_key_bytes");
        }
        return builder.Finish();
      }
    }
    return arrow::Status::Invalid("unknown rule kind");
  }

  const ValidateTransformer::Options& options_;
  std::vector<std::shared_ptr<const BoundRule>> rules_;
  std::shared_ptr<arrow::Schema> quarantine_schema_;
  std::vector<int64_t> broken_;
  std::unordered_map<const ValidateTransformer::Rule*, std::unordered_set<std::string>>
      seen_;
  int64_t key_bytes_ = 0;
  int64_t dropped_ = 0;
  int64_t quarantined_ = 0;
  int64_t rows_seen_ = 0;
  std::vector<SideBatch> side_;
};

std::string Join(const std::vector<std::string>& items) {
  std::string text;
  for (size_t i = 0; i < items.size(); ++i) text += (i ? ", " : "") + items[i];
  return text;
}

}  // namespace

arrow::Result<ValidateTransformer::Options> ValidateTransformer::ParseOptions(
    const ConfigNode& node, const ComponentContext& context) {
  Options options;
  ConfigNode rules = node.Require("rules");
  bool quarantine = false;
  std::set<std::string> names;
  const std::vector<std::string> kinds = {"not_null", "unique", "range",
                                          "allowed",  "regex",  "expression"};
  if (rules.IsDefined() && !rules.IsSequence()) {
    rules.Error("'" + rules.path() + "' must be a list of rules");
  } else if (rules.IsDefined()) {
    int index = 0;
    for (const ConfigNode& entry : rules.Elements()) {
      ++index;
      if (!entry.IsMap()) {
        entry.Error("'" + entry.path() +
                    "' must be a map such as {not_null: id} or {unique: [id]}");
        continue;
      }
      Rule rule;
      rule.location = entry.location();
      int found = 0;
      for (size_t k = 0; k < kinds.size(); ++k) {
        if (entry.Has(kinds[k])) {
          ++found;
          rule.kind = static_cast<Kind>(k);
        }
      }
      std::string policy =
          entry.GetEnum("on_fail", "fail", {"fail", "drop", "quarantine"});
      rule.on_fail = policy == "drop"         ? RowPolicy::kDrop
                     : policy == "quarantine" ? RowPolicy::kQuarantine
                                              : RowPolicy::kFail;
      quarantine |= rule.on_fail == RowPolicy::kQuarantine;
      std::optional<std::string> name = entry.GetOptionalString("name");
      if (found != 1) {
        entry.CheckNoUnknownKeys();
        entry.Error("'" + entry.path() + "' must have exactly one of " + Join(kinds));
        continue;
      }
      ConfigNode spec = entry.Get(KindName(rule.kind));
      switch (rule.kind) {
        case Kind::kNotNull:
        case Kind::kUnique:
          if (spec.IsScalar()) {
            rule.columns = {spec.AsString()};
          } else {
            rule.columns = entry.GetStringList(KindName(rule.kind));
          }
          if (rule.columns.empty()) spec.Error("'" + spec.path() + "' names no column");
          rule.description = std::string(KindName(rule.kind)) + " " + Join(rule.columns);
          break;
        case Kind::kRange:
          if (!spec.IsMap()) {
            spec.Error("'" + spec.path() + "' must be {column: c, min: x, max: y}");
            break;
          }
          rule.columns = {spec.RequireString("column")};
          if (spec.Has("min")) rule.min = spec.Get("min").AsString();
          if (spec.Has("max")) rule.max = spec.Get("max").AsString();
          if (!rule.min && !rule.max)
            spec.Error("'" + spec.path() + "' needs min or max");
          spec.CheckNoUnknownKeys();
          rule.description = rule.columns[0] + " in [" + rule.min.value_or("-inf") +
                             ", " + rule.max.value_or("+inf") + "]";
          break;
        case Kind::kAllowed:
          if (!spec.IsMap()) {
            spec.Error("'" + spec.path() + "' must be {column: c, values: [...]}");
            break;
          }
          rule.columns = {spec.RequireString("column")};
          spec.Require("values");
          rule.values = spec.GetStringList("values");
          if (spec.Has("values") && rule.values.empty()) {
            spec.Get("values").Error("'" + spec.path() + ".values' is empty");
          }
          spec.CheckNoUnknownKeys();
          rule.description = rule.columns[0] + " in {" + Join(rule.values) + "}";
          break;
        case Kind::kRegex:
          if (!spec.IsMap()) {
            spec.Error("'" + spec.path() + "' must be {column: c, pattern: \"...\"}");
            break;
          }
          rule.columns = {spec.RequireString("column")};
          rule.pattern = spec.RequireString("pattern");
          spec.CheckNoUnknownKeys();
          rule.description = rule.columns[0] + " matches /" + rule.pattern + "/";
          break;
        case Kind::kExpression:
          rule.expression = ExpressionSourceOf(spec);
          rule.description = rule.expression.text;
          break;
      }
      entry.CheckNoUnknownKeys();
      if (name) {
        rule.name = *name;
      } else if (rule.kind == Kind::kExpression) {
        rule.name = "expression_" + std::to_string(index);
      } else {
        rule.name = std::string(KindName(rule.kind)) + "_" + Join(rule.columns);
        for (char& c : rule.name) {
          if (c == ',' || c == ' ') c = '_';
        }
      }
      if (!names.insert(rule.name).second) {
        entry.Error("two rules are named '" + rule.name +
                    "'; give one a distinct 'name'");
      }
      options.rules.push_back(std::move(rule));
    }
    if (rules.Elements().empty()) rules.Error("'" + rules.path() + "' is empty");
  }
  options.max_key_bytes = node.GetBytes("max_key_bytes", options.max_key_bytes);
  options.quarantine_path = ParseQuarantinePath(node, context, quarantine);
  node.CheckNoUnknownKeys();
  ARROW_RETURN_NOT_OK(node.diagnostics()->ToStatus());
  return options;
}

arrow::Result<std::shared_ptr<arrow::Schema>> ValidateTransformer::Bind(
    const std::shared_ptr<arrow::Schema>& input) {
  std::vector<std::string> problems;
  bound_.clear();
  for (const Rule& rule : options_.rules) {
    auto bound = std::make_shared<BoundRule>();
    bound->rule = &rule;
    const std::string where = rule.location.ToString() + ": rule '" + rule.name + "': ";
    bool ok = true;
    for (const auto& name : rule.columns) {
      int index = input->GetFieldIndex(name);
      if (index < 0) {
        auto hint = ClosestMatch(name, input->field_names());
        problems.push_back(where + "no column '" + name + "'" +
                           (hint ? " (did you mean '" + *hint + "'?)" : ""));
        ok = false;
      }
      bound->columns.push_back(index);
    }
    if (!ok) continue;
    auto type = rule.columns.empty() ? nullptr : input->field(bound->columns[0])->type();
    switch (rule.kind) {
      case Kind::kNotNull:
        break;
      case Kind::kUnique: {
        auto keys = RowKeyEncoder::Make(*input, rule.columns);
        if (!keys.ok()) {
          problems.push_back(where + keys.status().message());
        } else {
          bound->keys = std::move(*keys);
        }
        break;
      }
      case Kind::kRange: {
        if (!arrow::is_numeric(type->id()) && !arrow::is_decimal(type->id()) &&
            !arrow::is_temporal(type->id()) && !arrow::is_base_binary_like(type->id())) {
          problems.push_back(where +
                             "range needs a numeric, temporal or string column; '" +
                             rule.columns[0] + "' is " + type->ToString());
          break;
        }
        for (auto [text, target] :
             {std::pair{&rule.min, &bound->min}, std::pair{&rule.max, &bound->max}}) {
          if (!*text) continue;
          auto parsed = ParseBound(**text, *type);
          if (!parsed.ok()) {
            problems.push_back(where + parsed.status().message());
          } else {
            *target = *parsed;
          }
        }
        break;
      }
      case Kind::kAllowed: {
        std::unique_ptr<arrow::ArrayBuilder> builder;
        auto made = arrow::MakeBuilder(type);
        if (!made.ok()) {
          problems.push_back(where + made.status().message());
          break;
        }
        builder = std::move(*made);
        for (const auto& text : rule.values) {
          auto parsed = arrow::Scalar::Parse(type, text);
          if (!parsed.ok()) {
            problems.push_back(where + "allowed value '" + text + "' is not a valid " +
                               type->ToString());
            ok = false;
          } else if (!builder->AppendScalar(**parsed).ok()) {
            ok = false;
          }
        }
        if (ok) {
          auto finished = builder->Finish();
          if (!finished.ok()) {
            problems.push_back(where + finished.status().message());
          } else {
            bound->allowed = *finished;
          }
        }
        break;
      }
      case Kind::kRegex: {
        if (!arrow::is_base_binary_like(type->id())) {
          problems.push_back(where + "regex needs a string column; '" + rule.columns[0] +
                             "' is " + type->ToString());
          break;
        }
        // Compile the pattern now: a bad one is a config error, not a data error.
        cp::MatchSubstringOptions match(rule.pattern);
        auto probe = arrow::MakeArrayFromScalar(arrow::StringScalar(""), 1);
        if (probe.ok()) {
          auto tried = cp::CallFunction("match_substring_regex", {*probe}, &match);
          if (!tried.ok()) {
            problems.push_back(where + "invalid pattern: " + tried.status().message());
          }
        }
        break;
      }
      case Kind::kExpression: {
        auto compiled = CompileExpression(rule.expression, *input, true);
        if (!compiled.ok()) {
          problems.push_back(compiled.status().message());
        } else {
          bound->expression = *compiled;
        }
        break;
      }
    }
    bound_.push_back(std::move(bound));
  }
  if (!problems.empty()) {
    std::string message = "validate: ";
    for (size_t i = 0; i < problems.size(); ++i) message += (i ? "\n" : "") + problems[i];
    return arrow::Status::Invalid(message);
  }
  input_ = input;
  return input;
}

arrow::Result<std::unique_ptr<PartitionTransform>> ValidateTransformer::Open(
    const PartitionContext&) {
  if (input_ == nullptr) return arrow::Status::Invalid("validate: Open() before Bind()");
  std::shared_ptr<arrow::Schema> quarantine;
  if (options_.quarantine_path) {
    quarantine = QuarantineSpec(*options_.quarantine_path, input_.get()).schema;
  }
  return std::make_unique<ValidatePartition>(options_, bound_, quarantine);
}

std::vector<SideOutputSpec> ValidateTransformer::side_outputs() const {
  if (!options_.quarantine_path) return {};
  return {QuarantineSpec(*options_.quarantine_path, input_.get())};
}

void RegisterValidateTransformer(ComponentRegistry& registry) {
  registry.RegisterTransformer(
      "validate",
      [](const ConfigNode& node,
         const ComponentContext& context) -> arrow::Result<std::unique_ptr<Transformer>> {
        ARROW_ASSIGN_OR_RAISE(auto options,
                              ValidateTransformer::ParseOptions(node, context));
        return std::make_unique<ValidateTransformer>(std::move(options));
      });
}

}  // namespace jetflow
