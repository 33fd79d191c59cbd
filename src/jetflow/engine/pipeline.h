// Pipeline: a consumer, its transformers and loaders, and how the engine runs them.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "jetflow/core/consumer.h"
#include "jetflow/core/loader.h"
#include "jetflow/core/side_output.h"
#include "jetflow/core/transformer.h"

namespace jetflow {

struct EngineOptions {
  /// Partitions processed at the same time (each has a reader and a writer thread).
  /// 0 = the number of hardware threads.
  int partitions_in_flight = 0;
  /// Threads of Arrow's global CPU pool, used by compute kernels (casts, transforms).
  /// Parquet encoding threads are the loader's own `encode_threads`. 0 = hardware
  /// threads. A process-wide setting: the program applies it once (the CLI does, after
  /// loading the pipeline); the engine never changes it.
  int compute_threads = 0;
  /// Cap on Arrow bytes in flight across all partitions: queued batches plus what the
  /// loaders hold (PartitionWriter::buffered_bytes). A partition whose loaders hold
  /// memory and whose queue is empty may exceed it by one batch, so it can always
  /// progress; loader memory is counted as it grows, never waited for.
  int64_t memory_budget_bytes = int64_t{1} << 30;
  /// Batches queued between a partition's reader and writer.
  int queue_batches = 2;
  /// Preferred rows per batch, passed to consumers.
  int64_t batch_rows = 131072;
  /// Attempts per partition for retryable failures (1 = no retry).
  int max_attempts = 3;
  /// Wait before retry k is retry_backoff * 2^(k-1), at most 60 s.
  std::chrono::milliseconds retry_backoff{1000};
  /// How a resumed run checks the committed partitions it would keep against their
  /// manifests (Loader::VerifyCommitted) before keeping them; a partition that differs is
  /// redone. kChecksum (the default) reads their files once; kSize only looks at the
  /// files' sizes, for lakes where reading back is too slow.
  VerifyDepth verify_on_resume = VerifyDepth::kChecksum;
};

template <typename Stage>
struct NamedStage {
  std::string name;
  std::unique_ptr<Stage> stage;
};

/// The loader of a transformer's side output (e.g. a quarantine), see core/side_output.h,
/// made by Pipeline::side_output_loader at plan time. Committed and aborted together
/// with the partition's loaders.
struct SideLoader {
  size_t transformer = 0;  // index into Pipeline::transformers
  int output = 0;          // index into that transformer's side_outputs()
  std::string name;        // "<transformer name>.<side output name>"
  std::unique_ptr<Loader> loader;
};

struct Pipeline {
  std::string name;
  std::unique_ptr<Consumer> consumer;
  /// The consumer's name in the config (`name:`, or its type).
  std::string consumer_name;
  std::vector<NamedStage<Transformer>> transformers;
  std::vector<NamedStage<Loader>> loaders;
  /// Makes the loaders of side outputs; needed only if a transformer declares one.
  SideOutputLoaderFactory side_output_loader;
  /// Identifies the configuration that shapes the output (source, transformers, loaders),
  /// set by whoever built the pipeline (config/). The engine adds the planned schemas; a
  /// resume keeps a committed partition only if the result is unchanged. Empty: unknown.
  std::string config_fingerprint;
  /// Built by PipelineRunner::Plan from the transformers' side outputs.
  std::vector<SideLoader> side_loaders;
  EngineOptions engine;
};

}  // namespace jetflow
