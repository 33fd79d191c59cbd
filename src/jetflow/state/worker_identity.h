// Worker identity: how the state store names a process that takes part in a run, and how
// it tells, on the same machine, whether that process is still alive.
//
// A worker id reads "<host>/<pid>/<boot id>/<start>": the host name, the process id, the
// first 8 hex digits of the kernel's boot id and the process's start time in clock ticks
// after boot (field 22 of /proc/<pid>/stat). Process ids are reused; the pair (boot id,
// start time) is not, so a worker id names exactly one process that ever ran on the
// machine. Other machines see only the text: for them a worker is alive while its lease
// lasts (state_store.h).
//
// Threading: thread-safe; ThisWorker() is computed once per process.
#pragma once

#include <string>
#include <string_view>

namespace jetflow {

/// The id of the calling process. The reference stays valid, and the same, for the life
/// of the process.
const std::string& ThisWorker();

enum class WorkerLiveness {
  kAlive,    // a process of this machine, still running
  kDead,     // a process of this machine and boot that has ended
  kUnknown,  // another machine's or boot's process, or an id jetflow did not make: only
             // its lease tells
};

/// Whether the process named by `worker` still runs, as far as this machine can tell.
WorkerLiveness CheckWorkerLiveness(std::string_view worker);

/// "pid <pid> on <host>" for messages; an id jetflow did not make, as it is.
std::string DescribeWorker(std::string_view worker);

}  // namespace jetflow
