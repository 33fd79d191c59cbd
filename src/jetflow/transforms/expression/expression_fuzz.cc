// Fuzzes the expression compiler and evaluator: any text must either fail to compile
// with Invalid, or compile and evaluate (or fail with a Status) on a small batch —
// never crash, hang or leak.
#include <arrow/api.h>
#include <arrow/json/from_string.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "jetflow/transforms/expression/expression.h"

namespace {

struct Fixture {
  std::shared_ptr<arrow::Schema> schema;
  std::shared_ptr<arrow::RecordBatch> batch;
};

const Fixture& GetFixture() {
  static const Fixture* fixture = [] {
    auto* f = new Fixture;
    f->schema = arrow::schema({
        arrow::field("i", arrow::int32()),
        arrow::field("n", arrow::int64()),
        arrow::field("d", arrow::float64()),
        arrow::field("s", arrow::utf8()),
        arrow::field("b", arrow::boolean()),
        arrow::field("ts", arrow::timestamp(arrow::TimeUnit::MICRO, "UTC")),
        arrow::field("lts", arrow::timestamp(arrow::TimeUnit::MICRO)),
        arrow::field("dec", arrow::decimal128(10, 2)),
    });
    auto rows = arrow::json::ArrayFromJSONString(
        arrow::struct_(f->schema->fields()),
        R"([{"i": 1, "n": 9223372036854775807, "d": 1.5, "s": "a,b", "b": true,
             "ts": "2026-03-29 01:30:00", "lts": "2026-03-29 02:30:00", "dec": "1.25"},
            {"i": 0, "n": -1, "d": -0.0, "s": "{\"a\": [1, {\"b\": 2}]}", "b": false,
             "ts": "2026-10-25 01:30:00", "lts": "2026-10-25 02:30:00", "dec": "-3.00"},
            {}])");
    auto batch = arrow::RecordBatch::FromStructArray(*rows);
    f->batch =
        arrow::RecordBatch::Make(f->schema, (*batch)->num_rows(), (*batch)->columns());
    return f;
  }();
  return *fixture;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 4096) return 0;
  const Fixture& fixture = GetFixture();
  jetflow::expression::ExpressionSource source{
      std::string(reinterpret_cast<const char*>(data), size), "fuzz.yaml", 1, 1, 1};
  jetflow::expression::ExpressionEnvironment environment;
  environment.getenv = [](const std::string& name) -> std::optional<std::string> {
    if (name == "SALT") return "pepper";
    return std::nullopt;
  };
  auto compiled = jetflow::expression::CompiledExpression::Compile(
      source, *fixture.schema, environment);
  if (!compiled.ok()) return 0;
  auto result = (*compiled)->Evaluate(*fixture.batch);
  if (result.ok() && (*result)->length() != fixture.batch->num_rows()) __builtin_trap();
  return 0;
}
