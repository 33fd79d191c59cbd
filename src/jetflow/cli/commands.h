// The `jetflow` subcommands. main.cc parses arguments with CLI11 and calls one of these;
// each returns the process exit code (see ExitCode and docs/cli.md).
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace jetflow::cli {

enum ExitCode : int {
  kExitOk = 0,
  kExitRunFailed = 1,      // the run started and a partition failed (data, source, sink)
  kExitConfigError = 2,    // bad arguments, config or plan: nothing was moved
  kExitStateError = 3,     // the state store could not be opened or written
  kExitTransient = 4,      // planning failed on a transient error (a source unreachable):
                           // nothing was moved; retry later
  kExitInterrupted = 130,  // SIGINT/SIGTERM: in-flight partitions aborted, run resumable
};

struct CommonOptions {
  std::string pipeline_file;
  std::optional<std::string> instance;    // --instance
  std::optional<std::string> state_path;  // --state
  bool json = false;                      // --json: machine-readable output on stdout
};

struct RunCommandOptions {
  CommonOptions common;
  bool restart = false;              // --restart
  bool progress = true;              // --no-progress turns the live line off
  double log_interval_seconds = 10;  // --log-interval, when stderr is not a terminal
};

/// `jetflow test [PATH...] [--junit FILE] [--filter NAME] [--json]`
struct TestOptions {
  std::vector<std::string> paths;  // pipeline files, test files or folders
  std::optional<std::string> junit_file;
  std::optional<std::string> filter;
  bool json = false;
};

int RunCommand(const RunCommandOptions& options);
/// Exit 0 when every case passed, 1 when one failed, 2 for invalid test files.
int TestCommand(const TestOptions& options);
int ValidateCommand(const CommonOptions& options);
int PlanCommand(const CommonOptions& options);
int SchemaCommand(const CommonOptions& options);
int StatusCommand(const CommonOptions& options, std::optional<int64_t> run_id, int limit);
/// `jetflow verify`: every loader's published output of the run instance against its
/// manifests (sizes; with `deep` checksums, footers, rows, schemas), and the state
/// store's record of the run that published it. Exit 0 when everything matches, 1 when
/// anything differs (every difference is printed), 2 for a bad config or an instance
/// that is not published, 3 when the state store cannot be read.
int VerifyCommand(const CommonOptions& options, bool deep);

}  // namespace jetflow::cli
