#include "jetflow/cli/load_time/arrow_jemalloc_options.h"

#include <cstdlib>

namespace jetflow::cli {

const char kArrowJemallocOptions[] = "muzzy_decay_ms:0";

namespace {

bool set_at_load = false;

// Runs when the library is initialised: before libarrow's initialisers (see the header).
__attribute__((constructor)) void SetArrowJemallocOptions() {
  if (std::getenv("JE_ARROW_MALLOC_CONF") != nullptr) return;
  set_at_load =
      setenv("JE_ARROW_MALLOC_CONF", kArrowJemallocOptions, /*overwrite=*/0) == 0;
}

}  // namespace

bool ArrowJemallocOptionsSetAtLoad() { return set_at_load; }

}  // namespace jetflow::cli
