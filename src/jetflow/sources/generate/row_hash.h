// The counter-based hashes behind every generated value: the value of a column at a
// global row depends only on the column's stream and the row, so any range of rows can be
// generated on its own (a batch, a partition, a retried partition) with the same result.
#pragma once

#include <cstdint>

namespace jetflow::generate_internal {

/// splitmix64's finaliser: a bijective, well-mixed 64-bit hash.
inline uint64_t Mix(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

/// The hash of `row` in the counter-based stream `stream`: wyrand's output for counter
/// value stream + row * increment (one 64x64->128 multiply). Depends on nothing else, so
/// a batch can start at any row.
inline uint64_t RowHash(uint64_t stream, int64_t row) {
  const uint64_t s = stream + static_cast<uint64_t>(row) * 0xA0761D6478BD642FULL;
  const unsigned __int128 m =
      static_cast<unsigned __int128>(s) * (s ^ 0xE7037ED1A0B428DBULL);
  return static_cast<uint64_t>(m >> 64) ^ static_cast<uint64_t>(m);
}

/// floor(a * b / 2^64): maps a uniform 64-bit hash onto [0, b) without a division.
inline uint64_t MulHi(uint64_t a, uint64_t b) {
  return static_cast<uint64_t>((static_cast<unsigned __int128>(a) * b) >> 64);
}

}  // namespace jetflow::generate_internal
