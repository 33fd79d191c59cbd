// Random strings of the generate consumer, the bulk of its work on string-heavy schemas.
//
// A string is a pure function of one 64-bit row hash: its length, then its characters,
// made 32 at a time (one chunk) by hashing eight 32-bit lanes and mapping every byte into
// the charset. The same bytes come out of the AVX2 kernel (used when the CPU has AVX2)
// and of the portable one; a test holds them to that.
#pragma once

#include <cstdint>
#include <string>

#include "jetflow/sources/generate/generate_consumer.h"
#include "jetflow/sources/generate/row_hash.h"

namespace jetflow::generate_internal {

using Charset = GenerateConsumer::ColumnSpec::Charset;

/// Characters are written in chunks of this many. A string of length L takes
/// RandomCharChunks(L) chunks; the bytes past L are scratch that the next string
/// overwrites or the caller drops.
constexpr int64_t kRandomCharChunk = 32;
inline int64_t RandomCharChunks(int64_t length) {
  return (length + kRandomCharChunk - 1) / kRandomCharChunk;
}

/// Which code makes the characters: the best the CPU runs, or the portable code (tests).
enum class CharKernel { kBest, kPortable };

/// Writes `chunks` chunks of the characters of the string hashed `h` to `out`.
void WriteRandomChars(Charset charset, uint64_t h, int64_t chunks, char* out,
                      CharKernel kernel = CharKernel::kBest);

/// The strings of one column. Row r hashes to h = RowHash(stream, r); its string has
/// min_length + MulHi(h, length_span) characters, made from h.
struct RandomStringColumn {
  Charset charset = Charset::kAlnum;
  uint64_t stream = 0;
  int64_t min_length = 0;
  uint64_t length_span = 1;

  /// The strings of `spec` (its charset and lengths) drawn from `stream`.
  static RandomStringColumn Of(const GenerateConsumer::ColumnSpec& spec,
                               uint64_t stream) {
    return {spec.charset, stream, spec.min_length,
            static_cast<uint64_t>(spec.max_length - spec.min_length) + 1};
  }
};

/// The length of the string hashed `h`.
inline int64_t RandomStringLength(const RandomStringColumn& column, uint64_t h) {
  return column.min_length + static_cast<int64_t>(MulHi(h, column.length_span));
}

/// The string hashed `h`, whole (for dictionaries; rows use FillRandomStrings).
std::string RandomString(const RandomStringColumn& column, uint64_t h);

/// The strings of rows [first, first + n) in one pass, as a fixed number of chunks per
/// row whatever its length (no unpredictable branch per row): offsets[0..n] and the
/// characters. A row whose bit in `validity` is 0 is empty (validity may be null: all
/// valid). Returns the total length. REQUIRES: chunks is 1 or 2 and chunks *
/// kRandomCharChunk >= the longest string; `chars` has room for the total length + chunks
/// * kRandomCharChunk bytes.
int64_t FillRandomStrings(const RandomStringColumn& column, int64_t chunks, int64_t first,
                          int64_t n, const uint8_t* validity, int32_t* offsets,
                          char* chars, CharKernel kernel = CharKernel::kBest);

}  // namespace jetflow::generate_internal
