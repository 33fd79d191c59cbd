// Micro-measurement of the generate consumer: rows/s of the mixed10 preset on one thread.
//
// Not built by CMake (files named *_benchmark.cc are excluded from libraries and tests);
// build it against a Release build of jetflow_sources, e.g.:
//   cmake -S . -B build/rel -G Ninja -DCMAKE_BUILD_TYPE=Release
//   -DJETFLOW_BUILD_BENCHMARKS=OFF ninja -C build/rel jetflow_sources
//   A=build/_deps/pyarrow-26.0.1/unpacked/pyarrow
//   g++ -std=c++20 -O2 -Isrc -I$A/include
//   src/jetflow/sources/generate/generate_benchmark.cc \
//     build/rel/src/jetflow/libjetflow_sources.a build/rel/src/jetflow/libjetflow_core.a
//     \ $A/libarrow.so.2600 -lyaml-cpp -Wl,-rpath,$A -o /tmp/generate_benchmark
//   /tmp/generate_benchmark [rows] [batch_rows]
#include <arrow/api.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "jetflow/sources/generate/generate_consumer.h"

int main(int argc, char** argv) {
  const int64_t rows = argc > 1 ? std::atoll(argv[1]) : 50'000'000;
  const int64_t batch_rows = argc > 2 ? std::atoll(argv[2]) : 65536;
  jetflow::GenerateConsumer::Options options;
  options.rows = rows;
  options.batch_rows = batch_rows;
  options.columns = jetflow::GenerateConsumer::Mixed10();
  auto consumer = jetflow::GenerateConsumer::Make(options).ValueOrDie();
  auto plan = consumer->PlanPartitions({"dt", "2024-05-01"}).ValueOrDie();
  jetflow::PartitionContext context;
  context.pipeline = "bench";
  context.run = {"dt", "2024-05-01"};
  context.partition = plan[0];

  for (int round = 0; round < 3; ++round) {
    auto reader = consumer->OpenPartition(context).ValueOrDie();
    const auto start = std::chrono::steady_clock::now();
    int64_t total = 0, bytes = 0;
    while (true) {
      auto batch = reader->Next().ValueOrDie();
      if (batch == nullptr) break;
      total += batch->num_rows();
      for (const auto& column : batch->columns()) {
        for (const auto& buffer : column->data()->buffers) {
          if (buffer) bytes += buffer->size();
        }
      }
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf(
        "mixed10: %lld rows in %.3f s = %.1f M rows/s, %.0f MB/s of Arrow buffers\n",
        static_cast<long long>(total), seconds, total / seconds / 1e6,
        bytes / seconds / 1e6);
  }
  return 0;
}
