#include "jetflow/sources/generate/random_strings.h"

#include <arrow/util/logging.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define JETFLOW_GENERATE_AVX2 1
#define JETFLOW_TARGET_AVX2 __attribute__((target("avx2")))
#endif

#include "jetflow/sources/generate/row_hash.h"

namespace jetflow::generate_internal {
namespace {

// Lane k (0-7) of chunk j is murmur3's 32-bit finaliser of (lo + (8j + k + 1) *
// kLaneStep) xor hi, where lo and hi are the halves of the row hash. The finaliser is a
// bijection, so the words of one string are all distinct and each is as uniform as the
// row hash. Its four bytes, little-endian, are four characters:
//
//   alnum: byte & 63: 0-25 -> 'A'-'Z', 26-51 -> 'a'-'z', 52-61 -> '0'-'9', 62, 63 -> 'y',
//          'z' (so 'y' and 'z' are twice as frequent as the other characters);
//   text:  byte & 31: 0-25 -> 'a'-'z', 26-31 -> ' ' (lowercase words, ~1 space in 5).
//
// No table lookups, no branches: a chunk is a handful of SIMD instructions.
constexpr uint32_t kLaneStep = 0x9E3779B9u;
constexpr uint32_t kFmixMul1 = 0x85EBCA6Bu, kFmixMul2 = 0xC2B2AE35u;

inline uint32_t Fmix32(uint32_t x) {
  x ^= x >> 16;
  x *= kFmixMul1;
  x ^= x >> 13;
  x *= kFmixMul2;
  return x ^ (x >> 16);
}

inline uint32_t LaneWord(uint64_t h, int64_t chunk, int lane) {
  const uint32_t counter = static_cast<uint32_t>(8 * chunk + lane + 1) * kLaneStep;
  return Fmix32((static_cast<uint32_t>(h) + counter) ^ static_cast<uint32_t>(h >> 32));
}

template <Charset kCharset>
inline char CharFor(uint32_t byte) {
  if constexpr (kCharset == Charset::kText) {
    const uint32_t v = byte & 31;
    return static_cast<char>(v < 26 ? 'a' + v : ' ');
  } else {
    const uint32_t v = byte & 63;
    return static_cast<char>(v < 26   ? 'A' + v
                             : v < 52 ? 'a' + (v - 26)
                             : v < 62 ? '0' + (v - 52)
                                      : 'y' + (v - 62));
  }
}

template <Charset kCharset>
inline void PortableChunk(uint64_t h, int64_t chunk, char* out) {
  for (int lane = 0; lane < 8; ++lane) {
    const uint32_t word = LaneWord(h, chunk, lane);
    for (int b = 0; b < 4; ++b) out[4 * lane + b] = CharFor<kCharset>(word >> (8 * b));
  }
}

inline int64_t Valid(const uint8_t* validity, int64_t i) {
  return validity == nullptr ? 1 : (validity[i >> 3] >> (i & 7)) & 1;
}

// Every row (null ones too) writes kChunks chunks at the current end, and the next row
// overwrites the excess: no branch on the length or the validity.
template <Charset kCharset, int64_t kChunks>
int64_t FillPortable(const RandomStringColumn& column, int64_t first, int64_t n,
                     const uint8_t* validity, int32_t* offsets, char* chars) {
  int64_t total = 0;
  for (int64_t i = 0; i < n; ++i) {
    offsets[i] = static_cast<int32_t>(total);
    const uint64_t h = RowHash(column.stream, first + i);
    for (int64_t j = 0; j < kChunks; ++j) {
      PortableChunk<kCharset>(h, j, chars + total + kRandomCharChunk * j);
    }
    total += RandomStringLength(column, h) * Valid(validity, i);
  }
  offsets[n] = static_cast<int32_t>(total);
  return total;
}

#if JETFLOW_GENERATE_AVX2
bool CpuHasAvx2() {
  static const bool has_avx2 = __builtin_cpu_supports("avx2");
  return has_avx2;
}

// The eight lane counters of chunk j, (8j + k + 1) * kLaneStep for k = 0..7.
JETFLOW_TARGET_AVX2 inline __m256i LaneCounters(int64_t chunk) {
  const __m256i lanes = _mm256_setr_epi32(1, 2, 3, 4, 5, 6, 7, 8);
  const __m256i index =
      _mm256_add_epi32(lanes, _mm256_set1_epi32(static_cast<int>(8 * chunk)));
  return _mm256_mullo_epi32(index, _mm256_set1_epi32(static_cast<int>(kLaneStep)));
}

template <Charset kCharset>
JETFLOW_TARGET_AVX2 inline void Avx2Chunk(__m256i lo, __m256i hi, __m256i counters,
                                          char* out) {
  __m256i x = _mm256_xor_si256(_mm256_add_epi32(lo, counters), hi);
  x = _mm256_xor_si256(x, _mm256_srli_epi32(x, 16));
  x = _mm256_mullo_epi32(x, _mm256_set1_epi32(static_cast<int>(kFmixMul1)));
  x = _mm256_xor_si256(x, _mm256_srli_epi32(x, 13));
  x = _mm256_mullo_epi32(x, _mm256_set1_epi32(static_cast<int>(kFmixMul2)));
  x = _mm256_xor_si256(x, _mm256_srli_epi32(x, 16));
  __m256i chars;
  if constexpr (kCharset == Charset::kText) {
    const __m256i v = _mm256_and_si256(x, _mm256_set1_epi8(31));
    const __m256i space = _mm256_cmpgt_epi8(v, _mm256_set1_epi8(25));
    chars = _mm256_blendv_epi8(_mm256_add_epi8(v, _mm256_set1_epi8('a')),
                               _mm256_set1_epi8(' '), space);
  } else {
    const __m256i v = _mm256_and_si256(x, _mm256_set1_epi8(63));
    // Byte-wise wrapping adds: 'A', then +6 from 26, -75 from 52, +63 from 62.
    __m256i add = _mm256_set1_epi8('A');
    add =
        _mm256_add_epi8(add, _mm256_and_si256(_mm256_cmpgt_epi8(v, _mm256_set1_epi8(25)),
                                              _mm256_set1_epi8(6)));
    add =
        _mm256_add_epi8(add, _mm256_and_si256(_mm256_cmpgt_epi8(v, _mm256_set1_epi8(51)),
                                              _mm256_set1_epi8(-75)));
    add =
        _mm256_add_epi8(add, _mm256_and_si256(_mm256_cmpgt_epi8(v, _mm256_set1_epi8(61)),
                                              _mm256_set1_epi8(63)));
    chars = _mm256_add_epi8(v, add);
  }
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(out), chars);
}

template <Charset kCharset>
JETFLOW_TARGET_AVX2 void Avx2Chars(uint64_t h, int64_t chunks, char* out) {
  const __m256i lo = _mm256_set1_epi32(static_cast<int>(static_cast<uint32_t>(h)));
  const __m256i hi = _mm256_set1_epi32(static_cast<int>(static_cast<uint32_t>(h >> 32)));
  for (int64_t j = 0; j < chunks; ++j) {
    Avx2Chunk<kCharset>(lo, hi, LaneCounters(j), out + kRandomCharChunk * j);
  }
}

// FillPortable's loop with the AVX2 chunk.
template <Charset kCharset, int64_t kChunks>
JETFLOW_TARGET_AVX2 int64_t FillAvx2(const RandomStringColumn& column, int64_t first,
                                     int64_t n, const uint8_t* validity, int32_t* offsets,
                                     char* chars) {
  __m256i counters[kChunks];
  for (int64_t j = 0; j < kChunks; ++j) counters[j] = LaneCounters(j);
  int64_t total = 0;
  for (int64_t i = 0; i < n; ++i) {
    offsets[i] = static_cast<int32_t>(total);
    const uint64_t h = RowHash(column.stream, first + i);
    const __m256i lo = _mm256_set1_epi32(static_cast<int>(static_cast<uint32_t>(h)));
    const __m256i hi =
        _mm256_set1_epi32(static_cast<int>(static_cast<uint32_t>(h >> 32)));
    for (int64_t j = 0; j < kChunks; ++j) {
      Avx2Chunk<kCharset>(lo, hi, counters[j], chars + total + kRandomCharChunk * j);
    }
    total += RandomStringLength(column, h) * Valid(validity, i);
  }
  offsets[n] = static_cast<int32_t>(total);
  return total;
}
#endif

template <Charset kCharset>
void Chars(uint64_t h, int64_t chunks, char* out, CharKernel kernel) {
#if JETFLOW_GENERATE_AVX2
  if (kernel == CharKernel::kBest && CpuHasAvx2())
    return Avx2Chars<kCharset>(h, chunks, out);
#endif
  (void)kernel;
  for (int64_t j = 0; j < chunks; ++j) {
    PortableChunk<kCharset>(h, j, out + kRandomCharChunk * j);
  }
}

template <Charset kCharset, int64_t kChunks>
int64_t Fill(const RandomStringColumn& column, int64_t first, int64_t n,
             const uint8_t* validity, int32_t* offsets, char* chars, CharKernel kernel) {
#if JETFLOW_GENERATE_AVX2
  if (kernel == CharKernel::kBest && CpuHasAvx2()) {
    return FillAvx2<kCharset, kChunks>(column, first, n, validity, offsets, chars);
  }
#endif
  (void)kernel;
  return FillPortable<kCharset, kChunks>(column, first, n, validity, offsets, chars);
}

}  // namespace

void WriteRandomChars(Charset charset, uint64_t h, int64_t chunks, char* out,
                      CharKernel kernel) {
  if (charset == Charset::kText) {
    Chars<Charset::kText>(h, chunks, out, kernel);
  } else {
    Chars<Charset::kAlnum>(h, chunks, out, kernel);
  }
}

std::string RandomString(const RandomStringColumn& column, uint64_t h) {
  const int64_t length = RandomStringLength(column, h);
  std::string value(static_cast<size_t>(kRandomCharChunk * RandomCharChunks(length)),
                    '\0');
  WriteRandomChars(column.charset, h, RandomCharChunks(length), value.data());
  value.resize(static_cast<size_t>(length));
  return value;
}

int64_t FillRandomStrings(const RandomStringColumn& column, int64_t chunks, int64_t first,
                          int64_t n, const uint8_t* validity, int32_t* offsets,
                          char* chars, CharKernel kernel) {
  ARROW_DCHECK(chunks == 1 || chunks == 2) << "FillRandomStrings: chunks " << chunks;
  const bool text = column.charset == Charset::kText;
  if (chunks == 1) {
    return text ? Fill<Charset::kText, 1>(column, first, n, validity, offsets, chars,
                                          kernel)
                : Fill<Charset::kAlnum, 1>(column, first, n, validity, offsets, chars,
                                           kernel);
  }
  return text
             ? Fill<Charset::kText, 2>(column, first, n, validity, offsets, chars, kernel)
             : Fill<Charset::kAlnum, 2>(column, first, n, validity, offsets, chars,
                                        kernel);
}

}  // namespace jetflow::generate_internal
