// The Parquet loader's write modes (docs/design/parquet-writing.md, "Write modes"): the
// same in-memory mixed10 rows written by the real loader with `write_mode: streaming`
// (every batch encoded as it arrives into a buffered row group) and `row_groups` (a row
// group held, then encoded column by column), and by Arrow's own `WriteTable` with the
// same writer settings (what pyarrow's write_table does), in the same process and run.
//
// The rows (2 partitions of 5M by default, ~950 MiB) are generated first and not timed;
// each way then writes one file per partition on one thread per partition, into a
// scratch folder. CPU seconds are the process's (getrusage) over the writing only.
//
//   write_modes_benchmark [--rows N] [--partitions N] [--reps N] [--dir PATH]
// Prints wall and CPU seconds of each way (best of --reps) and CPU ratios against
// WriteTable.
#include <arrow/api.h>
#include <arrow/compute/initialize.h>
#include <arrow/io/file.h>
#include <fmt/format.h>
#include <parquet/arrow/writer.h>
#include <parquet/properties.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "jetflow/sinks/parquet/parquet_loader.h"
#include "jetflow/sources/generate/generate_consumer.h"

namespace {

using BatchVector = std::vector<std::shared_ptr<arrow::RecordBatch>>;

double CpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& t) { return t.tv_sec + t.tv_usec / 1e6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

struct Timing {
  double wall = 0;
  double cpu = 0;
};

// Runs `write(partition)` for every partition, one thread each.
template <typename Write>
arrow::Result<Timing> TimeWrites(size_t partitions, Write write) {
  const double cpu = CpuSeconds();
  const auto started = std::chrono::steady_clock::now();
  std::vector<arrow::Status> statuses(partitions);
  std::vector<std::thread> threads;
  for (size_t i = 0; i < partitions; ++i) {
    threads.emplace_back([&, i] { statuses[i] = write(i); });
  }
  for (auto& thread : threads) thread.join();
  for (const auto& status : statuses) ARROW_RETURN_NOT_OK(status);
  return Timing{
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count(),
      CpuSeconds() - cpu};
}

arrow::Result<std::vector<BatchVector>> Generate(int64_t rows, int64_t partitions,
                                                 std::shared_ptr<arrow::Schema>* schema) {
  jetflow::GenerateConsumer::Options options;
  options.rows = rows;
  options.partitions = partitions;
  options.batch_rows = 131072;  // engine.batch_rows
  options.columns = jetflow::GenerateConsumer::Mixed10();
  ARROW_ASSIGN_OR_RAISE(auto consumer, jetflow::GenerateConsumer::Make(options));
  ARROW_ASSIGN_OR_RAISE(*schema, consumer->InferSchema());
  jetflow::RunInstance run{"dt", "2024-01-01"};
  ARROW_ASSIGN_OR_RAISE(auto specs, consumer->PlanPartitions(run));
  std::vector<BatchVector> data;
  for (const auto& spec : specs) {
    jetflow::PartitionContext context;
    context.run = run;
    context.partition = spec;
    ARROW_ASSIGN_OR_RAISE(auto reader, consumer->OpenPartition(context));
    BatchVector batches;
    while (true) {
      ARROW_ASSIGN_OR_RAISE(auto batch, reader->Next());
      if (batch == nullptr) break;
      batches.push_back(std::move(batch));
    }
    data.push_back(std::move(batches));
  }
  return data;
}

// The loader with the benchmark's Parquet settings (bench/generate_to_parquet.py).
arrow::Result<std::unique_ptr<jetflow::ParquetLoader>> MakeLoader(
    const std::string& path, jetflow::ParquetLoader::WriteMode mode,
    const std::shared_ptr<arrow::Schema>& schema) {
  jetflow::ParquetLoader::Options options;
  options.name = "bench";
  options.path = path;
  options.compression_level = 1;
  options.write_mode = mode;
  ARROW_ASSIGN_OR_RAISE(auto loader, jetflow::ParquetLoader::Make(options));
  ARROW_RETURN_NOT_OK(loader->Bind(schema).status());
  jetflow::RunContext run;
  run.pipeline = "bench";
  run.run = {"dt", "2024-01-01"};
  ARROW_RETURN_NOT_OK(loader->BeginRun(run));
  return loader;
}

arrow::Status WriteWithLoader(jetflow::ParquetLoader& loader, const BatchVector& batches,
                              size_t index) {
  jetflow::PartitionContext context;
  context.pipeline = "bench";
  context.run = {"dt", "2024-01-01"};
  context.partition.id = fmt::format("p{:05d}", index);
  ARROW_ASSIGN_OR_RAISE(auto writer, loader.OpenPartition(context));
  for (const auto& batch : batches) ARROW_RETURN_NOT_OK(writer->Write(batch));
  return writer->Commit().status();
}

// Arrow's WriteTable with the settings the loader uses (its spark profile output of
// mixed10 is the generated schema itself).
arrow::Status WriteWithWriteTable(const std::string& path, const BatchVector& batches) {
  ARROW_ASSIGN_OR_RAISE(auto table, arrow::Table::FromRecordBatches(batches));
  auto properties = parquet::WriterProperties::Builder()
                        .version(parquet::ParquetVersion::PARQUET_2_6)
                        ->compression(arrow::Compression::ZSTD)
                        ->compression_level(1)
                        ->max_row_group_length(1 << 20)
                        ->data_page_version(parquet::ParquetDataPageVersion::V1)
                        ->enable_dictionary()
                        ->enable_statistics()
                        ->build();
  auto arrow_properties =
      parquet::ArrowWriterProperties::Builder().store_schema()->build();
  ARROW_ASSIGN_OR_RAISE(auto file, arrow::io::FileOutputStream::Open(path));
  ARROW_ASSIGN_OR_RAISE(auto writer, parquet::arrow::FileWriter::Open(
                                         *table->schema(), arrow::default_memory_pool(),
                                         file, properties, arrow_properties));
  ARROW_RETURN_NOT_OK(writer->WriteTable(*table, 1 << 20));
  ARROW_RETURN_NOT_OK(writer->Close());
  return file->Close();
}

arrow::Status Main(int argc, char** argv) {
  int64_t rows = 10'000'000;
  int64_t partitions = 2;
  int reps = 3;
  std::string dir = "build/bench/write_modes";
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--rows"))
      rows = std::atoll(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--partitions"))
      partitions = std::atoll(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--reps"))
      reps = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--dir"))
      dir = argv[i + 1];
    else
      return arrow::Status::Invalid("unknown option ", argv[i]);
  }
  ARROW_RETURN_NOT_OK(arrow::compute::Initialize());
  std::shared_ptr<arrow::Schema> schema;
  ARROW_ASSIGN_OR_RAISE(auto data, Generate(rows, partitions, &schema));
  fmt::print("{} rows of mixed10 in {} partitions, generated in memory (not timed)\n",
             rows, partitions);

  using Mode = jetflow::ParquetLoader::WriteMode;
  const std::vector<std::string> ways = {"WriteTable", "loader row_groups",
                                         "loader streaming"};
  std::vector<Timing> best(ways.size(), Timing{1e30, 1e30});
  for (int rep = 0; rep < reps; ++rep) {
    // Alternating, so that drifting load on the machine hits every way alike.
    for (size_t way = 0; way < ways.size(); ++way) {
      std::filesystem::remove_all(dir);
      std::filesystem::create_directories(dir);
      arrow::Result<Timing> timing;
      if (way == 0) {
        timing = TimeWrites(data.size(), [&](size_t i) {
          return WriteWithWriteTable(fmt::format("{}/part-{}.parquet", dir, i), data[i]);
        });
      } else {
        ARROW_ASSIGN_OR_RAISE(
            auto loader,
            MakeLoader(dir, way == 1 ? Mode::kRowGroups : Mode::kStreaming, schema));
        timing = TimeWrites(
            data.size(), [&](size_t i) { return WriteWithLoader(*loader, data[i], i); });
      }
      ARROW_RETURN_NOT_OK(timing.status());
      fmt::print("  rep {} {:<18} wall {:.2f} s  cpu {:.2f} s\n", rep + 1, ways[way],
                 timing->wall, timing->cpu);
      best[way].wall = std::min(best[way].wall, timing->wall);
      best[way].cpu = std::min(best[way].cpu, timing->cpu);
    }
  }
  std::filesystem::remove_all(dir);
  fmt::print("\nbest of {}:\n", reps);
  for (size_t way = 0; way < ways.size(); ++way) {
    fmt::print("  {:<18} wall {:.2f} s  cpu {:.2f} s  cpu / WriteTable's = {:.2f}\n",
               ways[way], best[way].wall, best[way].cpu, best[way].cpu / best[0].cpu);
  }
  return arrow::Status::OK();
}

}  // namespace

int main(int argc, char** argv) {
  arrow::Status status = Main(argc, argv);
  if (!status.ok()) {
    fmt::print(stderr, "write_modes_benchmark: {}\n", status.ToString());
    return 1;
  }
  return 0;
}
