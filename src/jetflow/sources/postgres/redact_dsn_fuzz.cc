// Fuzzes password redaction: the input is a password; written into a DSN in every form
// libpq accepts, it must never survive RedactDsn() or the redaction of a libpq-style
// message quoting it (dsn_redaction_property.h). Traps on the first leak.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>

#include "jetflow/sources/postgres/dsn_redaction_property.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string password(reinterpret_cast<const char*>(data), size);
  const std::string problem = jetflow::postgres::testing::DsnRedactionProblem(password);
  if (!problem.empty()) {
    std::fprintf(stderr, "password leaked: %s\n", problem.c_str());
    __builtin_trap();
  }
  return 0;
}
