#include "jetflow/sources/invalid_utf8.h"

#include <arrow/util/utf8.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "jetflow/testing/status_assertions.h"

namespace jetflow::sources {
namespace {

using ::testing::HasSubstr;

std::string Replaced(const std::string& in) {
  std::string out(static_cast<size_t>(MaxReplacedSize(static_cast<int64_t>(in.size()))),
                  '\0');
  const int64_t n = ReplaceInvalidUtf8(reinterpret_cast<const uint8_t*>(in.data()),
                                       static_cast<int64_t>(in.size()),
                                       reinterpret_cast<uint8_t*>(out.data()));
  out.resize(static_cast<size_t>(n));
  return out;
}

std::optional<InvalidUtf8Position> Find(const std::string& in) {
  return FindInvalidUtf8(reinterpret_cast<const uint8_t*>(in.data()),
                         static_cast<int64_t>(in.size()));
}

const std::string kFffd = "\xef\xbf\xbd";

TEST(InvalidUtf8Test, ReplacesMaximalSubpartsLikeTheUnicodeStandard) {
  // Valid text is unchanged.
  for (const std::string& valid : std::vector<std::string>{
           "", "plain", "Zoë 東京 🙂", std::string("\0x", 2), "\xf4\x8f\xbf\xbf"}) {
    EXPECT_EQ(Replaced(valid), valid);
    EXPECT_FALSE(Find(valid).has_value());
  }
  // Unicode 15, table 3-8: each maximal subpart of an ill-formed sequence is one U+FFFD.
  EXPECT_EQ(Replaced("\x61\xf1\x80\x80\xe1\x80\xc2\x62\x80\x63\x80\xbf\x64"),
            "a" + kFffd + kFffd + kFffd + "b" + kFffd + "c" + kFffd + kFffd + "d");
  EXPECT_EQ(Replaced("a\xffz"), "a" + kFffd + "z");
  EXPECT_EQ(Replaced("\xe6\x97"), kFffd);          // truncated at the end
  EXPECT_EQ(Replaced("\xc0\xaf"), kFffd + kFffd);  // overlong: C0 starts nothing
  EXPECT_EQ(Replaced("\xed\xa0\x80"), kFffd + kFffd + kFffd);              // a surrogate
  EXPECT_EQ(Replaced("\xf4\x90\x80\x80"), kFffd + kFffd + kFffd + kFffd);  // > U+10FFFF
  EXPECT_EQ(Replaced("\xf0\x9f\x99"), kFffd);  // 🙂 missing its last byte

  auto at = Find("ab\xe6\x97z");
  ASSERT_TRUE(at.has_value());
  EXPECT_EQ(at->offset, 2);
  EXPECT_EQ(at->byte, 0xe6);
}

TEST(InvalidUtf8Test, AgreesWithArrowOnRandomBytes) {
  arrow::util::InitializeUTF8();
  std::mt19937 random(7);
  std::uniform_int_distribution<int> length(0, 12);
  // Bytes biased towards the interesting lead and continuation ranges.
  const std::vector<uint8_t> alphabet = {0x41, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf,
                                         0xc0, 0xc2, 0xdf, 0xe0, 0xe1, 0xed, 0xee,
                                         0xef, 0xf0, 0xf1, 0xf3, 0xf4, 0xf5, 0xff};
  std::uniform_int_distribution<size_t> pick(0, alphabet.size() - 1);
  for (int i = 0; i < 200000; ++i) {
    std::string bytes(static_cast<size_t>(length(random)), '\0');
    for (char& c : bytes) c = static_cast<char>(alphabet[pick(random)]);
    const bool valid = arrow::util::ValidateUTF8(bytes);
    ASSERT_EQ(!Find(bytes).has_value(), valid) << testing::PrintToString(bytes);
    const std::string replaced = Replaced(bytes);
    ASSERT_TRUE(arrow::util::ValidateUTF8(replaced)) << testing::PrintToString(bytes);
    if (valid) {
      ASSERT_EQ(replaced, bytes);
    }
  }
}

TEST(InvalidUtf8Test, ParsesOneDefaultOrPerColumnPolicies) {
  Diagnostics diagnostics;
  ConfigNode node = ConfigNode::Parse("invalid_utf8: replace\n", "p.yaml", &diagnostics);
  InvalidUtf8Options options = ParseInvalidUtf8(node);
  EXPECT_FALSE(diagnostics.has_errors());
  EXPECT_EQ(options.For("any"), InvalidUtf8::kReplace);

  node = ConfigNode::Parse(
      "invalid_utf8:\n  default: binary\n  columns: {a: error, \"b c\": replace}\n",
      "p.yaml", &diagnostics);
  options = ParseInvalidUtf8(node);
  EXPECT_FALSE(diagnostics.has_errors());
  EXPECT_EQ(options.For("a"), InvalidUtf8::kError);
  EXPECT_EQ(options.For("b c"), InvalidUtf8::kReplace);
  EXPECT_EQ(options.For("other"), InvalidUtf8::kBinary);
  ASSERT_EQ(options.columns.size(), 2u);
  EXPECT_EQ(options.columns[1].where.ToString(), "p.yaml:3:30");

  EXPECT_EQ(
      ParseInvalidUtf8(ConfigNode::Parse("x: 1\n", "p.yaml", &diagnostics)).For("a"),
      InvalidUtf8::kError);
  EXPECT_FALSE(diagnostics.has_errors());
}

TEST(InvalidUtf8Test, BadPoliciesAreConfigErrorsWithTheirPosition) {
  Diagnostics diagnostics;
  ParseInvalidUtf8(ConfigNode::Parse("invalid_utf8: replce\n", "p.yaml", &diagnostics));
  ParseInvalidUtf8(
      ConfigNode::Parse("invalid_utf8:\n  defualt: replace\n  columns: {a: bytes}\n",
                        "q.yaml", &diagnostics));
  ParseInvalidUtf8(
      ConfigNode::Parse("invalid_utf8: {columns: [a]}\n", "r.yaml", &diagnostics));
  const std::string text = diagnostics.ToStatus().message();
  EXPECT_THAT(text, HasSubstr("p.yaml:1:15: error: 'invalid_utf8' must be error, replace "
                              "or binary, not 'replce' (did you mean 'replace'?)"));
  EXPECT_THAT(text, HasSubstr("q.yaml:3:16: error: 'invalid_utf8.columns.a' must be"));
  EXPECT_THAT(text, HasSubstr("q.yaml:2:3"));  // the unknown key `defualt`
  EXPECT_THAT(text,
              HasSubstr("r.yaml:1:25: error: 'invalid_utf8.columns' must be a map"));
}

TEST(InvalidUtf8Test, PlanTimeCheckNamesUnknownColumnsAndColumnsWithoutText) {
  Diagnostics diagnostics;
  InvalidUtf8Options options =
      ParseInvalidUtf8(ConfigNode::Parse("invalid_utf8:\n  columns:\n    titel: "
                                         "replace\n    id: binary\n    title: binary\n",
                                         "p.yaml", &diagnostics));
  auto has_text = [](const std::string& name) { return name == "title"; };
  auto status = options.Check({"id", "title"}, has_text, "table t");
  ASSERT_TRUE(status.IsInvalid());
  EXPECT_THAT(status.message(),
              HasSubstr("p.yaml:3:12: invalid_utf8: 'titel' is not a column of table t "
                        "(did you mean 'title'?)"));
  EXPECT_THAT(
      status.message(),
      HasSubstr("p.yaml:4:9: invalid_utf8: column 'id' of table t holds no text"));
  JETFLOW_EXPECT_OK(InvalidUtf8Options{}.Check({"id"}, has_text, "table t"));
}

TEST(InvalidUtf8Test, MessageNamesTheOptionForTheColumn) {
  EXPECT_EQ(InvalidUtf8Description({3, 0xff}),
            "text value is not valid UTF-8 (byte 0xff at offset 3 of the value)");
  const std::string remedy = InvalidUtf8Remedy("title");
  EXPECT_THAT(remedy, HasSubstr("'invalid_utf8: replace'"));
  EXPECT_THAT(remedy, HasSubstr("'invalid_utf8: binary'"));
  EXPECT_THAT(remedy, HasSubstr("'invalid_utf8: {columns: {title: replace}}'"));
  EXPECT_THAT(InvalidUtf8Remedy("a b"), HasSubstr("{columns: {\"a b\": replace}}"));
}

}  // namespace
}  // namespace jetflow::sources
