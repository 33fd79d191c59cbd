#include "jetflow/transforms/expression/function_table.h"

#include <arrow/api.h>
#include <arrow/json/from_string.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "jetflow/testing/status_assertions.h"
#include "jetflow/transforms/expression/expression.h"

namespace jetflow::expression {
namespace {

const FunctionTable& Table() {
  auto table = BuiltinFunctions();
  EXPECT_TRUE(table.ok()) << table.status().ToString();
  return **table;
}

// The first line of a compile error, or what the expression compiled to.
std::string CompileError(const std::string& text) {
  auto schema = arrow::schema(
      {arrow::field("s", arrow::utf8()), arrow::field("i32", arrow::int32()),
       arrow::field("lts", arrow::timestamp(arrow::TimeUnit::MICRO))});
  auto compiled = CompiledExpression::Compile({text, "f.yaml", 2, 3, 3}, *schema);
  if (compiled.ok()) return "compiled OK to " + (*compiled)->type()->ToString();
  const std::string& m = compiled.status().message();
  return m.substr(0, m.find('\n'));
}

// --- docs/expressions.md and the table name the same functions ---

struct DocumentedFunctions {
  std::set<std::string> callable;  // the tables of the "Functions" section
  std::set<std::string> refused;   // its "Not available" heading
};

// Function names in the code spans of `text`: `lower(s)`, `ltrim`. Upper-case spans are
// syntax (`EXTRACT(field FROM x)`), not functions.
void AddCodeSpanNames(const std::string& text, std::set<std::string>* names) {
  static const std::regex kName("^([a-z_][a-z0-9_]*)(\\(.*)?$");
  std::vector<std::string> parts;
  std::stringstream in(text);
  std::string part;
  while (std::getline(in, part, '`')) parts.push_back(part);
  for (size_t i = 1; i < parts.size(); i += 2) {  // odd parts are inside backticks
    std::smatch match;
    if (std::regex_match(parts[i], match, kName)) names->insert(match[1]);
  }
}

// Reads the "## Functions" section: the first cell of every table row names functions;
// the "### Not available: ..." heading names the refused ones.
DocumentedFunctions ParseFunctionDocs(const std::string& markdown) {
  DocumentedFunctions out;
  std::stringstream in(markdown);
  std::string line;
  bool in_section = false;
  while (std::getline(in, line)) {
    if (line.rfind("## ", 0) == 0) {
      in_section = line == "## Functions";
      continue;
    }
    if (!in_section) continue;
    if (line.rfind("### Not available:", 0) == 0) {
      AddCodeSpanNames(line, &out.refused);
    } else if (line.rfind("|", 0) == 0) {
      size_t end = line.find('|', 1);
      AddCodeSpanNames(line.substr(1, end == std::string::npos ? end : end - 1),
                       &out.callable);
    }
  }
  return out;
}

std::string Missing(const std::set<std::string>& want,
                    const std::set<std::string>& have) {
  std::string out;
  for (const auto& name : want) {
    if (!have.count(name)) out += (out.empty() ? "" : ", ") + name;
  }
  return out.empty() ? "(none)" : out;
}

TEST(FunctionTableTest, DocsListExactlyTheFunctionsOfTheTable) {
  const char* root = std::getenv("JETFLOW_SOURCE_DIR");
  ASSERT_NE(root, nullptr) << "JETFLOW_SOURCE_DIR is not set";
  std::filesystem::path path = std::filesystem::path(root) / "docs/expressions.md";
  std::ifstream file(path);
  ASSERT_TRUE(file) << "cannot read " << path;
  std::string markdown((std::istreambuf_iterator<char>(file)),
                       std::istreambuf_iterator<char>());
  DocumentedFunctions documented = ParseFunctionDocs(markdown);

  std::set<std::string> callable;
  std::set<std::string> refused;
  for (const auto& entry : Table().entries()) {
    (entry.refused ? refused : callable).insert(entry.name);
  }
  ASSERT_GT(callable.size(), 40u);
  ASSERT_FALSE(refused.empty());
  EXPECT_EQ(documented.callable, callable)
      << "in the table, not in docs/expressions.md: "
      << Missing(callable, documented.callable)
      << "\nin docs/expressions.md, not in the table: "
      << Missing(documented.callable, callable);
  EXPECT_EQ(documented.refused, refused)
      << "refused, not under \"Not available\": " << Missing(refused, documented.refused)
      << "\nunder \"Not available\", not refused: "
      << Missing(documented.refused, refused);
}

TEST(FunctionTableTest, DocsParserReadsTheFunctionTables) {
  // The parser itself, so that the test above cannot pass by reading nothing.
  DocumentedFunctions d = ParseFunctionDocs(
      "## Grammar\n| `ignored(x)` | a |\n## Functions\n### Strings\n"
      "| function | result |\n|---|---|\n"
      "| `trim(s [, chars])`, `ltrim`, `rtrim` | `upper('a')` |\n"
      "| `date_part(f, x)` / `EXTRACT(f FROM x)` | int64 |\n"
      "### Not available: `now()`, `uuid()`\n## Performance\n| `later(x)` | b |\n");
  EXPECT_EQ(d.callable, (std::set<std::string>{"trim", "ltrim", "rtrim", "date_part"}));
  EXPECT_EQ(d.refused, (std::set<std::string>{"now", "uuid"}));
}

// --- names come from the table ---

TEST(FunctionTableTest, UnknownFunctionHintsComeFromTheTable) {
  EXPECT_EQ(CompileError("jsonvalid(s)"),
            "f.yaml:2:3: unknown function 'jsonvalid' (did you mean 'json_valid'?)");
  EXPECT_EQ(CompileError("dayofweek(lts)"),
            "f.yaml:2:3: unknown function 'dayofweek' (did you mean 'day_of_week'?)");
  // "now" is two edits away, but refused functions are never offered.
  EXPECT_EQ(CompileError("nul(s)"), "f.yaml:2:3: unknown function 'nul'");
  for (const auto& name : Table().CallableNames()) {
    EXPECT_FALSE(Table().Find(name)->refused) << name;
  }
}

TEST(FunctionTableTest, ArityMessages) {
  EXPECT_EQ(CompileError("least()"),
            "f.yaml:2:3: least() expects 1 to any number of arguments, got 0");
  EXPECT_EQ(CompileError("if(i32 = 1, 1)"),
            "f.yaml:2:3: if() expects 3 arguments, got 2");
  EXPECT_EQ(CompileError("from_timezone(lts)"),
            "f.yaml:2:3: from_timezone() expects 2 to 4 arguments, got 1");
  // Refused functions refuse whatever their arguments.
  std::string refusal = "f.yaml:2:3: random() is not available:";
  EXPECT_EQ(CompileError("random(1, 2)").substr(0, refusal.size()), refusal);
}

TEST(FunctionTableTest, ArgumentRulesRunInArgumentOrder) {
  // A value check of an argument comes before the rule of the next argument...
  EXPECT_EQ(CompileError("substring(s, 0, i32)"),
            "f.yaml:2:16: positions are 1-based (1 is the first character; negative "
            "positions count from the end)");
  // ... while a check that needs several arguments comes after all of them.
  EXPECT_EQ(CompileError("replace(s, '', i32)"),
            "f.yaml:2:18: the replacement must be a constant string");
  EXPECT_EQ(CompileError("replace(s, '', 'x')"),
            "f.yaml:2:14: the text to replace must not be empty");
  EXPECT_EQ(CompileError("from_timezone(lts, 'UTC', 'soon', s)"),
            "f.yaml:2:29: expected 'earliest', 'latest' or 'error'");
}

// --- the table itself ---

FunctionEntry Entry(std::string name, ResultRule result) {
  return {.name = std::move(name),
          .min_args = 1,
          .max_args = 1,
          .arguments = {AnyValue()},
          .result = std::move(result),
          .lower = [](CompileContext&, const CallSite&,
                      const Arguments& a) -> arrow::Result<Typed> { return a[0].value; }};
}

TEST(FunctionTableTest, AddRejectsDuplicatesAndIncompleteEntries) {
  FunctionTable table;
  JETFLOW_ASSERT_OK(table.Add(Entry("same", Returns(arrow::int64()))));
  EXPECT_TRUE(table.Add(Entry("same", Returns(arrow::int64()))).IsInvalid());
  FunctionEntry no_result = Entry("no_result", {});
  EXPECT_TRUE(table.Add(no_result).IsInvalid());
  FunctionEntry missing_rule = Entry("missing_rule", Returns(arrow::int64()));
  missing_rule.max_args = 2;
  EXPECT_TRUE(table.Add(missing_rule).IsInvalid());
  EXPECT_EQ(table.CallableNames(), std::vector<std::string>{"same"});
  EXPECT_EQ(table.Find("no_result"), nullptr);
}

TEST(FunctionTableTest, ALoweringThatBreaksItsResultRuleIsAnInternalError) {
  FunctionTable table;
  JETFLOW_ASSERT_OK(table.Add(Entry("bogus", Returns(arrow::utf8()))));
  ExpressionSource source{"bogus(1)", "f.yaml", 2, 3, 3};
  auto schema = arrow::schema({});
  ExpressionEnvironment environment;
  CompileContext context(source, *schema, environment);
  auto one = context.Constant(arrow::MakeScalar(int64_t{1}), 6);
  ASSERT_TRUE(one.ok()) << one.status().ToString();
  auto result = CallFunction(context, *table.Find("bogus"), CallSite{"bogus", 0}, {*one});
  ASSERT_TRUE(result.status().IsUnknownError()) << result.status().ToString();
  const std::string& m = result.status().message();
  EXPECT_EQ(m.substr(0, m.find('\n')),
            "f.yaml:2:3: internal error: bogus() gave int64, but the function table "
            "promises string");
}

// Every function called with many argument types: a call either compiles or fails with
// Invalid, never with the internal error of a broken result rule, and the evaluated
// array has the compiled type. Every function compiles for some arguments, so that its
// result rule is exercised.
TEST(FunctionTableTest, ResultRulesHoldForManyArgumentTypes) {
  using arrow::TimeUnit;
  arrow::FieldVector fields = {
      arrow::field("i8", arrow::int8()),
      arrow::field("i32", arrow::int32()),
      arrow::field("u64", arrow::uint64()),
      arrow::field("f32", arrow::float32()),
      arrow::field("f64", arrow::float64()),
      arrow::field("dec", arrow::decimal128(10, 2)),
      arrow::field("s", arrow::utf8()),
      arrow::field("ls", arrow::large_utf8()),
      arrow::field("sv", arrow::utf8_view()),
      arrow::field("bin", arrow::binary()),
      arrow::field("b", arrow::boolean()),
      arrow::field("dt", arrow::date32()),
      arrow::field("ts", arrow::timestamp(TimeUnit::MICRO, "UTC")),
      arrow::field("lts", arrow::timestamp(TimeUnit::MILLI)),
      arrow::field("nts", arrow::timestamp(TimeUnit::NANO, "Europe/Berlin")),
      arrow::field("l", arrow::list(arrow::int32())),
  };
  auto schema = arrow::schema(fields);
  auto rows = arrow::json::ArrayFromJSONString(arrow::struct_(fields), R"([
      {"i8": -3, "i32": 7, "u64": 18446744073709551615, "f32": 2.5, "f64": -1.25,
       "dec": "12.34", "s": "Abc,def", "ls": "{\"a\": 1}", "sv": "x y", "bin": "YWJj",
       "b": true, "dt": 20455, "ts": "2026-10-25 00:30:00", "lts": "2026-10-25 02:30:00",
       "nts": "2026-10-25 01:30:00", "l": [1]},
      {}])");
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  auto batch_or = arrow::RecordBatch::FromStructArray(*rows);
  ASSERT_TRUE(batch_or.ok()) << batch_or.status().ToString();
  auto batch =
      arrow::RecordBatch::Make(schema, (*batch_or)->num_rows(), (*batch_or)->columns());

  std::vector<std::string> first;  // every column, and a few constants
  for (const auto& f : fields) first.push_back(f->name());
  for (const char* v : {"NULL", "1", "'x'", "'day'"}) first.push_back(v);
  const std::vector<std::string> second = {"NULL", "1",     "-1",       "2.5",   "'x'",
                                           "','",  "'day'", "'UTC'",    "'$.a'", "s",
                                           "ls",   "i32",   "'latest'", "lts"};
  const std::vector<std::string> rest = {"1", "'x'", "'latest'", "s"};

  ExpressionEnvironment environment;
  environment.getenv = [](const std::string&) -> std::optional<std::string> {
    return "pepper";
  };
  std::map<std::string, int> compiled_ok;
  for (const auto& entry : Table().entries()) {
    if (entry.refused) continue;
    size_t max = std::min<size_t>(entry.max_args, entry.min_args + 2);
    std::vector<std::string> calls;
    for (size_t arity = std::max<size_t>(entry.min_args, 1); arity <= max; ++arity) {
      std::vector<std::vector<std::string>> args = {{}};
      for (size_t position = 0; position < arity; ++position) {
        const auto& palette = position == 0 ? first : position == 1 ? second : rest;
        std::vector<std::vector<std::string>> next;
        for (const auto& prefix : args) {
          for (const auto& value : palette) {
            next.push_back(prefix);
            next.back().push_back(value);
          }
        }
        args = std::move(next);
      }
      for (const auto& list : args) {
        std::string call = entry.name + "(";
        for (size_t i = 0; i < list.size(); ++i) call += (i ? ", " : "") + list[i];
        calls.push_back(call + ")");
      }
    }
    for (const auto& call : calls) {
      auto compiled =
          CompiledExpression::Compile({call, "f.yaml", 1, 1, 1}, *schema, environment);
      if (!compiled.ok()) {
        EXPECT_TRUE(compiled.status().IsInvalid()) << call << ": " << compiled.status();
        continue;
      }
      ++compiled_ok[entry.name];
      auto result = (*compiled)->Evaluate(*batch);
      if (!result.ok()) continue;  // e.g. overflow on these rows
      EXPECT_TRUE((*result)->type()->Equals(*(*compiled)->type()))
          << call << ": evaluated to " << (*result)->type()->ToString()
          << ", compiled to " << (*compiled)->type()->ToString();
    }
  }
  for (const auto& name : Table().CallableNames()) {
    EXPECT_GT(compiled_ok[name], 0) << name << "() never compiled";
  }
}

}  // namespace
}  // namespace jetflow::expression
