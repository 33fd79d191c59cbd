// Micro-benchmark: CopyBinaryDecoder on the PostgreSQL consumer benchmark's 10-column mix
// (bigint, int, timestamptz, numeric(18,4), double, bool, text, char(2), jsonb, uuid).
// The target is 5M rows/s (issue 4); `vs_target` is rows/s divided by it, and the memcpy
// benchmark over the same bytes is the ceiling measured in the same run.
#include <benchmark/benchmark.h>

#include <cstring>
#include <string>
#include <vector>

#include "jetflow/sources/postgres/copy_binary_decoder.h"
#include "jetflow/sources/postgres/copy_binary_fixture_columns.h"

namespace {

constexpr double kTargetRowsPerSecond = 5e6;
constexpr int64_t kRows = 200000;

class Writer {
 public:
  void U8(uint8_t v) { out_.push_back(v); }
  void I16(int16_t v) { Be(static_cast<uint16_t>(v), 2); }
  void I32(int32_t v) { Be(static_cast<uint32_t>(v), 4); }
  void I64(int64_t v) { Be(static_cast<uint64_t>(v), 8); }
  void Raw(const std::string& s) { out_.insert(out_.end(), s.begin(), s.end()); }
  std::vector<uint8_t>& out() { return out_; }

 private:
  void Be(uint64_t v, int n) {
    for (int i = n - 1; i >= 0; --i) out_.push_back(static_cast<uint8_t>(v >> (8 * i)));
  }
  std::vector<uint8_t> out_;
};

// Tuples shaped like PostgreSQL's output for the bench fixture query.
std::vector<uint8_t> MakeStream(int64_t rows) {
  Writer w;
  w.Raw(std::string("PGCOPY\n\xff\r\n\0", 11));
  w.I32(0);
  w.I32(0);
  for (int64_t g = 1; g <= rows; ++g) {
    w.I16(10);
    w.I32(8);
    w.I64(g);
    w.I32(4);
    w.I32(static_cast<int32_t>(g % 1000));
    w.I32(8);
    w.I64(757382400000000 + g * 1000000);
    // numeric(18,4) g*1.2345: weight 1, digits {g*12345 / 10^8, ..}; a typical 3-digit
    // value.
    const int64_t unscaled = g * 12345;
    w.I32(8 + 2 * 3);
    w.I16(3);
    w.I16(1);
    w.I16(0);
    w.I16(4);
    w.I16(static_cast<int16_t>(unscaled / 100000000 % 10000));
    w.I16(static_cast<int16_t>(unscaled / 10000 % 10000));
    w.I16(static_cast<int16_t>(unscaled % 10000));
    w.I32(8);
    double ratio = g / 7.0;
    uint64_t bits;
    std::memcpy(&bits, &ratio, 8);
    w.I64(static_cast<int64_t>(bits));
    w.I32(1);
    w.U8(g % 2 == 0);
    std::string name = "name " + std::to_string(g);
    w.I32(static_cast<int32_t>(name.size()));
    w.Raw(name);
    w.I32(2);
    w.Raw("XY");
    std::string doc = "{\"k\": " + std::to_string(g) + "}";
    w.I32(static_cast<int32_t>(doc.size() + 1));
    w.U8(1);
    w.Raw(doc);
    w.I32(16);
    for (int i = 0; i < 16; ++i) w.U8(static_cast<uint8_t>(g * 31 + i));
  }
  w.I16(-1);
  return std::move(w.out());
}

const std::vector<uint8_t>& Stream() {
  static const std::vector<uint8_t> stream = MakeStream(kRows);
  return stream;
}

// One CopyData message per tuple is what libpq hands over; decoding a whole buffer
// exercises the same in-place path.
void BM_DecodeBenchMix(benchmark::State& state) {
  const auto& stream = Stream();
  const auto columns = jetflow::postgres::fixtures::BenchColumns();
  const int64_t chunk = state.range(0);
  for (auto _ : state) {
    auto decoder = jetflow::postgres::CopyBinaryDecoder::Make(columns, {}).ValueOrDie();
    for (size_t pos = 0; pos < stream.size(); pos += chunk) {
      auto status = decoder->Consume(stream.data() + pos,
                                     std::min<int64_t>(chunk, stream.size() - pos));
      if (!status.ok()) state.SkipWithError(status.ToString().c_str());
      if (decoder->buffered_rows() >= 65536) benchmark::DoNotOptimize(decoder->Flush());
    }
    benchmark::DoNotOptimize(decoder->Flush());
  }
  const double rows = static_cast<double>(state.iterations()) * kRows;
  state.counters["rows_per_s"] = benchmark::Counter(rows, benchmark::Counter::kIsRate);
  state.counters["vs_target"] =
      benchmark::Counter(rows / kTargetRowsPerSecond, benchmark::Counter::kIsRate);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * stream.size()));
}
BENCHMARK(BM_DecodeBenchMix)
    ->Arg(1 << 20)
    ->Arg(64 * 1024)
    ->Arg(97)
    ->Unit(benchmark::kMillisecond);

void BM_MemcpyCeiling(benchmark::State& state) {
  const auto& stream = Stream();
  std::vector<uint8_t> copy(stream.size());
  for (auto _ : state) {
    std::memcpy(copy.data(), stream.data(), stream.size());
    benchmark::ClobberMemory();
  }
  state.counters["rows_per_s"] = benchmark::Counter(
      static_cast<double>(state.iterations()) * kRows, benchmark::Counter::kIsRate);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * stream.size()));
}
BENCHMARK(BM_MemcpyCeiling)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
