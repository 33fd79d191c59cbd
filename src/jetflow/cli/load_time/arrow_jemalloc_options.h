// The options of Arrow's bundled jemalloc, set before libarrow is initialised.
//
// Arrow's jemalloc reads JE_ARROW_MALLOC_CONF once, when libarrow is initialised, before
// main() runs: anything main() sets comes too late. This file's library,
// libjetflow_load_time.so, sets it from a constructor instead. The jetflow executable
// needs that library after libarrow, and glibc initialises a process's libraries in the
// reverse of their load order, each after its own dependencies (this one needs only
// libc), so it runs first. main() checks that the options took effect and otherwise
// executes itself again, once, with the variable set (cli/main.cc).
#pragma once

namespace jetflow::cli {

/// Arrow's jemalloc first marks unused pages MADV_FREE ("muzzy") for a second: the kernel
/// takes them back only under memory pressure, so they count in RSS all along. Returning
/// them at once (MADV_DONTNEED) keeps RSS near what is live, at no measured cost in
/// speed: pages jemalloc reuses within dirty_decay_ms (Arrow's 1 s) are never returned at
/// all.
extern const char kArrowJemallocOptions[];

/// True if the library set JE_ARROW_MALLOC_CONF to kArrowJemallocOptions at load time;
/// false if the environment already had it (a user's own value, even empty, is kept).
bool ArrowJemallocOptionsSetAtLoad();

}  // namespace jetflow::cli
