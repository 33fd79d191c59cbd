// The transform benchmark (docs/benchmarks.md): a chain of typical transforms run by
// jetflow's real transformer objects against the same operations written directly on
// Arrow compute, on the same in-memory batches, in the same process and run.
//
// Chain, on 10M rows in batches of engine.batch_rows (131072):
//   cast    qty int32 -> int64, price_text string -> float64
//   derive  amount = qty * price; big = amount > 500; name_upper = upper(name)
//   filter  amount > 100
//   derive  email_hash = xxhash64(email)
//   select  drop email, rename id -> order_id
// jetflow: the transformers come from the registry, configured by YAML, bound to the
// input schema, and fed batch by batch (Apply, then Finish) as the engine's writer thread
// does. Arrow: the same kernels called directly (cast, multiply_checked, greater,
// utf8_upper, filter, XXH64 over the string bytes, a zero-copy rename).
//
//   transforms_benchmark [--rows N] [--batch-rows N] [--reps N] [--check]
// Prints rows/s of both and the ratio; --check exits 1 when the ratio is below 0.8.
#include <arrow/api.h>
#include <arrow/compute/api.h>
#include <arrow/compute/initialize.h>
#include <fmt/format.h>
#include <xxhash.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "jetflow/builtins/builtin_components.h"
#include "jetflow/config/pipeline_config.h"

namespace {

namespace cp = arrow::compute;
using BatchVector = std::vector<std::shared_ptr<arrow::RecordBatch>>;

constexpr const char* kPipeline = R"yaml(
pipeline: transforms_benchmark
consumer: {type: generate, rows: 1}
transformers:
  - type: cast
    name: types
    columns:
      qty: int64
      price_text: float64
  - type: derive
    name: derived
    columns:
      amount: "qty * price_text"
      big: "amount > 500"
      name_upper: "upper(name)"
  - type: filter
    name: min_amount
    where: "amount > 100"
  - type: derive
    name: pseudonymise
    columns:
      email_hash: "xxhash64(email)"
  - type: select
    name: rename
    drop: [email]
    rename: {id: order_id}
loaders:
  - {type: parquet, name: lake, path: /nonexistent/never-written}
)yaml";

std::shared_ptr<arrow::Schema> InputSchema() {
  return arrow::schema(
      {arrow::field("id", arrow::int64()), arrow::field("qty", arrow::int32()),
       arrow::field("price_text", arrow::utf8()), arrow::field("name", arrow::utf8()),
       arrow::field("email", arrow::utf8())});
}

uint64_t Mix(uint64_t x) {  // splitmix64
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

arrow::Result<BatchVector> MakeBatches(int64_t rows, int64_t batch_rows) {
  static const char* kNames[] = {"alice", "bob",   "carol", "dave", "erin",
                                 "frank", "grace", "heidi", "ivan", "judy"};
  BatchVector batches;
  for (int64_t start = 0; start < rows; start += batch_rows) {
    int64_t n = std::min(batch_rows, rows - start);
    arrow::Int64Builder id;
    arrow::Int32Builder qty;
    arrow::StringBuilder price, name, email;
    ARROW_RETURN_NOT_OK(id.Reserve(n));
    ARROW_RETURN_NOT_OK(qty.Reserve(n));
    for (int64_t i = start; i < start + n; ++i) {
      uint64_t r = Mix(static_cast<uint64_t>(i));
      id.UnsafeAppend(i);
      qty.UnsafeAppend(static_cast<int32_t>(r % 20 + 1));
      ARROW_RETURN_NOT_OK(
          price.Append(fmt::format("{}.{:02d}", (r >> 8) % 100, (r >> 16) % 100)));
      ARROW_RETURN_NOT_OK(name.Append(kNames[(r >> 24) % 10]));
      ARROW_RETURN_NOT_OK(email.Append(fmt::format("user{}@example.com", r % 1000000)));
    }
    std::vector<std::shared_ptr<arrow::Array>> columns(5);
    ARROW_RETURN_NOT_OK(id.Finish(&columns[0]));
    ARROW_RETURN_NOT_OK(qty.Finish(&columns[1]));
    ARROW_RETURN_NOT_OK(price.Finish(&columns[2]));
    ARROW_RETURN_NOT_OK(name.Finish(&columns[3]));
    ARROW_RETURN_NOT_OK(email.Finish(&columns[4]));
    batches.push_back(arrow::RecordBatch::Make(InputSchema(), n, std::move(columns)));
  }
  return batches;
}

struct Outcome {
  double seconds = 0;
  int64_t rows_out = 0;
  int64_t hash_sum = 0;  // wrapping sum of email_hash, to check both compute the same
};

void Accumulate(const arrow::RecordBatch& out, Outcome* outcome) {
  outcome->rows_out += out.num_rows();
  const auto& hashes =
      static_cast<const arrow::Int64Array&>(*out.GetColumnByName("email_hash"));
  uint64_t sum = static_cast<uint64_t>(outcome->hash_sum);
  for (int64_t i = 0; i < hashes.length(); ++i)
    sum += static_cast<uint64_t>(hashes.Value(i));
  outcome->hash_sum = static_cast<int64_t>(sum);
}

// --- jetflow: the real transformers ---

struct JetflowChain {
  jetflow::LoadedPipeline loaded;
};

arrow::Result<std::unique_ptr<JetflowChain>> LoadChain(
    const jetflow::ComponentRegistry& registry) {
  auto chain = std::make_unique<JetflowChain>();
  ARROW_ASSIGN_OR_RAISE(chain->loaded,
                        jetflow::LoadPipelineText(kPipeline, "transforms_benchmark.yaml",
                                                  "/tmp", registry));
  std::shared_ptr<arrow::Schema> schema = InputSchema();
  for (auto& t : chain->loaded.pipeline.transformers) {
    ARROW_ASSIGN_OR_RAISE(schema, t.stage->Bind(schema));
  }
  return chain;
}

arrow::Result<Outcome> RunJetflow(JetflowChain& chain, const BatchVector& batches) {
  Outcome outcome;
  auto start = std::chrono::steady_clock::now();
  jetflow::PartitionContext context;
  context.pipeline = "transforms_benchmark";
  context.run = {"run", "bench"};
  context.partition = {"p00000", "benchmark", -1};
  std::vector<std::unique_ptr<jetflow::PartitionTransform>> stages;
  for (auto& t : chain.loaded.pipeline.transformers) {
    ARROW_ASSIGN_OR_RAISE(auto open, t.stage->Open(context));
    stages.push_back(std::move(open));
  }
  for (const auto& batch : batches) {
    std::shared_ptr<arrow::RecordBatch> current = batch;
    for (auto& stage : stages) {
      ARROW_ASSIGN_OR_RAISE(current, stage->Apply(current));
      stage->TakeSideBatches();
    }
    Accumulate(*current, &outcome);
  }
  for (auto& stage : stages) {
    ARROW_ASSIGN_OR_RAISE(auto rest, stage->Finish());
    if (!rest.empty()) return arrow::Status::Invalid("unexpected rows held back");
  }
  outcome.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return outcome;
}

// --- The same operations directly on Arrow compute ---

arrow::Result<std::shared_ptr<arrow::Array>> Xxh64(const arrow::Array& strings) {
  const auto& s = static_cast<const arrow::StringArray&>(strings);
  arrow::Int64Builder builder;
  ARROW_RETURN_NOT_OK(builder.Reserve(s.length()));
  for (int64_t i = 0; i < s.length(); ++i) {
    if (s.IsNull(i)) {
      builder.UnsafeAppendNull();
      continue;
    }
    std::string_view v = s.GetView(i);
    builder.UnsafeAppend(static_cast<int64_t>(XXH64(v.data(), v.size(), 0)));
  }
  return builder.Finish();
}

arrow::Result<std::shared_ptr<arrow::RecordBatch>> ArrowChain(
    const std::shared_ptr<arrow::RecordBatch>& in,
    const std::shared_ptr<arrow::Schema>& derived_schema,
    const std::shared_ptr<arrow::Schema>& out_schema) {
  ARROW_ASSIGN_OR_RAISE(auto qty, cp::Cast(in->column(1), arrow::int64()));
  ARROW_ASSIGN_OR_RAISE(auto price, cp::Cast(in->column(2), arrow::float64()));
  ARROW_ASSIGN_OR_RAISE(auto qty_double, cp::Cast(qty, arrow::float64()));
  ARROW_ASSIGN_OR_RAISE(auto amount,
                        cp::CallFunction("multiply_checked", {qty_double, price}));
  ARROW_ASSIGN_OR_RAISE(auto big,
                        cp::CallFunction("greater", {amount, arrow::Datum(500.0)}));
  ARROW_ASSIGN_OR_RAISE(auto upper, cp::CallFunction("utf8_upper", {in->column(3)}));
  auto derived = arrow::RecordBatch::Make(
      derived_schema, in->num_rows(),
      {in->column(0), qty.make_array(), price.make_array(), in->column(3), in->column(4),
       amount.make_array(), big.make_array(), upper.make_array()});
  ARROW_ASSIGN_OR_RAISE(auto keep,
                        cp::CallFunction("greater", {amount, arrow::Datum(100.0)}));
  ARROW_ASSIGN_OR_RAISE(auto filtered, cp::Filter(derived, keep));
  auto kept = filtered.record_batch();
  ARROW_ASSIGN_OR_RAISE(auto hash, Xxh64(*kept->column(4)));
  return arrow::RecordBatch::Make(
      out_schema, kept->num_rows(),
      {kept->column(0), kept->column(1), kept->column(2), kept->column(3),
       kept->column(5), kept->column(6), kept->column(7), hash});
}

arrow::Result<Outcome> RunArrow(const BatchVector& batches) {
  auto derived_schema = arrow::schema(
      {arrow::field("id", arrow::int64()), arrow::field("qty", arrow::int64()),
       arrow::field("price_text", arrow::float64()), arrow::field("name", arrow::utf8()),
       arrow::field("email", arrow::utf8()), arrow::field("amount", arrow::float64()),
       arrow::field("big", arrow::boolean()), arrow::field("name_upper", arrow::utf8())});
  auto out_schema = arrow::schema(
      {arrow::field("order_id", arrow::int64()), arrow::field("qty", arrow::int64()),
       arrow::field("price_text", arrow::float64()), arrow::field("name", arrow::utf8()),
       arrow::field("amount", arrow::float64()), arrow::field("big", arrow::boolean()),
       arrow::field("name_upper", arrow::utf8()),
       arrow::field("email_hash", arrow::int64())});
  Outcome outcome;
  auto start = std::chrono::steady_clock::now();
  for (const auto& batch : batches) {
    ARROW_ASSIGN_OR_RAISE(auto out, ArrowChain(batch, derived_schema, out_schema));
    Accumulate(*out, &outcome);
  }
  outcome.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return outcome;
}

arrow::Status Main(int argc, char** argv, int* exit_code) {
  int64_t rows = 10'000'000;
  int64_t batch_rows = 131072;
  int reps = 3;
  bool check = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto next = [&]() -> int64_t { return i + 1 < argc ? std::atoll(argv[++i]) : 0; };
    if (arg == "--rows") {
      rows = next();
    } else if (arg == "--batch-rows") {
      batch_rows = next();
    } else if (arg == "--reps") {
      reps = static_cast<int>(next());
    } else if (arg == "--check") {
      check = true;
    } else {
      fmt::print(
          "usage: transforms_benchmark [--rows N] [--batch-rows N] [--reps N] "
          "[--check]\n");
      *exit_code = arg == "--help" ? 0 : 2;
      return arrow::Status::OK();
    }
  }
  if (rows <= 0 || batch_rows <= 0 || reps <= 0) {
    return arrow::Status::Invalid("--rows, --batch-rows and --reps must be positive");
  }
  ARROW_RETURN_NOT_OK(cp::Initialize());
  jetflow::ComponentRegistry registry;
  jetflow::RegisterBuiltinComponents(registry);
  ARROW_ASSIGN_OR_RAISE(auto chain, LoadChain(registry));
  fmt::print("generating {} rows in batches of {} ...\n", rows, batch_rows);
  ARROW_ASSIGN_OR_RAISE(auto batches, MakeBatches(rows, batch_rows));

  Outcome best_jetflow, best_arrow;
  best_jetflow.seconds = best_arrow.seconds = 1e300;
  std::vector<double> paired;
  for (int r = 0; r < reps; ++r) {  // alternate, so drifting load hits both alike
    ARROW_ASSIGN_OR_RAISE(auto a, RunArrow(batches));
    ARROW_ASSIGN_OR_RAISE(auto j, RunJetflow(*chain, batches));
    if (j.rows_out != a.rows_out || j.hash_sum != a.hash_sum) {
      return arrow::Status::Invalid("jetflow and Arrow disagree: rows ", j.rows_out,
                                    " vs ", a.rows_out, ", hash sum ", j.hash_sum, " vs ",
                                    a.hash_sum);
    }
    fmt::print("rep {}: arrow {:.3f} s, jetflow {:.3f} s ({} rows out)\n", r + 1,
               a.seconds, j.seconds, j.rows_out);
    paired.push_back(a.seconds / j.seconds);
    if (j.seconds < best_jetflow.seconds) best_jetflow = j;
    if (a.seconds < best_arrow.seconds) best_arrow = a;
  }
  std::sort(paired.begin(), paired.end());
  double jetflow_rps = rows / best_jetflow.seconds;
  double arrow_rps = rows / best_arrow.seconds;
  double ratio = jetflow_rps / arrow_rps;
  fmt::print("\n| program | rows | best s | rows/s |\n|---|---:|---:|---:|\n");
  fmt::print("| jetflow transformers (registry, YAML) | {} | {:.3f} | {:.2f}M |\n", rows,
             best_jetflow.seconds, jetflow_rps / 1e6);
  fmt::print("| Arrow compute, hand-written | {} | {:.3f} | {:.2f}M |\n", rows,
             best_arrow.seconds, arrow_rps / 1e6);
  fmt::print("\nratio jetflow / Arrow rows/s (best of {}): {:.2f} (goal >= 0.80) {}\n",
             reps, ratio, ratio >= 0.8 ? "PASS" : "FAIL");
  fmt::print("ratio paired by repetition (median): {:.2f}\n", paired[paired.size() / 2]);
  *exit_code = check && ratio < 0.8 ? 1 : 0;
  return arrow::Status::OK();
}

}  // namespace

int main(int argc, char** argv) {
  int exit_code = 0;
  arrow::Status status = Main(argc, argv, &exit_code);
  if (!status.ok()) {
    fmt::print(stderr, "error: {}\n", status.ToString());
    return 2;
  }
  return exit_code;
}
