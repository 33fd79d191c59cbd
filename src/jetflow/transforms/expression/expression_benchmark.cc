// Compares a compiled expression with the same computation written by hand against
// Arrow compute, on 10M rows in batches of 64Ki rows, and prints the ratio; then how
// many expressions per second the compiler compiles.
//
//   build/release/src/jetflow/jetflow_expression_benchmark [rows]
//
// Goal: ratio >= 0.8 (the expression layer adds parsing and binding once, nothing per
// row).
#include <arrow/api.h>
#include <arrow/compute/api.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "jetflow/transforms/expression/expression.h"

namespace {

namespace cp = arrow::compute;

arrow::Result<std::vector<std::shared_ptr<arrow::RecordBatch>>> MakeBatches(
    const std::shared_ptr<arrow::Schema>& schema, int64_t rows, int64_t batch_rows) {
  std::mt19937_64 random(42);
  std::vector<std::shared_ptr<arrow::RecordBatch>> batches;
  for (int64_t start = 0; start < rows; start += batch_rows) {
    int64_t n = std::min(batch_rows, rows - start);
    arrow::Int64Builder a, b;
    arrow::DoubleBuilder c;
    arrow::StringBuilder s;
    ARROW_RETURN_NOT_OK(a.Reserve(n));
    ARROW_RETURN_NOT_OK(b.Reserve(n));
    ARROW_RETURN_NOT_OK(c.Reserve(n));
    for (int64_t i = 0; i < n; ++i) {
      a.UnsafeAppend(static_cast<int64_t>(random() % 1000));
      b.UnsafeAppend(static_cast<int64_t>(random() % 1000));
      c.UnsafeAppend(static_cast<double>(random() % 1000) / 10);
      ARROW_RETURN_NOT_OK(
          s.Append("user" + std::to_string(random() % 100000) + "@x.org"));
    }
    std::vector<std::shared_ptr<arrow::Array>> columns(4);
    ARROW_RETURN_NOT_OK(a.Finish(&columns[0]));
    ARROW_RETURN_NOT_OK(b.Finish(&columns[1]));
    ARROW_RETURN_NOT_OK(c.Finish(&columns[2]));
    ARROW_RETURN_NOT_OK(s.Finish(&columns[3]));
    batches.push_back(arrow::RecordBatch::Make(schema, n, columns));
  }
  return batches;
}

// Best of three runs, in seconds.
double Time(const std::function<arrow::Status()>& run) {
  double best = 1e100;
  for (int i = 0; i < 3; ++i) {
    auto start = std::chrono::steady_clock::now();
    auto status = run();
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (!status.ok()) {
      std::fprintf(stderr, "failed: %s\n", status.ToString().c_str());
      std::exit(1);
    }
    best = std::min(best, seconds);
  }
  return best;
}

struct Case {
  std::string name;
  std::string expression;
  // The same computation by hand: column arrays in, result out.
  std::function<arrow::Result<arrow::Datum>(const arrow::RecordBatch&)> by_hand;
};

arrow::Status Main(int64_t rows) {
  ARROW_RETURN_NOT_OK(cp::Initialize());
  auto schema = arrow::schema(
      {arrow::field("a", arrow::int64()), arrow::field("b", arrow::int64()),
       arrow::field("c", arrow::float64()), arrow::field("email", arrow::utf8())});
  ARROW_ASSIGN_OR_RAISE(auto batches, MakeBatches(schema, rows, 64 * 1024));
  std::vector<Case> cases = {
      {"arithmetic+comparison", "a * 2 + b - c > 100",
       [](const arrow::RecordBatch& batch) -> arrow::Result<arrow::Datum> {
         ARROW_ASSIGN_OR_RAISE(
             auto x, cp::CallFunction("multiply_checked",
                                      {batch.column(0), arrow::Datum(int64_t{2})}));
         ARROW_ASSIGN_OR_RAISE(x, cp::CallFunction("add_checked", {x, batch.column(1)}));
         ARROW_ASSIGN_OR_RAISE(x, cp::Cast(x, arrow::float64()));
         ARROW_ASSIGN_OR_RAISE(
             x, cp::CallFunction("subtract_checked", {x, batch.column(2)}));
         return cp::CallFunction("greater", {x, arrow::Datum(100.0)});
       }},
      {"xxhash64(email)", "xxhash64(email, 'salt')", nullptr},
      {"lower(email)", "lower(email)",
       [](const arrow::RecordBatch& batch) -> arrow::Result<arrow::Datum> {
         return cp::CallFunction("utf8_lower", {batch.column(3)});
       }},
  };
  std::printf("%-24s %14s %14s %7s\n", "case", "jetflow rows/s", "arrow rows/s", "ratio");
  for (const auto& c : cases) {
    jetflow::expression::ExpressionSource source{c.expression, "bench", 1, 1, 1};
    ARROW_ASSIGN_OR_RAISE(
        auto compiled, jetflow::expression::CompiledExpression::Compile(source, *schema));
    auto run_ours = [&]() -> arrow::Status {
      for (const auto& batch : batches) {
        ARROW_RETURN_NOT_OK(compiled->Evaluate(*batch).status());
      }
      return arrow::Status::OK();
    };
    if (!c.by_hand) {
      double ours = Time(run_ours);
      std::printf("%-24s %14.0f %14s %7s\n", c.name.c_str(), rows / ours, "-", "-");
      continue;
    }
    auto run_theirs = [&]() -> arrow::Status {
      for (const auto& batch : batches) {
        ARROW_RETURN_NOT_OK(c.by_hand(*batch).status());
      }
      return arrow::Status::OK();
    };
    // Alternate the two so that load from other processes hits both alike.
    double ours = 1e100;
    double theirs = 1e100;
    for (int round = 0; round < 3; ++round) {
      ours = std::min(ours, Time(run_ours));
      theirs = std::min(theirs, Time(run_theirs));
    }
    std::printf("%-24s %14.0f %14.0f %7.2f\n", c.name.c_str(), rows / ours, rows / theirs,
                theirs / ours);
  }
  // Compiling happens once per stage at plan time; it is measured so that a slower
  // compiler (say, its function lookup) shows up here too.
  const std::vector<std::string> compiled = {
      "a * 2 + b - c > 100",
      "lower(trim(email)) || upper(substring(email, 1, 3)) || replace(email, '@', '.')",
      "coalesce(if(a > b, a, b), least(a, b, 3), greatest(a, 1)) + abs(round(c, 1))",
      "xxhash64(email, 'salt') % 100 + length(split_part(email, '@', 2))",
      "regexp_like(email, '^user[0-9]+@') AND starts_with(email, 'user') AND "
      "json_valid(email) IS NOT NULL",
  };
  const int repeats = 400;
  double seconds = Time([&]() -> arrow::Status {
    for (int i = 0; i < repeats; ++i) {
      for (const auto& text : compiled) {
        jetflow::expression::ExpressionSource source{text, "bench", 1, 1, 1};
        ARROW_RETURN_NOT_OK(
            jetflow::expression::CompiledExpression::Compile(source, *schema).status());
      }
    }
    return arrow::Status::OK();
  });
  std::printf("%-24s %14.0f %14s %7s\n", "compile (expressions/s)",
              repeats * compiled.size() / seconds, "-", "-");
  return arrow::Status::OK();
}

}  // namespace

int main(int argc, char** argv) {
  int64_t rows = argc > 1 ? std::atoll(argv[1]) : 10'000'000;
  auto status = Main(rows);
  if (!status.ok()) {
    std::fprintf(stderr, "%s\n", status.ToString().c_str());
    return 1;
  }
  return 0;
}
