#include "jetflow/sources/generate/random_strings.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "jetflow/sources/generate/row_hash.h"

namespace jetflow::generate_internal {
namespace {

// The documented function, written out plainly: lane k of chunk j is murmur3's fmix32 of
// (lo + (8j + k + 1) * 0x9E3779B9) ^ hi; each byte, little-endian, maps into the charset.
std::string ReferenceChars(Charset charset, uint64_t h, int64_t chunks) {
  std::string out;
  for (int64_t j = 0; j < chunks; ++j) {
    for (uint32_t k = 0; k < 8; ++k) {
      uint32_t x = (static_cast<uint32_t>(h) +
                    (static_cast<uint32_t>(j) * 8 + k + 1) * 0x9E3779B9u) ^
                   static_cast<uint32_t>(h >> 32);
      x ^= x >> 16;
      x *= 0x85EBCA6Bu;
      x ^= x >> 13;
      x *= 0xC2B2AE35u;
      x ^= x >> 16;
      for (int b = 0; b < 4; ++b) {
        const uint32_t byte = (x >> (8 * b)) & 0xFF;
        if (charset == Charset::kText) {
          const uint32_t v = byte % 32;
          out.push_back(v < 26 ? static_cast<char>('a' + v) : ' ');
        } else {
          const std::string alnum =
              "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789yz";
          out.push_back(alnum[byte % 64]);
        }
      }
    }
  }
  return out;
}

std::string Chars(Charset charset, uint64_t h, int64_t chunks, CharKernel kernel) {
  std::string out(static_cast<size_t>(chunks * kRandomCharChunk), '\0');
  WriteRandomChars(charset, h, chunks, out.data(), kernel);
  return out;
}

TEST(RandomStringsTest, EveryKernelWritesTheDocumentedCharacters) {
  for (Charset charset : {Charset::kAlnum, Charset::kText}) {
    for (int64_t chunks = 1; chunks <= 3; ++chunks) {
      for (int64_t row = 0; row < 2000; ++row) {
        const uint64_t h = RowHash(0x1234, row);
        const std::string expected = ReferenceChars(charset, h, chunks);
        ASSERT_EQ(Chars(charset, h, chunks, CharKernel::kPortable), expected) << row;
        ASSERT_EQ(Chars(charset, h, chunks, CharKernel::kBest), expected) << row;
      }
    }
  }
}

TEST(RandomStringsTest, CharactersCoverTheCharsetEvenly) {
  std::map<char, int64_t> alnum, text;
  for (int64_t row = 0; row < 20000; ++row) {
    for (char c : Chars(Charset::kAlnum, RowHash(7, row), 2, CharKernel::kBest))
      ++alnum[c];
    for (char c : Chars(Charset::kText, RowHash(7, row), 2, CharKernel::kBest)) ++text[c];
  }
  // 20000 rows x 64 characters. alnum: 64 byte values on 62 characters, two each for 'y'
  // and 'z'; text: one byte value for each of 26 letters, six for the space.
  ASSERT_EQ(alnum.size(), 62u);
  for (const auto& [c, count] : alnum) {
    const double expected = 20000.0 * 64 / 64 * (c == 'y' || c == 'z' ? 2 : 1);
    EXPECT_NEAR(count, expected, expected * 0.1) << c;
  }
  ASSERT_EQ(text.size(), 27u);
  for (const auto& [c, count] : text) {
    const double expected = 20000.0 * 64 / 32 * (c == ' ' ? 6 : 1);
    EXPECT_NEAR(count, expected, expected * 0.1) << "'" << c << "'";
  }
}

// The one-pass fill gives each row the prefix of its hash's characters, a length in
// [min, max] and nothing for a null row, with either kernel.
TEST(RandomStringsTest, FillWritesEachRowsStringOfItsHash) {
  const int64_t n = 1000, first = 5'000'000;
  std::vector<uint8_t> validity((n + 7) / 8);
  for (int64_t i = 0; i < n; ++i) {
    if (i % 3 != 1) validity[i / 8] |= static_cast<uint8_t>(1u << (i % 8));
  }
  for (Charset charset : {Charset::kAlnum, Charset::kText}) {
    for (const auto& [min_length, max_length] :
         std::vector<std::pair<int64_t, int64_t>>{{0, 1}, {8, 24}, {32, 32}, {10, 64}}) {
      RandomStringColumn column;
      column.charset = charset;
      column.stream = 99;
      column.min_length = min_length;
      column.length_span = static_cast<uint64_t>(max_length - min_length) + 1;
      const int64_t chunks = RandomCharChunks(max_length);
      for (CharKernel kernel : {CharKernel::kPortable, CharKernel::kBest}) {
        std::vector<int32_t> offsets(n + 1);
        std::string chars(static_cast<size_t>(n * max_length + chunks * kRandomCharChunk),
                          '\0');
        const int64_t total = FillRandomStrings(column, chunks, first, n, validity.data(),
                                                offsets.data(), chars.data(), kernel);
        ASSERT_EQ(offsets[n], total);
        for (int64_t i = 0; i < n; ++i) {
          const int64_t length = offsets[i + 1] - offsets[i];
          if (i % 3 == 1) {
            ASSERT_EQ(length, 0) << i;
            continue;
          }
          ASSERT_GE(length, min_length) << i;
          ASSERT_LE(length, max_length) << i;
          const uint64_t h = RowHash(column.stream, first + i);
          ASSERT_EQ(length,
                    min_length + static_cast<int64_t>(MulHi(h, column.length_span)));
          ASSERT_EQ(chars.substr(offsets[i], length),
                    ReferenceChars(charset, h, chunks).substr(0, length))
              << "row " << i << " max_length " << max_length;
        }
      }
    }
  }
}

}  // namespace
}  // namespace jetflow::generate_internal
