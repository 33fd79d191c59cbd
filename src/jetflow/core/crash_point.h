// Crash points: named places in the commit protocol where a test stops the process
// exactly as `kill -9` would (no destructor runs, nothing is flushed, no cleanup), so
// that it can check what the next run makes of what is left. A kill from outside lands at
// a random instruction; a crash point lands in a window that is a few microseconds wide,
// e.g. after a partition's directory was switched into place but before the state store
// recorded it committed (tests/e2e/test_kill_loop.py, docs/semantics.md).
//
// Armed by the environment variable JETFLOW_CRASH_AT, a comma-separated list of
// <name> or <name>@<n>: the process sends itself SIGKILL the n-th time (1 if not given)
// any thread reaches crash point <name>, whichever listed point comes first, after
// writing one line naming it to stderr. Unset (always, outside tests), a crash point
// costs one comparison. The names, in the order a run reaches them, are
// listed where they are placed (sinks/parquet/rename_committer.cc).
//
// JETFLOW_STOP_AT, with the same syntax, stops the process instead (SIGSTOP, after a line
// naming the point): a test holds it in a window (e.g. before a run's output is
// prepared) while it starts another process, then sends SIGCONT.
//
// Threading: safe to reach from any thread.
#pragma once

namespace jetflow {

/// The environment variable that arms a crash point.
inline constexpr const char* kCrashPointVariable = "JETFLOW_CRASH_AT";
/// The environment variable that arms a stop point.
inline constexpr const char* kStopPointVariable = "JETFLOW_STOP_AT";

/// Kills the process with SIGKILL if JETFLOW_CRASH_AT lists `name` and this is the n-th
/// time it is reached (stops it with SIGSTOP, likewise, for JETFLOW_STOP_AT); otherwise
/// returns at once.
/// REQUIRES: `name` is a string literal ("publish.switched").
void CrashPoint(const char* name);

}  // namespace jetflow
