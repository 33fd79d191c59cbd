// Reading an expression from a pipeline option, so that its compile errors point at
// file:line:col inside the YAML file.
#pragma once

#include <arrow/result.h>

#include <memory>
#include <string>

#include "jetflow/core/config_node.h"
#include "jetflow/transforms/expression/expression.h"

namespace jetflow {

/// The expression text of a scalar option with the location of its first character.
/// Records an error (and returns an empty text) if `node` is not a non-empty scalar.
expression::ExpressionSource ExpressionSourceOf(const ConfigNode& node);

/// Compiles `source` against `input`, requiring a boolean result when `boolean` is set
/// (for filters and rules); Invalid with the expression's location otherwise.
arrow::Result<std::shared_ptr<expression::CompiledExpression>> CompileExpression(
    const expression::ExpressionSource& source, const arrow::Schema& input, bool boolean);

}  // namespace jetflow
