#include "jetflow/transforms/expression/expression.h"

#include <arrow/api.h>
#include <arrow/json/from_string.h>
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

#include "jetflow/testing/batch_from_json.h"
#include "jetflow/testing/status_assertions.h"

namespace jetflow::expression {
namespace {

std::shared_ptr<arrow::Schema> Input() {
  return arrow::schema({
      arrow::field("i32", arrow::int32()),
      arrow::field("i64", arrow::int64()),
      arrow::field("d", arrow::float64()),
      arrow::field("s", arrow::utf8()),
      arrow::field("s2", arrow::utf8()),
      arrow::field("b", arrow::boolean()),
      arrow::field("dec", arrow::decimal128(10, 2)),
      arrow::field("dt", arrow::date32()),
      arrow::field("ts", arrow::timestamp(arrow::TimeUnit::MICRO, "UTC")),
      arrow::field("lts", arrow::timestamp(arrow::TimeUnit::MICRO)),
      arrow::field("bts", arrow::timestamp(arrow::TimeUnit::MICRO, "Europe/Berlin")),
      arrow::field("j", arrow::utf8()),
      arrow::field("My Col", arrow::int64()),
      arrow::field("bin", arrow::binary()),
  });
}

ExpressionSource Source(const std::string& text) {
  // As if the expression sat at line 7, column 15 of a pipeline file, continuation
  // lines indented to column 9.
  return ExpressionSource{text, "pipe.yaml", 7, 15, 9};
}

arrow::Result<std::shared_ptr<arrow::Array>> Eval(
    const std::string& text, const std::string& rows,
    const ExpressionEnvironment& environment = {}) {
  ARROW_ASSIGN_OR_RAISE(auto compiled,
                        CompiledExpression::Compile(Source(text), *Input(), environment));
  ARROW_ASSIGN_OR_RAISE(auto batch, testing::BatchFromJson(Input(), rows));
  ARROW_ASSIGN_OR_RAISE(auto result, compiled->Evaluate(*batch));
  if (!result->type()->Equals(*compiled->type())) {
    return arrow::Status::Invalid("result type ", result->type()->ToString(),
                                  " differs from the compiled type ",
                                  compiled->type()->ToString());
  }
  return result;
}

void ExpectEval(const std::string& text, const std::string& rows,
                const std::shared_ptr<arrow::DataType>& type, const std::string& expected,
                const ExpressionEnvironment& environment = {}) {
  SCOPED_TRACE(text);
  auto result = Eval(text, rows, environment);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  auto want = arrow::json::ArrayFromJSONString(type, expected);
  ASSERT_TRUE(want.ok()) << want.status().ToString();
  EXPECT_TRUE((*result)->Equals(**want))
      << "expected " << (*want)->ToString() << "\nactual " << (*result)->ToString()
      << "\nactual type " << (*result)->type()->ToString();
}

// The first line of a compile error ("file:line:col: message").
std::string CompileError(const std::string& text, const ExpressionEnvironment& env = {}) {
  auto compiled = CompiledExpression::Compile(Source(text), *Input(), env);
  if (compiled.ok()) return "compiled OK to " + (*compiled)->type()->ToString();
  EXPECT_TRUE(compiled.status().IsInvalid()) << compiled.status().ToString();
  const std::string& m = compiled.status().message();
  return m.substr(0, m.find('\n'));
}

std::string RuntimeError(const std::string& text, const std::string& rows) {
  auto result = Eval(text, rows);
  if (result.ok()) return "evaluated OK to " + (*result)->ToString();
  const std::string& m = result.status().message();
  return m.substr(0, m.find('\n'));
}

const char* const kNums = R"([{"i32": 1, "i64": 10, "d": 1.5},
                              {"i32": -2, "i64": null, "d": 2.0},
                              {"i32": null, "i64": 30, "d": null}])";

TEST(ExpressionTest, ColumnsAndLiterals) {
  ExpectEval("i32", kNums, arrow::int32(), "[1, -2, null]");
  ExpectEval("42", kNums, arrow::int64(), "[42, 42, 42]");
  ExpectEval("1.25", kNums, arrow::float64(), "[1.25, 1.25, 1.25]");
  ExpectEval("'it''s'", kNums, arrow::utf8(), R"(["it's", "it's", "it's"])");
  ExpectEval("TRUE", kNums, arrow::boolean(), "[true, true, true]");
  ExpectEval("NULL", kNums, arrow::null(), "[null, null, null]");
  ExpectEval("DATE '2026-01-02'", "[{}]", arrow::date32(), "[20455]");
  ExpectEval("TIMESTAMP '2026-01-01 00:00:01'", "[{}]",
             arrow::timestamp(arrow::TimeUnit::MICRO), "[1767225601000000]");
  ExpectEval("TIMESTAMP '2026-01-01 02:00:01+02:00'", "[{}]",
             arrow::timestamp(arrow::TimeUnit::MICRO, "UTC"), "[1767225601000000]");
  ExpectEval("\"My Col\" + 1", R"([{"My Col": 5}])", arrow::int64(), "[6]");
  ExpectEval("-9223372036854775808", "[{}]", arrow::int64(), "[-9223372036854775808]");
  ExpectEval("1e3", "[{}]", arrow::float64(), "[1000.0]");
}

TEST(ExpressionTest, Arithmetic) {
  ExpectEval("i32 + i64", kNums, arrow::int64(), "[11, null, null]");
  ExpectEval("i32 * 2 - 1", kNums, arrow::int32(), "[1, -5, null]");
  ExpectEval("i32 + d", kNums, arrow::float64(), "[2.5, 0.0, null]");
  ExpectEval("i64 / 4", kNums, arrow::int64(), "[2, null, 7]");
  ExpectEval("d / 2", kNums, arrow::float64(), "[0.75, 1.0, null]");
  ExpectEval("i64 % 4", kNums, arrow::int64(), "[2, null, 2]");
  ExpectEval("-7 % 3", "[{}]", arrow::int64(), "[-1]");
  ExpectEval("i32 % 2", kNums, arrow::int64(), "[1, 0, null]");
  ExpectEval("d % 1", kNums, arrow::float64(), "[0.5, 0.0, null]");
  ExpectEval("-i32", kNums, arrow::int32(), "[-1, 2, null]");
  ExpectEval("1 + 2 * 3", "[{}]", arrow::int64(), "[7]");
  ExpectEval("(1 + 2) * 3", "[{}]", arrow::int64(), "[9]");
  ExpectEval("i32 + NULL", kNums, arrow::int32(), "[null, null, null]");
  // An integer literal takes a column's narrower integer type when its value fits.
  ExpectEval("i32 + 3000000000", kNums, arrow::int64(), "[3000000001, 2999999998, null]");
  EXPECT_EQ(RuntimeError("i32 * 2147483647", kNums),
            "pipe.yaml:7:19: error evaluating the expression at row 1: overflow");
  ExpectEval("dec + 1", R"([{"dec": "1.25"}])", arrow::decimal128(11, 2), R"(["2.25"])");
  ExpectEval("dec * dec", R"([{"dec": "1.50"}])", arrow::decimal128(21, 4),
             R"(["2.2500"])");
}

TEST(ExpressionTest, ArithmeticErrors) {
  EXPECT_EQ(RuntimeError("i64 * 2", R"([{"i64": 1}, {"i64": 2},
                                      {"i64": 9223372036854775807}])"),
            "pipe.yaml:7:19: error evaluating the expression at row 2: overflow");
  EXPECT_EQ(RuntimeError("i64 / i32", R"([{"i64": 1, "i32": 1}, {"i64": 2, "i32": 0}])"),
            "pipe.yaml:7:19: error evaluating the expression at row 1: divide by zero");
  EXPECT_EQ(RuntimeError("d / i32", R"([{"d": 1, "i32": 0}])"),
            "pipe.yaml:7:17: error evaluating the expression at row 0: divide by zero");
  EXPECT_EQ(RuntimeError("i64 % i32", R"([{"i64": 1, "i32": 1}, {"i64": 2, "i32": 0}])"),
            "pipe.yaml:7:19: error evaluating the expression at row 1: division by zero "
            "in %");
  EXPECT_EQ(CompileError("1 / 0"),
            "pipe.yaml:7:17: cannot evaluate constant: divide by zero");
  EXPECT_EQ(CompileError("9223372036854775808"),
            "pipe.yaml:7:15: integer literal 9223372036854775808 is out of the int64 "
            "range (write it as 9223372036854775808.0 for a double)");
  // A NULL divisor is not a division by zero.
  ExpectEval("i64 / i32", R"([{"i64": 1, "i32": null}])", arrow::int64(), "[null]");
}

TEST(ExpressionTest, Comparisons) {
  ExpectEval("i32 = 1", kNums, arrow::boolean(), "[true, false, null]");
  ExpectEval("i32 != 1", kNums, arrow::boolean(), "[false, true, null]");
  ExpectEval("i32 <> 1", kNums, arrow::boolean(), "[false, true, null]");
  ExpectEval("i32 < i64", kNums, arrow::boolean(), "[true, null, null]");
  ExpectEval("i32 <= 1", kNums, arrow::boolean(), "[true, true, null]");
  ExpectEval("d > 1.5", kNums, arrow::boolean(), "[false, true, null]");
  ExpectEval("d >= 1.5", kNums, arrow::boolean(), "[true, true, null]");
  ExpectEval("s < 'b'", R"([{"s": "a"}, {"s": "c"}])", arrow::boolean(), "[true, false]");
  ExpectEval("dec > 1", R"([{"dec": "1.01"}, {"dec": "0.99"}])", arrow::boolean(),
             "[true, false]");
  ExpectEval("ts >= TIMESTAMP '2026-01-01 00:00:00Z'",
             R"([{"ts": "2026-01-01 00:00:00"}, {"ts": "2025-12-31 23:59:59"}])",
             arrow::boolean(), "[true, false]");
  ExpectEval("lts < TIMESTAMP '2026-01-01 00:00:00'",
             R"([{"lts": "2025-12-31 23:59:59"}])", arrow::boolean(), "[true]");
  ExpectEval("dt = DATE '2026-01-02'", R"([{"dt": "2026-01-02"}, {"dt": "2026-01-03"}])",
             arrow::boolean(), "[true, false]");
  ExpectEval("lts >= dt", R"([{"lts": "2026-01-02 00:00:00", "dt": "2026-01-02"}])",
             arrow::boolean(), "[true]");
}

TEST(ExpressionTest, CompileErrorsPointAtTheToken) {
  EXPECT_EQ(CompileError("s = 1"),
            "pipe.yaml:7:17: cannot compare string with int64 (use CAST to convert one "
            "side)");
  EXPECT_EQ(CompileError("i32 + amout"), "pipe.yaml:7:21: no column 'amout'");
  EXPECT_EQ(CompileError("i32 + i644"),
            "pipe.yaml:7:21: no column 'i644' (did you mean 'i64'?)");
  EXPECT_EQ(CompileError("I32 > 0"),
            "pipe.yaml:7:15: no column 'I32' (did you mean 'i32'? column names are "
            "case-sensitive)");
  EXPECT_EQ(CompileError("s + s2"),
            "pipe.yaml:7:17: operator + expects numbers, got string and string (use || "
            "to concatenate strings)");
  EXPECT_EQ(CompileError("i32 AND b"),
            "pipe.yaml:7:15: the left operand of AND must be boolean, got int32");
  EXPECT_EQ(CompileError("lowr(s)"),
            "pipe.yaml:7:15: unknown function 'lowr' (did you mean 'lower'?)");
  EXPECT_EQ(CompileError("lower(i32)"),
            "pipe.yaml:7:21: lower() expects a string, got int32");
  EXPECT_EQ(CompileError("lower(s, s2)"),
            "pipe.yaml:7:15: lower() expects 1 argument, got 2");
  EXPECT_EQ(CompileError("ts = TIMESTAMP '2026-01-01 00:00:00'"),
            "pipe.yaml:7:18: cannot compare timestamp[us, tz=UTC] with timestamp[us] (a "
            "time zone differs or is missing: write TIMESTAMP literals with 'Z' or an "
            "offset, or use to_timezone/from_timezone)");
  EXPECT_EQ(CompileError("CASE WHEN b THEN 1 ELSE 'x' END"),
            "pipe.yaml:7:39: CASE result: string is not compatible with int64");
  const std::string unknown =
      "pipe.yaml:7:25: unknown type 'strng' (did you mean 'string'?);";
  EXPECT_EQ(CompileError("CAST(s AS strng)").substr(0, unknown.size()), unknown);
  EXPECT_EQ(
      CompileError("CAST(s AS timestamp)"),
      "pipe.yaml:7:25: CAST to bare 'timestamp' is ambiguous: write timestamp(6) for "
      "timestamp[us] without a time zone, or timestamptz for timestamp[us, UTC]");
  EXPECT_EQ(CompileError("now()"),
            "pipe.yaml:7:15: now() is not available: expressions must be deterministic "
            "so that re-running a run instance gives the same output (use the run "
            "metadata columns instead)");
  EXPECT_EQ(CompileError("DATE '2026-13-01'"),
            "pipe.yaml:7:15: invalid DATE literal '2026-13-01' (expected 'YYYY-MM-DD')");
  EXPECT_EQ(CompileError("substring(s, i32)"),
            "pipe.yaml:7:28: the start position must be a constant integer");
}

TEST(ExpressionTest, SyntaxErrors) {
  EXPECT_EQ(CompileError("i32 +"),
            "pipe.yaml:7:20: expected a value, found end of expression");
  EXPECT_EQ(CompileError("(i32 + 1"),
            "pipe.yaml:7:23: expected ')' to close '(', found end of expression");
  EXPECT_EQ(CompileError("i32 1"),
            "pipe.yaml:7:19: unexpected '1' after the end of the expression");
  EXPECT_EQ(CompileError("s = 'abc"),
            "pipe.yaml:7:19: unterminated string literal (missing closing ')");
  EXPECT_EQ(CompileError("i32 # 1"), "pipe.yaml:7:19: unexpected character '#'");
  EXPECT_EQ(CompileError("1 < i32 < 3"),
            "pipe.yaml:7:23: comparisons cannot be chained; use AND (a < b AND b < c)");
  EXPECT_EQ(CompileError("CASE WHEN b THEN 1"),
            "pipe.yaml:7:33: expected END to close CASE, found end of expression");
  EXPECT_EQ(CompileError("12abc"), "pipe.yaml:7:15: malformed number '12a'");
  std::string deep(300, '(');
  EXPECT_NE(CompileError(deep + "1" + std::string(300, ')')).find("nested too deeply"),
            std::string::npos);
  std::string chain = "1";
  for (int i = 0; i < 2000; ++i) chain += " + 1";
  EXPECT_NE(CompileError(chain).find("nested too deeply"), std::string::npos);
}

TEST(ExpressionTest, IdentifiersKeywordsAndComments) {
  ExpectEval("\"My Col\" * 2 -- doubled\n + 1", R"([{"My Col": 5}])", arrow::int64(),
             "[11]");
  ExpectEval("case when i32 is not null then 'x' else 'y' end", kNums, arrow::utf8(),
             R"(["x", "x", "y"])");
  ExpectEval("LOWER('AbC')", "[{}]", arrow::utf8(), R"(["abc"])");
  EXPECT_EQ(CompileError("end + 1"),
            "pipe.yaml:7:15: expected a value, found keyword END (quote a column with "
            "this name: \"end\")");
  EXPECT_EQ(CompileError("\"end\" + 1"),
            "pipe.yaml:7:15: no column 'end' (did you mean 'd'?)");
  EXPECT_EQ(CompileError("\"\""), "pipe.yaml:7:15: empty quoted identifier");
}

TEST(ExpressionTest, EnvDefaultsToTheProcessEnvironment) {
  ASSERT_EQ(setenv("JETFLOW_EXPRESSION_TEST_SALT", "pepper", 1), 0);
  ExpectEval("xxhash64(s, env('JETFLOW_EXPRESSION_TEST_SALT'))", R"([{"s": "abc"}])",
             arrow::int64(), "[-8311340598213291638]");
  unsetenv("JETFLOW_EXPRESSION_TEST_SALT");
  EXPECT_EQ(
      CompileError("env('JETFLOW_EXPRESSION_TEST_SALT')"),
      "pipe.yaml:7:19: environment variable JETFLOW_EXPRESSION_TEST_SALT is not set");
}

TEST(ExpressionTest, MultiLineLocationsAndCaret) {
  // Line 2 of the expression is at line 8 of the file, starting at the indent column 9.
  auto compiled =
      CompiledExpression::Compile(Source("i32 > 0\n  AND lower(i32) = 'x'"), *Input());
  ASSERT_FALSE(compiled.ok());
  EXPECT_EQ(compiled.status().message(),
            "pipe.yaml:8:21: lower() expects a string, got int32\n"
            "      AND lower(i32) = 'x'\n"
            "                ^");
}

TEST(ExpressionTest, BooleanLogicIsKleene) {
  const char* rows = R"([{"b": true, "i32": 1}, {"b": false, "i32": 1},
                         {"b": null, "i32": 1}, {"b": null, "i32": 0}])";
  ExpectEval("b AND i32 = 1", rows, arrow::boolean(), "[true, false, null, false]");
  ExpectEval("b OR i32 = 0", rows, arrow::boolean(), "[true, false, null, true]");
  ExpectEval("NOT b", rows, arrow::boolean(), "[false, true, null, null]");
  ExpectEval("b IS NULL", rows, arrow::boolean(), "[false, false, true, true]");
  ExpectEval("b IS NOT NULL", rows, arrow::boolean(), "[true, true, false, false]");
  ExpectEval("NULL AND FALSE", "[{}]", arrow::boolean(), "[false]");
  ExpectEval("NOT b = TRUE OR i32 = 0", rows, arrow::boolean(),
             "[false, true, null, true]");
}

TEST(ExpressionTest, InBetweenLike) {
  ExpectEval("i32 IN (1, 3)", kNums, arrow::boolean(), "[true, false, null]");
  ExpectEval("i32 NOT IN (1, 3)", kNums, arrow::boolean(), "[false, true, null]");
  ExpectEval("i32 IN (1, NULL)", kNums, arrow::boolean(), "[true, null, null]");
  ExpectEval("i32 IN (5000000000, 1)", kNums, arrow::boolean(), "[true, false, null]");
  ExpectEval("i32 IN (i64, -2)", kNums, arrow::boolean(), "[false, true, null]");
  ExpectEval("s IN ('a', 'b')", R"([{"s": "a"}, {"s": "c"}])", arrow::boolean(),
             "[true, false]");
  ExpectEval("i32 BETWEEN -2 AND 0", kNums, arrow::boolean(), "[false, true, null]");
  ExpectEval("i32 NOT BETWEEN -2 AND 0", kNums, arrow::boolean(), "[true, false, null]");
  ExpectEval("s LIKE 'a%c_'", R"([{"s": "abcd"}, {"s": "abdc"}, {"s": null}])",
             arrow::boolean(), "[true, false, null]");
  ExpectEval("s LIKE '100\\%'", R"([{"s": "100%"}, {"s": "1000"}])", arrow::boolean(),
             "[true, false]");
  ExpectEval("s NOT LIKE 'a%'", R"([{"s": "abcd"}, {"s": "b"}])", arrow::boolean(),
             "[false, true]");
}

TEST(ExpressionTest, CaseIfCoalesce) {
  const char* rows = R"([{"i32": 1}, {"i32": 2}, {"i32": null}])";
  ExpectEval("CASE WHEN i32 = 1 THEN 'one' WHEN i32 = 2 THEN 'two' ELSE 'other' END",
             rows, arrow::utf8(), R"(["one", "two", "other"])");
  ExpectEval("CASE i32 WHEN 1 THEN 10 END", rows, arrow::int64(), "[10, null, null]");
  ExpectEval("CASE WHEN i32 = 1 THEN 1.5 ELSE i32 END", rows, arrow::float64(),
             "[1.5, 2.0, null]");
  ExpectEval("if(i32 = 1, 'a', NULL)", rows, arrow::utf8(), R"(["a", null, null])");
  ExpectEval("if(i32 = 1, 'a', 'b')", rows, arrow::utf8(), R"(["a", "b", "b"])");
  ExpectEval("coalesce(i32, 0)", rows, arrow::int64(), "[1, 2, 0]");
  ExpectEval("coalesce(NULL, s, 'x')", R"([{"s": "a"}, {"s": null}])", arrow::utf8(),
             R"(["a", "x"])");
  ExpectEval("nullif(i32, 2)", rows, arrow::int32(), "[1, null, null]");
  ExpectEval("least(i32, 2, i64)", R"([{"i32": 3, "i64": 1}, {"i32": null, "i64": 5}])",
             arrow::int64(), "[1, 2]");
  ExpectEval("greatest(d, i32)", R"([{"d": 1.5, "i32": 3}])", arrow::float64(), "[3.0]");
}

TEST(ExpressionTest, Casts) {
  ExpectEval("CAST(s AS int)", R"([{"s": "12"}, {"s": null}])", arrow::int32(),
             "[12, null]");
  ExpectEval("CAST(i32 AS string)", kNums, arrow::utf8(), R"(["1", "-2", null])");
  ExpectEval("CAST(s AS decimal(5, 2))", R"([{"s": "1.5"}])", arrow::decimal128(5, 2),
             R"(["1.50"])");
  ExpectEval("CAST(s AS date)", R"([{"s": "2026-01-02"}])", arrow::date32(), "[20455]");
  ExpectEval("CAST(s AS timestamp(3))", R"([{"s": "2026-01-01 00:00:01"}])",
             arrow::timestamp(arrow::TimeUnit::MILLI), "[1767225601000]");
  ExpectEval("TRY_CAST(s AS bigint)",
             R"([{"s": "1"}, {"s": "x"}, {"s": null}, {"s": "99999999999999999999"},
                 {"s": "4"}])",
             arrow::int64(), "[1, null, null, null, 4]");
  EXPECT_EQ(RuntimeError("CAST(s AS int)", R"([{"s": "1"}, {"s": "one"}])"),
            "pipe.yaml:7:15: error evaluating the expression at row 1: Failed to parse "
            "string: 'one' as a scalar of type int32");
  EXPECT_EQ(CompileError("CAST(b AS date)"),
            "pipe.yaml:7:15: cannot CAST bool to date32[day]");
  EXPECT_EQ(RuntimeError("CAST(i64 AS int8)", R"([{"i64": 1000}])").substr(0, 56),
            "pipe.yaml:7:15: error evaluating the expression at row 0");
}

TEST(ExpressionTest, StringFunctions) {
  const char* rows =
      R"([{"s": "  Hello World  ", "s2": "a,b,,c"}, {"s": null, "s2": null}])";
  ExpectEval("lower(s)", rows, arrow::utf8(), R"(["  hello world  ", null])");
  ExpectEval("upper(s)", rows, arrow::utf8(), R"(["  HELLO WORLD  ", null])");
  ExpectEval("trim(s)", rows, arrow::utf8(), R"(["Hello World", null])");
  ExpectEval("ltrim(s)", rows, arrow::utf8(), R"(["Hello World  ", null])");
  ExpectEval("rtrim(s)", rows, arrow::utf8(), R"(["  Hello World", null])");
  ExpectEval("trim(s2, 'a,')", rows, arrow::utf8(), R"(["b,,c", null])");
  ExpectEval("length(trim(s))", rows, arrow::int32(), "[11, null]");
  ExpectEval("length('Müller')", "[{}]", arrow::int32(), "[6]");
  ExpectEval("substring(trim(s), 1, 5)", rows, arrow::utf8(), R"(["Hello", null])");
  ExpectEval("substring(trim(s), 7)", rows, arrow::utf8(), R"(["World", null])");
  ExpectEval("substring(trim(s), -5, 3)", rows, arrow::utf8(), R"(["Wor", null])");
  ExpectEval("substr('Müller', 2, 2)", "[{}]", arrow::utf8(), R"(["ül"])");
  ExpectEval("replace(s2, ',', ';')", rows, arrow::utf8(), R"(["a;b;;c", null])");
  ExpectEval("s2 || '!' || 1", rows, arrow::utf8(), R"(["a,b,,c!1", null])");
  ExpectEval("concat(s2, '-', i32)", R"([{"s2": "x", "i32": 5}, {"s2": "x"}])",
             arrow::utf8(), R"(["x-5", null])");
  ExpectEval("split(s2, ',')", rows, arrow::list(arrow::utf8()),
             R"([["a", "b", "", "c"], null])");
  ExpectEval("split_part(s2, ',', 2)", rows, arrow::utf8(), R"(["b", null])");
  ExpectEval("split_part(s2, ',', -1)", rows, arrow::utf8(), R"(["c", null])");
  ExpectEval("split_part(s2, ',', 9)", rows, arrow::utf8(), R"(["", null])");
  ExpectEval("starts_with(s2, 'a,')", rows, arrow::boolean(), "[true, null]");
  ExpectEval("ends_with(s2, 'b')", rows, arrow::boolean(), "[false, null]");
  ExpectEval("contains(s2, ',,')", rows, arrow::boolean(), "[true, null]");
}

TEST(ExpressionTest, RegularExpressions) {
  const char* rows = R"([{"s": "order-123-x"}, {"s": "none"}, {"s": null}])";
  ExpectEval("regexp_like(s, '[0-9]+')", rows, arrow::boolean(), "[true, false, null]");
  ExpectEval("regexp_match(s, '^order')", rows, arrow::boolean(), "[true, false, null]");
  ExpectEval("regexp_extract(s, '([a-z]+)-([0-9]+)', 2)", rows, arrow::utf8(),
             R"(["123", null, null])");
  ExpectEval("regexp_extract(s, '[0-9]+')", rows, arrow::utf8(),
             R"(["123", null, null])");
  ExpectEval("regexp_extract(s, '(?P<word>[a-z]+)-(\\d+)', 1)", rows, arrow::utf8(),
             R"(["order", null, null])");
  ExpectEval("regexp_replace(s, '[0-9]', '#')", rows, arrow::utf8(),
             R"(["order-###-x", "none", null])");
  ExpectEval("regexp_replace(s, '(\\w+)-(\\d+)', '\\2')", rows, arrow::utf8(),
             R"(["123-x", "none", null])");
  EXPECT_EQ(CompileError("regexp_like(s, '([a-z')").substr(0, 49),
            "pipe.yaml:7:30: invalid regular expression: Inval");
  EXPECT_EQ(CompileError("regexp_extract(s, '(a)', 2)"),
            "pipe.yaml:7:40: the pattern has no capture group 2");
  EXPECT_EQ(CompileError("regexp_like(s, s2)"),
            "pipe.yaml:7:30: the pattern must be a constant string");
}

TEST(ExpressionTest, InvalidUtf8NamesRowAndColumn) {
  auto schema = arrow::schema({arrow::field("s", arrow::utf8())});
  auto compiled = CompiledExpression::Compile(Source("upper(s)"), *schema);
  ASSERT_TRUE(compiled.ok()) << compiled.status().ToString();
  arrow::StringBuilder builder;
  JETFLOW_ASSERT_OK(builder.Append("ok"));
  JETFLOW_ASSERT_OK(builder.Append("fine"));
  JETFLOW_ASSERT_OK(builder.Append(std::string("bad\xff\xfe")));
  auto array = builder.Finish().ValueOrDie();
  auto batch = arrow::RecordBatch::Make(schema, 3, {array});
  auto result = (*compiled)->Evaluate(*batch);
  ASSERT_TRUE(result.status().IsInvalid());
  const std::string& m = result.status().message();
  EXPECT_EQ(m.substr(0, m.find('\n')),
            "pipe.yaml:7:21: error evaluating the expression at row 2: invalid UTF-8 in "
            "column 's'");
  // Each value must be valid on its own, even if the concatenation is ("\xc3\xbc").
  arrow::StringBuilder split;
  JETFLOW_ASSERT_OK(split.Append(std::string("a\xc3")));
  JETFLOW_ASSERT_OK(split.Append(std::string("\xbc")));
  auto split_batch = arrow::RecordBatch::Make(schema, 2, {split.Finish().ValueOrDie()});
  auto split_result = (*compiled)->Evaluate(*split_batch);
  ASSERT_TRUE(split_result.status().IsInvalid());
  EXPECT_NE(split_result.status().message().find("at row 0: invalid UTF-8"),
            std::string::npos)
      << split_result.status().message();
  // Comparisons and hashes do not interpret the bytes and need no validation.
  auto equal = CompiledExpression::Compile(Source("s = 'ok'"), *schema);
  JETFLOW_ASSERT_OK(equal);
  auto eq = (*equal)->Evaluate(*batch);
  ASSERT_TRUE(eq.ok()) << eq.status().ToString();
  auto hash = CompiledExpression::Compile(Source("xxhash64(s)"), *schema);
  JETFLOW_ASSERT_OK(hash);
  JETFLOW_EXPECT_OK((*hash)->Evaluate(*batch));
}

TEST(ExpressionTest, NumericFunctions) {
  ExpectEval("abs(i32)", kNums, arrow::int32(), "[1, 2, null]");
  ExpectEval("round(d)", R"([{"d": 2.5}, {"d": -2.5}, {"d": 1.44}])", arrow::float64(),
             "[3.0, -3.0, 1.0]");
  ExpectEval("round(d, 1)", R"([{"d": 1.25}, {"d": 1.44}])", arrow::float64(),
             "[1.3, 1.4]");
  ExpectEval("round(i32)", kNums, arrow::int32(), "[1, -2, null]");
  ExpectEval("floor(d)", R"([{"d": -1.5}])", arrow::float64(), "[-2.0]");
  ExpectEval("round(i64, -1)", R"([{"i64": 15}, {"i64": 14}])", arrow::int64(),
             "[20, 10]");
  ExpectEval("round(dec, 1)", R"([{"dec": "1.25"}])", arrow::decimal128(10, 2),
             R"(["1.30"])");
  ExpectEval("ceil(d)", R"([{"d": -1.5}])", arrow::float64(), "[-1.0]");
  EXPECT_EQ(RuntimeError("abs(i64)", R"([{"i64": -9223372036854775808}])"),
            "pipe.yaml:7:15: error evaluating the expression at row 0: overflow");
}

TEST(ExpressionTest, HashesMatchPythonReferences) {
  // Expected values from Python: xxhash.xxh64(salt + value).intdigest() read as signed,
  // hashlib.sha256(salt + value).hexdigest(); integers as struct.pack('<q', v).
  ExpectEval("xxhash64(s)", R"([{"s": "abc"}, {"s": ""}, {"s": "Müller"}, {"s": null}])",
             arrow::int64(),
             "[4952883123889572249, -1205034819632174695, -2706890168262929790, null]");
  ExpectEval("xxhash64(s, 'pepper')", R"([{"s": "abc"}])", arrow::int64(),
             "[-8311340598213291638]");
  ExpectEval("xxhash64(i64)", R"([{"i64": 42}])", arrow::int64(),
             "[-5379971487550586029]");
  ExpectEval("xxhash64(i32, 'pepper')", R"([{"i32": -1}])", arrow::int64(),
             "[-7194050663505885952]");
  ExpectEval(
      "sha256(s)", R"([{"s": "abc"}, {"s": null}])", arrow::utf8(),
      R"(["ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", null])");
  ExpectEval("sha256(s, 'pepper')", R"([{"s": "abc"}])", arrow::utf8(),
             R"(["fadf7b97406e1eaa259a82e26e6839e564c37c256876e060e17838c86b7275ef"])");
  ExpectEval("sha256(i64)", R"([{"i64": 42}])", arrow::utf8(),
             R"(["ed049108bc18f2c64369e8d0ea42850bdd1a7d1dd340cfde716315579702a76c"])");
  ExpressionEnvironment env;
  env.getenv = [](const std::string& name) -> std::optional<std::string> {
    if (name == "PII_SALT") return "pepper";
    return std::nullopt;
  };
  ExpectEval("sha256(s, env('PII_SALT'))", R"([{"s": "abc"}])", arrow::utf8(),
             R"(["fadf7b97406e1eaa259a82e26e6839e564c37c256876e060e17838c86b7275ef"])",
             env);
  EXPECT_EQ(CompileError("sha256(s, env('MISSING_SALT'))", env),
            "pipe.yaml:7:29: environment variable MISSING_SALT is not set");
  EXPECT_EQ(CompileError("xxhash64(s, s2)"),
            "pipe.yaml:7:27: the salt must be a constant string");
  EXPECT_EQ(CompileError("xxhash64(d)"),
            "pipe.yaml:7:24: xxhash64() hashes strings, binary and integers, got double "
            "(CAST it to a string first, knowing the text form)");
}

TEST(ExpressionTest, SaltNeverAppearsInMessages) {
  ExpressionEnvironment env;
  env.getenv = [](const std::string&) -> std::optional<std::string> {
    return "s3cr3t-salt";
  };
  auto compiled =
      CompiledExpression::Compile(Source("sha256(s, env('SALT')) + 1"), *Input(), env);
  ASSERT_FALSE(compiled.ok());
  EXPECT_EQ(compiled.status().message().find("s3cr3t"), std::string::npos)
      << compiled.status().message();
}

TEST(ExpressionTest, DateTimeParts) {
  const char* rows = R"([{"ts": "2026-03-29 01:30:45.123456", "dt": "2026-01-02"}])";
  ExpectEval("year(ts)", rows, arrow::int64(), "[2026]");
  ExpectEval("month(ts)", rows, arrow::int64(), "[3]");
  ExpectEval("day(ts)", rows, arrow::int64(), "[29]");
  ExpectEval("hour(ts)", rows, arrow::int64(), "[1]");
  ExpectEval("minute(ts)", rows, arrow::int64(), "[30]");
  ExpectEval("second(ts)", rows, arrow::int64(), "[45]");
  ExpectEval("EXTRACT(quarter FROM ts)", rows, arrow::int64(), "[1]");
  ExpectEval("date_part('dow', ts)", rows, arrow::int64(), "[0]");     // Sunday
  ExpectEval("date_part('isodow', ts)", rows, arrow::int64(), "[7]");  // Sunday
  ExpectEval("day_of_year(dt)", rows, arrow::int64(), "[2]");
  ExpectEval("date_part('epoch', ts)", rows, arrow::int64(), "[1774747845]");
  // Parts of a zoned timestamp are in its own zone: 01:30Z is 03:30 CEST.
  ExpectEval("hour(bts)", R"([{"bts": "2026-03-29 01:30:00"}])", arrow::int64(), "[3]");
  EXPECT_EQ(CompileError("date_part('yaer', ts)"),
            "pipe.yaml:7:25: unknown date part 'yaer' (did you mean 'year'?)");
  EXPECT_EQ(CompileError("hour(dt)"), "pipe.yaml:7:20: hour of a date is not defined");
}

TEST(ExpressionTest, DateTruncAcrossDst) {
  using arrow::TimeUnit;
  ExpectEval("date_trunc('hour', ts)", R"([{"ts": "2026-03-29 01:30:45"}])",
             arrow::timestamp(TimeUnit::MICRO, "UTC"), R"(["2026-03-29 01:00:00"])");
  ExpectEval("date_trunc('month', dt)", R"([{"dt": "2026-01-17"}])", arrow::date32(),
             "[20454]");
  // Europe/Berlin leaves summer time on 2026-10-25: 02:00-03:00 local happens twice.
  // 00:30Z = 02:30 CEST -> 02:00 CEST = 00:00Z; 01:30Z = 02:30 CET -> 02:00 CET = 01:00Z.
  ExpectEval("date_trunc('hour', bts)",
             R"([{"bts": "2026-10-25 00:30:00"}, {"bts": "2026-10-25 01:30:00"},
                 {"bts": "2026-03-29 01:30:00"}])",
             arrow::timestamp(TimeUnit::MICRO, "Europe/Berlin"),
             R"(["2026-10-25 00:00:00", "2026-10-25 01:00:00", "2026-03-29 01:00:00"])");
  // Local midnight: 2026-03-29 00:00 CET = 2026-03-28 23:00Z, although the day is 23h.
  ExpectEval("date_trunc('day', bts)",
             R"([{"bts": "2026-03-29 10:00:00"}, {"bts": "2026-10-25 01:30:00"}])",
             arrow::timestamp(TimeUnit::MICRO, "Europe/Berlin"),
             R"(["2026-03-28 23:00:00", "2026-10-24 22:00:00"])");
  ExpectEval("ts - TIMESTAMP '2026-01-01 00:00:00Z'",
             R"([{"ts": "2026-01-01 00:00:01"}])", arrow::duration(TimeUnit::MICRO),
             "[1000000]");
  EXPECT_EQ(CompileError("date_trunc('hours', ts)"),
            "pipe.yaml:7:26: unknown unit 'hours' (did you mean 'hour'?)");
}

TEST(ExpressionTest, TimeZoneConversion) {
  using arrow::TimeUnit;
  auto naive = arrow::timestamp(TimeUnit::MICRO);
  auto utc = arrow::timestamp(TimeUnit::MICRO, "UTC");
  // UTC instants to Berlin wall time around the spring-forward gap.
  ExpectEval(
      "to_timezone(ts, 'Europe/Berlin')",
      R"([{"ts": "2026-03-29 00:30:00"}, {"ts": "2026-03-29 01:30:00"}, {"ts": null}])",
      naive, R"(["2026-03-29 01:30:00", "2026-03-29 03:30:00", null])");
  ExpectEval("convert_tz(ts, 'America/New_York')", R"([{"ts": "2026-11-01 05:30:00"}])",
             naive, R"(["2026-11-01 01:30:00"])");
  // Local to UTC. Ambiguous (fall back): earliest by default, i.e. summer time.
  ExpectEval("from_timezone(lts, 'Europe/Berlin')", R"([{"lts": "2026-10-25 02:30:00"}])",
             utc, R"(["2026-10-25 00:30:00"])");
  ExpectEval("from_timezone(lts, 'Europe/Berlin', 'latest')",
             R"([{"lts": "2026-10-25 02:30:00"}])", utc, R"(["2026-10-25 01:30:00"])");
  ExpectEval("from_timezone(lts, 'America/New_York')",
             R"([{"lts": "2026-11-01 01:30:00"}])", utc, R"(["2026-11-01 05:30:00"])");
  ExpectEval("from_timezone(lts, 'America/New_York', 'latest')",
             R"([{"lts": "2026-11-01 01:30:00"}])", utc, R"(["2026-11-01 06:30:00"])");
  // Nonexistent (spring forward): an error by default, or a chosen side of the gap.
  EXPECT_EQ(
      RuntimeError("from_timezone(lts, 'Europe/Berlin')",
                   R"([{"lts": "2026-03-29 01:30:00"}, {"lts": "2026-03-29 02:30:00"}])")
          .substr(0, 75),
      "pipe.yaml:7:15: error evaluating the expression at row 1: Timestamp doesn't");
  ExpectEval("from_timezone(lts, 'Europe/Berlin', 'earliest', 'latest')",
             R"([{"lts": "2026-03-29 02:30:00"}])", utc, R"(["2026-03-29 01:00:00"])");
  ExpectEval("from_timezone(lts, 'America/New_York', 'error', 'latest')",
             R"([{"lts": "2026-03-08 02:30:00"}])", utc, R"(["2026-03-08 07:00:00"])");
  EXPECT_NE(RuntimeError("from_timezone(lts, 'Europe/Berlin', 'error')",
                         R"([{"lts": "2026-10-25 02:30:00"}])")
                .find("at row 0: "),
            std::string::npos);
  EXPECT_EQ(CompileError("to_timezone(ts, 'Europe/Berln')").substr(0, 47),
            "pipe.yaml:7:31: invalid time zone: Cannot locat");
  EXPECT_EQ(CompileError("from_timezone(ts, 'UTC')"),
            "pipe.yaml:7:29: from_timezone() expects a local timestamp without a time "
            "zone, got timestamp[us, tz=UTC]");
}

TEST(ExpressionTest, JsonExtraction) {
  const char* rows = R"([
      {"j": "{\"a\": {\"b\": \"x\", \"n\": 5, \"f\": 1.5, \"t\": true, \"arr\": [1, 2]}}"},
      {"j": "{\"a\": {}}"},
      {"j": "not json"},
      {"j": null},
      {"j": "{\"a\": {\"b\": null, \"n\": \"5\"}}"}])";
  ExpectEval("json_extract(j, '$.a.b')", rows, arrow::utf8(),
             R"(["x", null, null, null, null])");
  ExpectEval("json_extract(j, '$.a.arr')", rows, arrow::utf8(),
             R"(["[1,2]", null, null, null, null])");
  ExpectEval("json_extract(j, '$.a.arr[1]')", rows, arrow::utf8(),
             R"(["2", null, null, null, null])");
  ExpectEval("json_extract(j, '$[''a''].n')", rows, arrow::utf8(),
             R"(["5", null, null, null, "5"])");
  ExpectEval("json_extract_string(j, '$.a.n')", rows, arrow::utf8(),
             R"([null, null, null, null, "5"])");
  ExpectEval("json_extract_int(j, '$.a.n')", rows, arrow::int64(),
             "[5, null, null, null, null]");
  ExpectEval("json_extract_double(j, '$.a.f')", rows, arrow::float64(),
             "[1.5, null, null, null, null]");
  ExpectEval("json_extract_bool(j, '$.a.t')", rows, arrow::boolean(),
             "[true, null, null, null, null]");
  ExpectEval("json_valid(j)", rows, arrow::boolean(), "[true, true, false, null, true]");
  EXPECT_EQ(
      CompileError("json_extract(j, '$.a[x]')"),
      "pipe.yaml:7:31: invalid JSON path: array index in JSON path must be a number "
      ">= 0");
  EXPECT_EQ(CompileError("json_extract(j, '$.')"),
            "pipe.yaml:7:31: invalid JSON path: empty key after '.' in JSON path");
  EXPECT_EQ(CompileError("json_extract(j, 'a.b')"),
            "pipe.yaml:7:31: invalid JSON path: JSON path must start with '$'");
}

TEST(ExpressionTest, EmptyBatchesAndConstants) {
  ExpectEval("i32 + 1", "[]", arrow::int32(), "[]");
  ExpectEval("upper(s)", "[]", arrow::utf8(), "[]");
  ExpectEval("xxhash64(s)", "[]", arrow::int64(), "[]");
  ExpectEval("1 + 2", "[]", arrow::int64(), "[]");
  ExpectEval("upper('a') || 'b'", R"([{}, {}])", arrow::utf8(), R"(["Ab", "Ab"])");
}

TEST(ExpressionTest, SchemaMismatchIsAnError) {
  auto compiled = CompiledExpression::Compile(Source("i32 + 1"), *Input());
  JETFLOW_ASSERT_OK(compiled);
  auto other = arrow::schema({arrow::field("x", arrow::int32())});
  auto batch = testing::BatchFromJson(other, R"([{"x": 1}])");
  JETFLOW_ASSERT_OK(batch);
  EXPECT_TRUE((*compiled)->Evaluate(**batch).status().IsInvalid());
}

TEST(ExpressionTest, ConcurrentEvaluation) {
  auto compiled = CompiledExpression::Compile(
      Source("upper(s) || CAST(i32 * 2 AS string)"), *Input());
  ASSERT_TRUE(compiled.ok()) << compiled.status().ToString();
  auto batch = testing::BatchFromJson(Input(), R"([{"s": "a", "i32": 1}])");
  JETFLOW_ASSERT_OK(batch);
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int k = 0; k < 200; ++k) {
        auto r = (*compiled)->Evaluate(**batch);
        if (!r.ok() || static_cast<const arrow::StringArray&>(**r).GetString(0) != "A2") {
          ++failures;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
}

}  // namespace
}  // namespace jetflow::expression

namespace jetflow::expression {
namespace {

// The fuzzer's seeds must compile against the fuzzer's schema, or the fuzzer would
// explore only the parser's error paths.
TEST(ExpressionTest, FuzzSeedsCompile) {
  const char* root = std::getenv("JETFLOW_SOURCE_DIR");
  ASSERT_NE(root, nullptr) << "JETFLOW_SOURCE_DIR is not set";
  auto schema = arrow::schema({
      arrow::field("i", arrow::int32()),
      arrow::field("n", arrow::int64()),
      arrow::field("d", arrow::float64()),
      arrow::field("s", arrow::utf8()),
      arrow::field("b", arrow::boolean()),
      arrow::field("ts", arrow::timestamp(arrow::TimeUnit::MICRO, "UTC")),
      arrow::field("lts", arrow::timestamp(arrow::TimeUnit::MICRO)),
      arrow::field("dec", arrow::decimal128(10, 2)),
  });
  ExpressionEnvironment environment;
  environment.getenv = [](const std::string&) -> std::optional<std::string> {
    return "pepper";
  };
  std::filesystem::path dir =
      std::filesystem::path(root) /
      "src/jetflow/transforms/expression/fuzz_corpus/expression_fuzz";
  int seeds = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    std::ifstream in(entry.path());
    std::string text((std::istreambuf_iterator<char>(in)),
                     std::istreambuf_iterator<char>());
    auto compiled = CompiledExpression::Compile({text, entry.path().string(), 1, 1, 1},
                                                *schema, environment);
    EXPECT_TRUE(compiled.ok()) << compiled.status().ToString();
    ++seeds;
  }
  EXPECT_GE(seeds, 10);
}

}  // namespace
}  // namespace jetflow::expression
