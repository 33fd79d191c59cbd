// Checks, at run time, the Arrow C++ that jetflow is linked against: the version the
// build pinned, and the codecs and features the loaders rely on.
#include <arrow/config.h>
#include <arrow/util/compression.h>
#include <arrow/util/config.h>
#include <gtest/gtest.h>
#include <parquet/parquet_version.h>

namespace jetflow {
namespace {

TEST(ArrowBuildInfoTest, RuntimeMatchesHeadersAndHasCodecs) {
  const arrow::BuildInfo& info = arrow::GetBuildInfo();
  std::cout << "Arrow runtime " << info.version_string << " (" << info.compiler_id << " "
            << info.compiler_version << ", " << info.build_type << ")\n";
  EXPECT_GE(info.version_major, 21);
  // Headers and shared library must be the same release, or ABI mismatches lurk.
  EXPECT_EQ(info.version_string, ARROW_VERSION_STRING);
  EXPECT_TRUE(arrow::util::Codec::IsAvailable(arrow::Compression::ZSTD));
  EXPECT_TRUE(arrow::util::Codec::IsAvailable(arrow::Compression::SNAPPY));
  EXPECT_EQ(PARQUET_VERSION_MAJOR, info.version_major);
}

}  // namespace
}  // namespace jetflow
