#include "jetflow/transforms/expression/parser.h"

#include <cctype>
#include <string_view>
#include <utility>

namespace jetflow::expression {
namespace {

struct Token {
  enum class Kind { kEnd, kInteger, kDecimal, kString, kIdentifier, kQuoted, kSymbol };
  Kind kind = Kind::kEnd;
  std::string text;   // identifier / symbol / literal content
  std::string upper;  // identifiers in upper case, for keywords
  int offset = 0;
};

std::string Upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool IsIdentStart(char c) {
  return std::isalpha(static_cast<unsigned char>(c)) || c == '_';
}
bool IsIdentChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
}
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Splits the text into tokens; false (with `error`) on a character that starts no token
// or an unterminated string.
bool Tokenize(const std::string& s, std::vector<Token>* out, ParseError* error) {
  size_t i = 0;
  while (true) {
    while (i < s.size()) {
      if (std::isspace(static_cast<unsigned char>(s[i]))) {
        ++i;
      } else if (s.compare(i, 2, "--") == 0) {  // comment to the end of the line
        while (i < s.size() && s[i] != '\n') ++i;
      } else {
        break;
      }
    }
    Token t;
    t.offset = static_cast<int>(i);
    if (i >= s.size()) {
      out->push_back(t);
      return true;
    }
    char c = s[i];
    if (IsDigit(c)) {
      size_t j = i;
      while (j < s.size() && IsDigit(s[j])) ++j;
      t.kind = Token::Kind::kInteger;
      if (j + 1 < s.size() && s[j] == '.' && IsDigit(s[j + 1])) {
        t.kind = Token::Kind::kDecimal;
        ++j;
        while (j < s.size() && IsDigit(s[j])) ++j;
      }
      if (j < s.size() && (s[j] == 'e' || s[j] == 'E')) {
        size_t k = j + 1;
        if (k < s.size() && (s[k] == '+' || s[k] == '-')) ++k;
        if (k < s.size() && IsDigit(s[k])) {
          while (k < s.size() && IsDigit(s[k])) ++k;
          j = k;
          t.kind = Token::Kind::kDecimal;
        }
      }
      if (j < s.size() && IsIdentStart(s[j])) {
        *error = {"malformed number '" + s.substr(i, j + 1 - i) + "'", t.offset};
        return false;
      }
      t.text = s.substr(i, j - i);
      i = j;
    } else if (c == '\'' || c == '"') {
      t.kind = c == '\'' ? Token::Kind::kString : Token::Kind::kQuoted;
      size_t j = i + 1;
      bool closed = false;
      while (j < s.size()) {
        if (s[j] == c) {
          if (j + 1 < s.size() && s[j + 1] == c) {  // '' or "" escapes the quote
            t.text.push_back(c);
            j += 2;
            continue;
          }
          closed = true;
          ++j;
          break;
        }
        t.text.push_back(s[j++]);
      }
      if (!closed) {
        *error = {c == '\'' ? "unterminated string literal (missing closing ')"
                            : "unterminated quoted identifier (missing closing \")",
                  t.offset};
        return false;
      }
      if (t.kind == Token::Kind::kQuoted && t.text.empty()) {
        *error = {"empty quoted identifier", t.offset};
        return false;
      }
      i = j;
    } else if (IsIdentStart(c)) {
      size_t j = i;
      while (j < s.size() && IsIdentChar(s[j])) ++j;
      t.kind = Token::Kind::kIdentifier;
      t.text = s.substr(i, j - i);
      t.upper = Upper(t.text);
      i = j;
    } else {
      static const char* const kSymbols[] = {"||", "<=", ">=", "<>", "!=", "=", "<", ">",
                                             "+",  "-",  "*",  "/",  "%",  "(", ")", ","};
      bool found = false;
      for (const char* sym : kSymbols) {
        std::string_view v(sym);
        if (s.compare(i, v.size(), v) == 0) {
          t.kind = Token::Kind::kSymbol;
          t.text = std::string(v);
          i += v.size();
          found = true;
          break;
        }
      }
      if (!found) {
        std::string shown = std::isprint(static_cast<unsigned char>(c))
                                ? std::string(1, c)
                                : "\\x" +
                                      std::string(1, "0123456789abcdef"[(c >> 4) & 15]) +
                                      std::string(1, "0123456789abcdef"[c & 15]);
        *error = {"unexpected character '" + shown + "'", t.offset};
        return false;
      }
    }
    out->push_back(std::move(t));
  }
}

// Words that cannot be column names unless quoted.
bool IsReserved(const std::string& upper) {
  static const char* const kReserved[] = {
      "AND",  "OR",   "NOT",  "IS",   "NULL", "TRUE", "FALSE", "IN",       "BETWEEN",
      "LIKE", "CASE", "WHEN", "THEN", "ELSE", "END",  "CAST",  "TRY_CAST", "AS"};
  for (const char* r : kReserved) {
    if (upper == r) return true;
  }
  return false;
}

class Parser {
 public:
  Parser(std::vector<Token> tokens, ParseError* error)
      : tokens_(std::move(tokens)), error_(error) {}

  std::shared_ptr<Node> ParseAll() {
    auto node = ParseOr();
    if (!node) return nullptr;
    if (Peek().kind != Token::Kind::kEnd) {
      return Fail("unexpected " + Describe(Peek()) + " after the end of the expression");
    }
    return node;
  }

 private:
  static constexpr int kMaxDepth = 200;

  const Token& Peek(int ahead = 0) const {
    size_t i = pos_ + ahead;
    return i < tokens_.size() ? tokens_[i] : tokens_.back();
  }
  const Token& Next() {
    const Token& t = Peek();
    if (pos_ < tokens_.size() - 1) ++pos_;
    return t;
  }
  bool IsKeyword(const char* word, int ahead = 0) const {
    const Token& t = Peek(ahead);
    return t.kind == Token::Kind::kIdentifier && t.upper == word;
  }
  bool IsSymbol(const char* sym) const {
    return Peek().kind == Token::Kind::kSymbol && Peek().text == sym;
  }
  bool AcceptKeyword(const char* word) {
    if (!IsKeyword(word)) return false;
    Next();
    return true;
  }
  bool AcceptSymbol(const char* sym) {
    if (!IsSymbol(sym)) return false;
    Next();
    return true;
  }
  static std::string Describe(const Token& t) {
    switch (t.kind) {
      case Token::Kind::kEnd:
        return "end of expression";
      case Token::Kind::kString:
        return "string '" + t.text + "'";
      case Token::Kind::kQuoted:
        return "identifier \"" + t.text + "\"";
      default:
        return "'" + t.text + "'";
    }
  }
  std::shared_ptr<Node> Fail(std::string message, int offset = -1) {
    if (error_->message.empty()) {
      *error_ = {std::move(message), offset >= 0 ? offset : Peek().offset};
    }
    return nullptr;
  }
  bool ExpectSymbol(const char* sym, const char* context) {
    if (AcceptSymbol(sym)) return true;
    Fail(std::string("expected '") + sym + "' " + context + ", found " +
         Describe(Peek()));
    return false;
  }
  bool ExpectKeyword(const char* word, const char* context) {
    if (AcceptKeyword(word)) return true;
    Fail(std::string("expected ") + word + " " + context + ", found " + Describe(Peek()));
    return false;
  }

  static std::shared_ptr<Node> Make(Node::Kind kind, int offset, std::string name = "") {
    auto n = std::make_shared<Node>();
    n->kind = kind;
    n->offset = offset;
    n->name = std::move(name);
    return n;
  }

  // Guards against stack overflow on deeply nested input (e.g. from a fuzzer).
  struct DepthGuard {
    explicit DepthGuard(int* depth) : depth_(depth) { ++*depth_; }
    ~DepthGuard() { --*depth_; }
    int* depth_;
  };

  std::shared_ptr<Node> ParseOr() {
    DepthGuard guard(&depth_);
    if (depth_ > kMaxDepth) return Fail("expression nested too deeply");
    auto left = ParseAnd();
    while (left && IsKeyword("OR")) {
      int at = Next().offset;
      auto right = ParseAnd();
      if (!right) return nullptr;
      auto n = Make(Node::Kind::kBinary, at, "OR");
      n->args = {left, right};
      left = n;
    }
    return left;
  }

  std::shared_ptr<Node> ParseAnd() {
    auto left = ParseNot();
    while (left && IsKeyword("AND")) {
      int at = Next().offset;
      auto right = ParseNot();
      if (!right) return nullptr;
      auto n = Make(Node::Kind::kBinary, at, "AND");
      n->args = {left, right};
      left = n;
    }
    return left;
  }

  std::shared_ptr<Node> ParseNot() {
    if (IsKeyword("NOT")) {
      DepthGuard guard(&depth_);
      if (depth_ > kMaxDepth) return Fail("expression nested too deeply");
      int at = Next().offset;
      auto operand = ParseNot();
      if (!operand) return nullptr;
      auto n = Make(Node::Kind::kUnary, at, "NOT");
      n->args = {operand};
      return n;
    }
    return ParseComparison();
  }

  std::shared_ptr<Node> ParseComparison() {
    auto left = ParseConcat();
    if (!left) return nullptr;
    static const char* const kComparisons[] = {"=", "!=", "<>", "<", "<=", ">", ">="};
    for (const char* op : kComparisons) {
      if (IsSymbol(op)) {
        int at = Next().offset;
        auto right = ParseConcat();
        if (!right) return nullptr;
        auto n = Make(Node::Kind::kBinary, at, std::string(op) == "<>" ? "!=" : op);
        n->args = {left, right};
        return CheckNotChained(n);
      }
    }
    if (IsKeyword("IS")) {
      int at = Next().offset;
      bool negated = AcceptKeyword("NOT");
      if (!ExpectKeyword("NULL", "after IS [NOT]")) return nullptr;
      auto n = Make(Node::Kind::kIsNull, at);
      n->negated = negated;
      n->args = {left};
      return CheckNotChained(n);
    }
    bool negated = false;
    int not_at = Peek().offset;
    if (IsKeyword("NOT") &&
        (IsKeyword("IN", 1) || IsKeyword("BETWEEN", 1) || IsKeyword("LIKE", 1))) {
      Next();
      negated = true;
    }
    if (IsKeyword("IN")) {
      int at = negated ? not_at : Peek().offset;
      Next();
      if (!ExpectSymbol("(", "after IN")) return nullptr;
      auto n = Make(Node::Kind::kIn, at);
      n->negated = negated;
      n->args = {left};
      do {
        auto item = ParseOr();
        if (!item) return nullptr;
        n->args.push_back(item);
      } while (AcceptSymbol(","));
      if (!ExpectSymbol(")", "to close the IN list")) return nullptr;
      return CheckNotChained(n);
    }
    if (IsKeyword("BETWEEN")) {
      int at = negated ? not_at : Peek().offset;
      Next();
      auto low = ParseConcat();
      if (!low) return nullptr;
      if (!ExpectKeyword("AND", "in BETWEEN low AND high")) return nullptr;
      auto high = ParseConcat();
      if (!high) return nullptr;
      auto n = Make(Node::Kind::kBetween, at);
      n->negated = negated;
      n->args = {left, low, high};
      return CheckNotChained(n);
    }
    if (IsKeyword("LIKE")) {
      int at = negated ? not_at : Peek().offset;
      Next();
      auto pattern = ParseConcat();
      if (!pattern) return nullptr;
      auto n = Make(Node::Kind::kLike, at);
      n->negated = negated;
      n->args = {left, pattern};
      return CheckNotChained(n);
    }
    return left;
  }

  // `a < b < c` is almost always a mistake; SQL rejects it too.
  std::shared_ptr<Node> CheckNotChained(std::shared_ptr<Node> n) {
    static const char* const kComparisons[] = {"=", "!=", "<>", "<", "<=", ">", ">="};
    for (const char* op : kComparisons) {
      if (IsSymbol(op)) {
        return Fail("comparisons cannot be chained; use AND (a < b AND b < c)");
      }
    }
    if (IsKeyword("IS") || IsKeyword("IN") || IsKeyword("BETWEEN") || IsKeyword("LIKE")) {
      return Fail("comparisons cannot be chained; use AND or parentheses");
    }
    return n;
  }

  std::shared_ptr<Node> ParseConcat() {
    auto left = ParseAdditive();
    while (left && IsSymbol("||")) {
      int at = Next().offset;
      auto right = ParseAdditive();
      if (!right) return nullptr;
      auto n = Make(Node::Kind::kBinary, at, "||");
      n->args = {left, right};
      left = n;
    }
    return left;
  }

  std::shared_ptr<Node> ParseAdditive() {
    auto left = ParseMultiplicative();
    while (left && (IsSymbol("+") || IsSymbol("-"))) {
      const Token& op = Next();
      auto right = ParseMultiplicative();
      if (!right) return nullptr;
      auto n = Make(Node::Kind::kBinary, op.offset, op.text);
      n->args = {left, right};
      left = n;
    }
    return left;
  }

  std::shared_ptr<Node> ParseMultiplicative() {
    auto left = ParseUnary();
    while (left && (IsSymbol("*") || IsSymbol("/") || IsSymbol("%"))) {
      const Token& op = Next();
      auto right = ParseUnary();
      if (!right) return nullptr;
      auto n = Make(Node::Kind::kBinary, op.offset, op.text);
      n->args = {left, right};
      left = n;
    }
    return left;
  }

  std::shared_ptr<Node> ParseUnary() {
    if (IsSymbol("-") || IsSymbol("+")) {
      DepthGuard guard(&depth_);
      if (depth_ > kMaxDepth) return Fail("expression nested too deeply");
      const Token& op = Next();
      auto operand = ParseUnary();
      if (!operand) return nullptr;
      if (op.text == "+") return operand;
      // Fold "-" into numeric literals so that -9223372036854775808 is representable.
      if (operand->kind == Node::Kind::kLiteral &&
          (operand->literal_kind == Node::LiteralKind::kInteger ||
           operand->literal_kind == Node::LiteralKind::kDecimal) &&
          operand->text[0] != '-') {
        operand->text = "-" + operand->text;
        operand->offset = op.offset;
        return operand;
      }
      auto n = Make(Node::Kind::kUnary, op.offset, "-");
      n->args = {operand};
      return n;
    }
    return ParsePrimary();
  }

  std::shared_ptr<Node> Literal(Node::LiteralKind kind, const Token& t) {
    auto n = Make(Node::Kind::kLiteral, t.offset);
    n->literal_kind = kind;
    n->text = t.text;
    return n;
  }

  std::shared_ptr<Node> ParsePrimary() {
    const Token& t = Peek();
    switch (t.kind) {
      case Token::Kind::kInteger:
        return Literal(Node::LiteralKind::kInteger, Next());
      case Token::Kind::kDecimal:
        return Literal(Node::LiteralKind::kDecimal, Next());
      case Token::Kind::kString:
        return Literal(Node::LiteralKind::kString, Next());
      case Token::Kind::kQuoted: {
        const Token& q = Next();
        return Make(Node::Kind::kColumn, q.offset, q.text);
      }
      case Token::Kind::kSymbol:
        if (t.text == "(") {
          DepthGuard guard(&depth_);
          if (depth_ > kMaxDepth) return Fail("expression nested too deeply");
          Next();
          auto inner = ParseOr();
          if (!inner) return nullptr;
          if (!ExpectSymbol(")", "to close '('")) return nullptr;
          return inner;
        }
        return Fail("expected a value, found " + Describe(t));
      case Token::Kind::kEnd:
        return Fail("expected a value, found end of expression");
      case Token::Kind::kIdentifier:
        break;
    }
    if (t.upper == "TRUE" || t.upper == "FALSE") {
      auto n = Literal(Node::LiteralKind::kBool, Next());
      n->text = Upper(n->text);
      return n;
    }
    if (t.upper == "NULL") return Literal(Node::LiteralKind::kNull, Next());
    if ((t.upper == "DATE" || t.upper == "TIMESTAMP") &&
        Peek(1).kind == Token::Kind::kString) {
      bool date = t.upper == "DATE";
      int at = Next().offset;
      auto n = Literal(date ? Node::LiteralKind::kDate : Node::LiteralKind::kTimestamp,
                       Next());
      n->offset = at;
      return n;
    }
    if (t.upper == "CASE") return ParseCase();
    if (t.upper == "CAST" || t.upper == "TRY_CAST") return ParseCast();
    if (t.upper == "EXTRACT" && Peek(1).kind == Token::Kind::kSymbol &&
        Peek(1).text == "(") {
      return ParseExtract();
    }
    if (Peek(1).kind == Token::Kind::kSymbol && Peek(1).text == "(" &&
        !IsReserved(t.upper)) {
      return ParseCall();
    }
    if (IsReserved(t.upper)) {
      return Fail("expected a value, found keyword " + t.upper +
                  " (quote a column with this name: \"" + t.text + "\")");
    }
    const Token& name = Next();
    return Make(Node::Kind::kColumn, name.offset, name.text);
  }

  std::shared_ptr<Node> ParseCall() {
    DepthGuard guard(&depth_);
    if (depth_ > kMaxDepth) return Fail("expression nested too deeply");
    const Token& name = Next();
    auto n = Make(Node::Kind::kCall, name.offset, Lower(name.text));
    Next();  // "("
    if (AcceptSymbol(")")) return n;
    do {
      auto arg = ParseOr();
      if (!arg) return nullptr;
      n->args.push_back(arg);
    } while (AcceptSymbol(","));
    if (!ExpectSymbol(")", ("to close the arguments of " + n->name + "(").c_str())) {
      return nullptr;
    }
    return n;
  }

  // EXTRACT(field FROM x) is date_part('field', x).
  std::shared_ptr<Node> ParseExtract() {
    DepthGuard guard(&depth_);
    if (depth_ > kMaxDepth) return Fail("expression nested too deeply");
    int at = Next().offset;
    Next();  // "("
    const Token& field = Peek();
    if (field.kind != Token::Kind::kIdentifier) {
      return Fail(
          "expected a field name (year, month, day, hour, ...) in EXTRACT, found " +
          Describe(field));
    }
    Next();
    auto field_literal = Make(Node::Kind::kLiteral, field.offset);
    field_literal->literal_kind = Node::LiteralKind::kString;
    field_literal->text = Lower(field.text);
    if (!ExpectKeyword("FROM", "in EXTRACT(field FROM value)")) return nullptr;
    auto value = ParseOr();
    if (!value) return nullptr;
    if (!ExpectSymbol(")", "to close EXTRACT(")) return nullptr;
    auto n = Make(Node::Kind::kCall, at, "date_part");
    n->args = {field_literal, value};
    return n;
  }

  std::shared_ptr<Node> ParseCase() {
    DepthGuard guard(&depth_);
    if (depth_ > kMaxDepth) return Fail("expression nested too deeply");
    int at = Next().offset;
    auto n = Make(Node::Kind::kCase, at);
    std::shared_ptr<Node> operand;  // CASE x WHEN v THEN ... is CASE WHEN x = v THEN ...
    if (!IsKeyword("WHEN")) {
      operand = ParseOr();
      if (!operand) return nullptr;
    }
    if (!IsKeyword("WHEN")) {
      return Fail("expected WHEN after CASE, found " + Describe(Peek()));
    }
    while (IsKeyword("WHEN")) {
      int when_at = Next().offset;
      auto cond = ParseOr();
      if (!cond) return nullptr;
      if (operand) {
        auto eq = Make(Node::Kind::kBinary, when_at, "=");
        eq->args = {operand, cond};
        cond = eq;
      }
      if (!ExpectKeyword("THEN", "after the WHEN condition")) return nullptr;
      auto value = ParseOr();
      if (!value) return nullptr;
      n->args.push_back(cond);
      n->args.push_back(value);
    }
    if (AcceptKeyword("ELSE")) {
      auto value = ParseOr();
      if (!value) return nullptr;
      n->args.push_back(value);
      n->has_else = true;
    }
    if (!ExpectKeyword("END", "to close CASE")) return nullptr;
    return n;
  }

  std::shared_ptr<Node> ParseCast() {
    DepthGuard guard(&depth_);
    if (depth_ > kMaxDepth) return Fail("expression nested too deeply");
    const Token& kw = Next();
    auto n = Make(Node::Kind::kCast, kw.offset);
    n->try_cast = kw.upper == "TRY_CAST";
    if (!ExpectSymbol("(", ("after " + kw.upper).c_str())) return nullptr;
    auto value = ParseOr();
    if (!value) return nullptr;
    n->args = {value};
    if (!ExpectKeyword("AS", ("in " + kw.upper + "(value AS type)").c_str())) {
      return nullptr;
    }
    const Token& type = Peek();
    if (type.kind != Token::Kind::kIdentifier) {
      return Fail("expected a type name after AS, found " + Describe(type));
    }
    Next();
    n->type_name = Lower(type.text);
    n->type_offset = type.offset;
    if (AcceptSymbol("(")) {
      do {
        const Token& p = Peek();
        if (p.kind != Token::Kind::kInteger || p.text.size() > 6) {
          return Fail("expected an integer type parameter, found " + Describe(p));
        }
        n->type_params.push_back(std::stoi(Next().text));
      } while (AcceptSymbol(","));
      if (!ExpectSymbol(")", "to close the type parameters")) return nullptr;
    }
    if (!ExpectSymbol(")", ("to close " + kw.upper + "(").c_str())) return nullptr;
    return n;
  }

  std::vector<Token> tokens_;
  size_t pos_ = 0;
  int depth_ = 0;
  ParseError* error_;
};

constexpr int kMaxTreeDepth = 1000;

}  // namespace

std::shared_ptr<Node> Parse(const std::string& text, ParseError* error) {
  *error = {};
  std::vector<Token> tokens;
  if (!Tokenize(text, &tokens, error)) return nullptr;
  Parser parser(std::move(tokens), error);
  auto node = parser.ParseAll();
  if (!node && error->message.empty()) *error = {"syntax error", 0};
  if (!node) return nullptr;
  // Long operator chains (a + a + ... + a) nest without recursion in the parser; bound
  // the tree's depth so that the compiler's recursion stays shallow.
  std::vector<std::pair<const Node*, int>> stack = {{node.get(), 1}};
  while (!stack.empty()) {
    auto [n, depth] = stack.back();
    stack.pop_back();
    if (depth > kMaxTreeDepth) {
      *error = {"expression nested too deeply (more than " +
                    std::to_string(kMaxTreeDepth) + " levels)",
                n->offset};
      return nullptr;
    }
    for (const auto& arg : n->args) stack.push_back({arg.get(), depth + 1});
  }
  return node;
}

}  // namespace jetflow::expression
