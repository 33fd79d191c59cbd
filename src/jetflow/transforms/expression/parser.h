// Parser of the expression language: text -> syntax tree with source offsets.
//
// The grammar (EBNF, precedence, literals) is documented in docs/expressions.md; this is
// a hand-written recursive-descent parser, one function per precedence level. The tree
// knows nothing about types or columns: the compiler (expression.cc) checks it against a
// schema.
#pragma once

#include <arrow/result.h>

#include <memory>
#include <string>
#include <vector>

namespace jetflow::expression {

/// One node of the syntax tree. `offset` is the byte offset in the source text of the
/// token that errors about this node should point at (the operator of a binary node,
/// the name of a function or column, the first character of a literal).
struct Node {
  enum class Kind {
    kLiteral,  // literal_kind, text
    kColumn,   // name
    kUnary,    // name ("-", "NOT"), args[0]
    kBinary,   // name (operator, upper case for AND/OR), args[0], args[1]
    kIsNull,   // negated, args[0]
    kIn,       // negated, args[0] IN (args[1..])
    kBetween,  // negated, args[0] BETWEEN args[1] AND args[2]
    kLike,     // negated, args[0] LIKE args[1]
    kCase,     // args = cond1, value1, cond2, value2, ..., [else]; has_else
    kCall,     // name (lower case), args
    kCast,     // args[0], type_name (lower case), type_params, try_cast
  };
  enum class LiteralKind { kInteger, kDecimal, kString, kBool, kNull, kDate, kTimestamp };

  Kind kind = Kind::kLiteral;
  int offset = 0;
  std::string name;
  LiteralKind literal_kind = LiteralKind::kNull;
  std::string text;  // literal value (string without quotes; number as written)
  std::vector<std::shared_ptr<Node>> args;
  bool negated = false;
  bool has_else = false;
  bool try_cast = false;
  std::string type_name;
  std::vector<int> type_params;
  int type_offset = 0;
};

/// A parse error: the message and the byte offset of the offending token.
struct ParseError {
  std::string message;
  int offset = 0;
};

/// Parses `text` into a tree; on failure returns nullptr and fills `error`.
std::shared_ptr<Node> Parse(const std::string& text, ParseError* error);

}  // namespace jetflow::expression
