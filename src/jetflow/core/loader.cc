// Printing what a loader's verification found (core/loader.h).
#include "jetflow/core/loader.h"

namespace jetflow {

const char* ToString(VerifyDepth depth) {
  switch (depth) {
    case VerifyDepth::kSize:
      return "size";
    case VerifyDepth::kChecksum:
      return "checksum";
    case VerifyDepth::kFull:
      return "full";
  }
  return "?";
}

std::string ManifestDifference::ToString() const {
  if (expected.empty()) {
    return path + ": " + what + (found.empty() ? "" : " (" + found + ")") +
           ", listed by no manifest";
  }
  if (found.empty()) return path + ": " + what + ": expected " + expected;
  return path + ": " + what + " differs: expected " + expected + ", found " + found;
}

}  // namespace jetflow
