// jetflow: streaming ELT from YAML pipelines into an idempotent Parquet lake.
// Thin entry point: parse arguments, set up logging and Arrow, dispatch to a subcommand.
#include <arrow/compute/initialize.h>
#include <arrow/memory_pool.h>
#include <fmt/format.h>
#include <malloc.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <string>
#include <string_view>

#include "jetflow/cli/commands.h"

namespace {

// `%*` in a log pattern: the message escaped for a JSON string.
class JsonEscapedMessage : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    for (char c : std::string_view(msg.payload.data(), msg.payload.size())) {
      switch (c) {
        case '"':
          Append(dest, "\\\"");
          break;
        case '\\':
          Append(dest, "\\\\");
          break;
        case '\n':
          Append(dest, "\\n");
          break;
        case '\r':
          Append(dest, "\\r");
          break;
        case '\t':
          Append(dest, "\\t");
          break;
        default:
          if (static_cast<unsigned char>(c) < 0x20) {
            Append(dest, fmt::format("\\u{:04x}", static_cast<int>(c)));
          } else {
            dest.push_back(c);
          }
      }
    }
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<JsonEscapedMessage>();
  }

 private:
  static void Append(spdlog::memory_buf_t& dest, std::string_view text) {
    dest.append(text.data(), text.data() + text.size());
  }
};

void ConfigureLogging(const std::string& level, const std::string& format) {
  auto logger = spdlog::stderr_color_mt("jetflow");
  auto formatter =
      std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
  if (format == "json") {
    formatter->add_flag<JsonEscapedMessage>('*').set_pattern(
        R"({"ts":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l","msg":"%*"})");
  } else {
    formatter->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %^%l%$ %v");
  }
  logger->set_formatter(std::move(formatter));
  logger->set_level(spdlog::level::from_str(level));
  spdlog::set_default_logger(logger);
}

void AddCommon(CLI::App* command, jetflow::cli::CommonOptions* options,
               bool instance = true) {
  command->add_option("pipeline", options->pipeline_file, "Pipeline YAML file")
      ->required()
      ->check(CLI::ExistingFile);
  if (instance) {
    command->add_option(
        "-i,--instance", options->instance,
        "Run instance value (e.g. 2026-11-25); overrides run_instance.value");
  }
  command->add_option("--state", options->state_path,
                      "State store file (default: the pipeline's state.path)");
  command->add_flag("--json", options->json, "Print machine-readable JSON on stdout");
}

// Arrow's jemalloc first marks unused pages MADV_FREE ("muzzy") for a second: the kernel
// takes them back only under memory pressure, so they count in RSS all along. Returning
// them at once (MADV_DONTNEED) keeps RSS near what is live, at no measured cost in speed
// (docs/design/memory.md): pages jemalloc reuses within dirty_decay_ms (Arrow's 1 s) are
// never returned at all.
constexpr char kArrowJemallocOptions[] = "muzzy_decay_ms:0";
// Set by EnsureArrowJemallocOptions in the process it executes.
constexpr char kOptionsSetByJetflow[] = "JETFLOW_SET_JE_ARROW_MALLOC_CONF";

// jemalloc reads JE_ARROW_MALLOC_CONF once, when libarrow is loaded, before main() runs:
// setting it here is too late for this process. So, unless the environment already has
// it (a user's own value, even empty, is kept), jetflow executes itself again, once, with
// it set. An exec costs a few milliseconds, once per command.
void EnsureArrowJemallocOptions(char** argv) {
  if (std::getenv("JE_ARROW_MALLOC_CONF") != nullptr) return;
  // The resolved path, not /proc/self/exe itself, so the process keeps its name.
  char self[4096];
  ssize_t length = readlink("/proc/self/exe", self, sizeof(self) - 1);
  if (length <= 0) return;
  self[length] = '\0';
  setenv("JE_ARROW_MALLOC_CONF", kArrowJemallocOptions, /*overwrite=*/1);
  setenv(kOptionsSetByJetflow, "1", /*overwrite=*/1);
  execv(self, argv);
  // Only reached if the exec failed: run with Arrow's defaults.
  unsetenv("JE_ARROW_MALLOC_CONF");
  unsetenv(kOptionsSetByJetflow);
}

// How Arrow's jemalloc is configured, for the debug log.
std::string DescribeArrowJemalloc() {
  auto dirty = arrow::jemalloc_get_stat("opt.dirty_decay_ms");
  auto muzzy = arrow::jemalloc_get_stat("opt.muzzy_decay_ms");
  if (!dirty.ok() || !muzzy.ok()) return "no jemalloc in this Arrow build";
  const char* options = std::getenv("JE_ARROW_MALLOC_CONF");
  return fmt::format(
      "jemalloc dirty_decay_ms {}, muzzy_decay_ms {} (JE_ARROW_MALLOC_CONF='{}', {})",
      *dirty, *muzzy, options == nullptr ? "" : options,
      std::getenv(kOptionsSetByJetflow) != nullptr ? "set by jetflow"
                                                   : "from the environment");
}

int Main(int argc, char** argv) {
  EnsureArrowJemallocOptions(argv);
  // Arrow's jemalloc pool reuses freed memory instead of handing it back to the kernel,
  // which then zeroes it again on the next touch: measured faster and ~20% leaner than
  // mimalloc for COPY -> Parquet (docs/design/memory.md). ARROW_DEFAULT_MEMORY_POOL still
  // wins when set. Must happen before the first Arrow allocation.
  setenv("ARROW_DEFAULT_MEMORY_POOL", "jemalloc", /*overwrite=*/0);
  using namespace jetflow::cli;
  CLI::App app{
      "jetflow: streaming ELT from YAML pipelines into an idempotent Parquet lake"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "jetflow 0.1.0");
  std::string log_level = "info";
  std::string log_format = "text";
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}));
  app.add_option("--log-format", log_format, "Log lines on stderr: text or json")
      ->check(CLI::IsMember({"text", "json"}));

  RunCommandOptions run;
  auto* run_cmd =
      app.add_subcommand("run", "Run one run instance (resumes an unfinished one)");
  AddCommon(run_cmd, &run.common);
  run_cmd->add_flag(
      "--restart", run.restart,
      "Start a new run even if an unfinished run of this instance could resume");
  bool no_progress = false;
  run_cmd->add_flag("--no-progress", no_progress,
                    "No progress line or progress log lines");
  run_cmd
      ->add_option("--log-interval", run.log_interval_seconds,
                   "Seconds between progress log lines when stderr is not a terminal")
      ->check(CLI::PositiveNumber);

  CommonOptions validate;
  auto* validate_cmd = app.add_subcommand(
      "validate", "Check the config and bind every stage; moves no data");
  AddCommon(validate_cmd, &validate);

  CommonOptions plan;
  auto* plan_cmd = app.add_subcommand("plan", "Show the run instance and its partitions");
  AddCommon(plan_cmd, &plan);

  CommonOptions schema;
  auto* schema_cmd = app.add_subcommand(
      "schema", "Show the source schema and each loader's output schema");
  AddCommon(schema_cmd, &schema);

  CommonOptions status;
  std::optional<int64_t> run_id;
  int limit = 20;
  auto* status_cmd = app.add_subcommand("status",
                                        "Show runs, or one run's partitions, from "
                                        "the state store");
  AddCommon(status_cmd, &status, /*instance=*/false);
  status_cmd->add_option("--run", run_id, "Show the partitions of this run id");
  status_cmd->add_option("--limit", limit, "Runs to list")->check(CLI::PositiveNumber);

  CommonOptions verify;
  bool deep = false;
  auto* verify_cmd = app.add_subcommand(
      "verify",
      "Check a published run instance against its manifests (exit 1 on any difference)");
  AddCommon(verify_cmd, &verify);
  verify_cmd->add_flag(
      "--deep", deep,
      "Also compare checksums and read every Parquet footer (rows, schema)");

  TestOptions test;
  auto* test_cmd = app.add_subcommand(
      "test",
      "Run the pipeline test cases (<pipeline>.test.yaml, tests/*.yaml) on fixtures, "
      "with no live source");
  test_cmd->add_option("paths", test.paths,
                       "Pipeline files, test files or folders (default: .)");
  test_cmd->add_option("--junit", test.junit_file, "Write JUnit XML to this file");
  test_cmd->add_option("--filter", test.filter,
                       "Run only cases whose name contains this text");
  test_cmd->add_flag("--json", test.json, "Print machine-readable JSON on stdout");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? kExitOk : kExitConfigError;
  }

  // Parquet encoding (zstd contexts, page buffers) allocates and frees multi-megabyte
  // blocks per page from several threads. With glibc's defaults those come from fresh
  // mmaps or trimmed heap tops, and the kernel zeroes every page again: up to a fifth of
  // the CPU time (docs/design/memory.md). Keep them in the heap for reuse instead; the
  // working set stays bounded by the memory budget and the writers' row groups.
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  // A file-size limit (ulimit -f) must fail the write with EFBIG, reported like any full
  // disk, instead of killing the process.
  std::signal(SIGXFSZ, SIG_IGN);
  ConfigureLogging(log_level, log_format);
  spdlog::debug("memory: Arrow pool '{}', {}",
                arrow::default_memory_pool()->backend_name(), DescribeArrowJemalloc());
  if (auto status = arrow::compute::Initialize(); !status.ok()) {
    std::cerr << "error: cannot initialise Arrow compute: " << status.ToString() << "\n";
    return kExitStateError;
  }
  run.progress = !no_progress;

  if (*run_cmd) return RunCommand(run);
  if (*validate_cmd) return ValidateCommand(validate);
  if (*plan_cmd) return PlanCommand(plan);
  if (*schema_cmd) return SchemaCommand(schema);
  if (*status_cmd) return StatusCommand(status, run_id, limit);
  if (*verify_cmd) return VerifyCommand(verify, deep);
  if (*test_cmd) return TestCommand(test);
  return kExitConfigError;
}

}  // namespace

// Commands report errors as Status; an exception that still escapes one (a bug, or an
// allocation failure) is reported here instead of ending in std::terminate.
int main(int argc, char** argv) {
  try {
    return Main(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "jetflow: internal error: " << e.what() << "\n";
  } catch (...) {
    std::cerr << "jetflow: internal error: an exception of unknown type\n";
  }
  return jetflow::cli::kExitRunFailed;
}
