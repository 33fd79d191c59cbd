#include "jetflow/transforms/expression_option.h"

#include <arrow/api.h>

namespace jetflow {

expression::ExpressionSource ExpressionSourceOf(const ConfigNode& node) {
  expression::ExpressionSource source;
  SourceLocation where = node.location();
  source.file = where.file;
  source.line = std::max(1, where.line);
  source.column = std::max(1, where.column);
  source.indent = source.column;
  if (!node.IsScalar()) {
    node.Error("'" + node.path() + "' must be an expression (text)");
    return source;
  }
  source.text = node.AsString();
  if (!node.IsPlainScalar()) source.column += 1;  // skip the opening quote
  if (source.text.find_first_not_of(" \t\r\n") == std::string::npos) {
    node.Error("'" + node.path() + "' is an empty expression");
  }
  return source;
}

arrow::Result<std::shared_ptr<expression::CompiledExpression>> CompileExpression(
    const expression::ExpressionSource& source, const arrow::Schema& input,
    bool boolean) {
  ARROW_ASSIGN_OR_RAISE(auto compiled,
                        expression::CompiledExpression::Compile(source, input));
  if (boolean && compiled->type()->id() != arrow::Type::BOOL &&
      compiled->type()->id() != arrow::Type::NA) {
    return arrow::Status::Invalid(
        source.file, ":", source.line, ":", source.column, ": expression '", source.text,
        "' must be true or false, but its type is ", compiled->type()->ToString());
  }
  return compiled;
}

}  // namespace jetflow
