#include "jetflow/core/type_name.h"

#include <arrow/api.h>
#include <arrow/extension/bool8.h>
#include <arrow/extension/json.h>
#include <arrow/extension/uuid.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace jetflow {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::string Message(std::string_view text) {
  auto type = ParseTypeName(text);
  EXPECT_TRUE(type.status().IsInvalid()) << text << " parsed as " << (*type)->ToString();
  return type.status().message();
}

void ExpectParses(std::string_view text, const std::shared_ptr<arrow::DataType>& type) {
  auto parsed = ParseTypeName(text);
  ASSERT_TRUE(parsed.ok()) << text << ": " << parsed.status().ToString();
  EXPECT_TRUE((*parsed)->Equals(*type, /*check_metadata=*/true))
      << text << " -> " << (*parsed)->ToString() << ", expected " << type->ToString();
}

// Every type jetflow's stages produce or its loaders write, printed by Arrow and parsed
// back: a type copied from an error message or a schema printout means itself.
TEST(TypeNameTest, ParsesWhatArrowPrints) {
  const std::vector<std::shared_ptr<arrow::DataType>> types = {
      arrow::null(),
      arrow::boolean(),
      arrow::int8(),
      arrow::int16(),
      arrow::int32(),
      arrow::int64(),
      arrow::uint8(),
      arrow::uint16(),
      arrow::uint32(),
      arrow::uint64(),
      arrow::float16(),
      arrow::float32(),
      arrow::float64(),
      arrow::utf8(),
      arrow::large_utf8(),
      arrow::utf8_view(),
      arrow::binary(),
      arrow::large_binary(),
      arrow::binary_view(),
      arrow::fixed_size_binary(16),
      arrow::date32(),
      arrow::date64(),
      arrow::time32(arrow::TimeUnit::SECOND),
      arrow::time32(arrow::TimeUnit::MILLI),
      arrow::time64(arrow::TimeUnit::MICRO),
      arrow::time64(arrow::TimeUnit::NANO),
      arrow::timestamp(arrow::TimeUnit::SECOND),
      arrow::timestamp(arrow::TimeUnit::MILLI),
      arrow::timestamp(arrow::TimeUnit::MICRO),
      arrow::timestamp(arrow::TimeUnit::NANO),
      arrow::timestamp(arrow::TimeUnit::MICRO, "UTC"),
      arrow::timestamp(arrow::TimeUnit::NANO, "UTC"),
      arrow::timestamp(arrow::TimeUnit::SECOND, "Asia/Kolkata"),
      arrow::timestamp(arrow::TimeUnit::MILLI, "America/New_York"),
      arrow::timestamp(arrow::TimeUnit::MICRO, "+05:30"),
      arrow::duration(arrow::TimeUnit::SECOND),
      arrow::duration(arrow::TimeUnit::NANO),
      arrow::month_interval(),
      arrow::day_time_interval(),
      arrow::month_day_nano_interval(),
      arrow::decimal32(9, 2),
      arrow::decimal64(18, 4),
      arrow::decimal128(12, 2),
      arrow::decimal128(38, 0),
      arrow::decimal128(20, 0),
      arrow::decimal256(39, 0),
      arrow::decimal256(76, 10),
      arrow::list(arrow::int32()),
      arrow::list(arrow::field("element", arrow::utf8(), /*nullable=*/false)),
      arrow::list(arrow::list(arrow::timestamp(arrow::TimeUnit::MICRO, "UTC"))),
      arrow::large_list(arrow::utf8()),
      arrow::list_view(arrow::int64()),
      arrow::large_list_view(arrow::float64()),
      arrow::fixed_size_list(arrow::float32(), 3),
      arrow::struct_({}),
      arrow::struct_({arrow::field("a", arrow::int32()),
                      arrow::field("b", arrow::utf8(), /*nullable=*/false)}),
      arrow::struct_({arrow::field("months", arrow::int32(), false),
                      arrow::field("days", arrow::int32(), false),
                      arrow::field("nanoseconds", arrow::int64(), false)}),
      arrow::struct_(
          {arrow::field("Mixed Case", arrow::date32()),
           arrow::field("1", arrow::uint32(), false),
           arrow::field("nested", arrow::struct_({arrow::field(
                                      "ts", arrow::timestamp(arrow::TimeUnit::SECOND,
                                                             "+05:30"))}))}),
      arrow::list(arrow::struct_({arrow::field("k", arrow::utf8()),
                                  arrow::field("v", arrow::list(arrow::int8()))})),
      arrow::map(arrow::utf8(), arrow::int32()),
      arrow::map(arrow::utf8(), arrow::int32(), /*keys_sorted=*/true),
      arrow::map(arrow::int64(), arrow::list(arrow::map(arrow::utf8(), arrow::utf8()))),
      arrow::dictionary(arrow::int32(), arrow::utf8()),
      arrow::dictionary(arrow::int8(), arrow::utf8(), /*ordered=*/true),
      arrow::dictionary(arrow::int32(), arrow::date32()),
      arrow::extension::uuid(),
      arrow::extension::bool8(),
      arrow::extension::json(arrow::utf8()),
      arrow::list(arrow::extension::uuid()),
  };
  for (const auto& type : types) {
    const std::string text = type->ToString();
    auto parsed = ParseTypeName(text);
    ASSERT_TRUE(parsed.ok()) << text << ": " << parsed.status().ToString();
    EXPECT_TRUE((*parsed)->Equals(*type)) << text << " -> " << (*parsed)->ToString();
    EXPECT_EQ((*parsed)->ToString(), text);
  }
}

// Spellings of loaders' declared schemas, the cast and constant transformers and
// pipeline tests before the grammar was shared; they keep their meaning.
TEST(TypeNameTest, ParsesDeclaredSchemaSpellings) {
  ExpectParses("int8", arrow::int8());
  ExpectParses("int64", arrow::int64());
  ExpectParses("uint32", arrow::uint32());
  ExpectParses("float", arrow::float32());
  ExpectParses("float32", arrow::float32());
  ExpectParses("double", arrow::float64());
  ExpectParses("float64", arrow::float64());
  ExpectParses("bool", arrow::boolean());
  ExpectParses("boolean", arrow::boolean());
  ExpectParses("string", arrow::utf8());
  ExpectParses("utf8", arrow::utf8());
  ExpectParses("binary", arrow::binary());
  ExpectParses("date", arrow::date32());
  ExpectParses("date32", arrow::date32());
  ExpectParses("timestamp[us]", arrow::timestamp(arrow::TimeUnit::MICRO));
  ExpectParses("timestamp[ms]", arrow::timestamp(arrow::TimeUnit::MILLI));
  ExpectParses("timestamp[ns]", arrow::timestamp(arrow::TimeUnit::NANO));
  ExpectParses("timestamp[us, UTC]", arrow::timestamp(arrow::TimeUnit::MICRO, "UTC"));
  ExpectParses("timestamp[us,America/New_York]",
               arrow::timestamp(arrow::TimeUnit::MICRO, "America/New_York"));
  ExpectParses("decimal(10,2)", arrow::decimal128(10, 2));
  ExpectParses("decimal( 38 , 0 )", arrow::decimal128(38, 0));
  ExpectParses("decimal(50,10)", arrow::decimal256(50, 10));
  ExpectParses("list<int32>", arrow::list(arrow::int32()));
  ExpectParses("list<list<timestamp[us, UTC]>>",
               arrow::list(arrow::list(arrow::timestamp(arrow::TimeUnit::MICRO, "UTC"))));
  ExpectParses(" INT64 ", arrow::int64());
}

// Spellings of consumers' `columns:` overrides and generated columns.
TEST(TypeNameTest, ParsesSourceColumnSpellings) {
  ExpectParses("timestamp", arrow::timestamp(arrow::TimeUnit::MICRO, "UTC"));
  ExpectParses("TIMESTAMP", arrow::timestamp(arrow::TimeUnit::MICRO, "UTC"));
  ExpectParses("timestamp[us, tz=UTC]", arrow::timestamp(arrow::TimeUnit::MICRO, "UTC"));
  ExpectParses("timestamp[ns, tz=utc]", arrow::timestamp(arrow::TimeUnit::NANO, "UTC"));
  ExpectParses("Timestamp[MS, utc]", arrow::timestamp(arrow::TimeUnit::MILLI, "UTC"));
  ExpectParses("int", arrow::int32());
  ExpectParses("bigint", arrow::int64());
  ExpectParses("long", arrow::int64());
  ExpectParses("text", arrow::utf8());
  ExpectParses("large_string", arrow::large_utf8());
  ExpectParses("decimal(12)", arrow::decimal128(12, 0));
  ExpectParses("decimal128(12, 2)", arrow::decimal128(12, 2));
  ExpectParses("numeric(12,2)", arrow::decimal128(12, 2));
  ExpectParses("Decimal(5, 1)", arrow::decimal128(5, 1));
}

// Spellings of CAST(x AS type) in expressions (SQL names; precision in digits).
TEST(TypeNameTest, ParsesSqlSpellings) {
  ExpectParses("tinyint", arrow::int8());
  ExpectParses("smallint", arrow::int16());
  ExpectParses("integer", arrow::int32());
  ExpectParses("real", arrow::float32());
  ExpectParses("varchar", arrow::utf8());
  ExpectParses("varchar(20)", arrow::utf8());
  ExpectParses("numeric(40, 2)", arrow::decimal256(40, 2));
  ExpectParses("timestamp(0)", arrow::timestamp(arrow::TimeUnit::SECOND));
  ExpectParses("timestamp(3)", arrow::timestamp(arrow::TimeUnit::MILLI));
  ExpectParses("timestamp(6)", arrow::timestamp(arrow::TimeUnit::MICRO));
  ExpectParses("timestamp(9)", arrow::timestamp(arrow::TimeUnit::NANO));
  ExpectParses("timestamptz", arrow::timestamp(arrow::TimeUnit::MICRO, "UTC"));
  ExpectParses("timestamptz(3)", arrow::timestamp(arrow::TimeUnit::MILLI, "UTC"));
}

TEST(TypeNameTest, ParsesNestedShortForms) {
  ExpectParses("list<int32 not null>",
               arrow::list(arrow::field("item", arrow::int32(), false)));
  ExpectParses("LIST<Item: INT32 NOT NULL>",
               arrow::list(arrow::field("Item", arrow::int32(), false)));
  ExpectParses("struct<id: int64 not null, tags: list<string>>",
               arrow::struct_({arrow::field("id", arrow::int64(), false),
                               arrow::field("tags", arrow::list(arrow::utf8()))}));
  ExpectParses("map<string, decimal(10, 2)>",
               arrow::map(arrow::utf8(), arrow::decimal128(10, 2)));
  ExpectParses("fixed_size_binary(16)", arrow::fixed_size_binary(16));
  ExpectParses("dictionary<values=string, indices=int16>",
               arrow::dictionary(arrow::int16(), arrow::utf8()));
  ExpectParses("float16", arrow::float16());
  ExpectParses("large_utf8", arrow::large_utf8());
}

TEST(TypeNameTest, RejectsUnknownNamesListingTheAcceptedForms) {
  const std::string typo = Message("in64");
  EXPECT_THAT(typo, HasSubstr("unknown type 'in64' (did you mean 'int64'?)"));
  EXPECT_THAT(typo, HasSubstr("timestamp[unit, zone]"));
  EXPECT_THAT(typo, HasSubstr("decimal(p, s)"));
  EXPECT_THAT(typo, HasSubstr("docs/types.md"));
  EXPECT_THAT(typo, Not(HasSubstr("invalid type")));  // the name is the whole text
  EXPECT_THAT(Message("list<strng>"),
              HasSubstr("invalid type 'list<strng>': unknown type 'strng' (did you mean "
                        "'string'?)"));
  EXPECT_THAT(Message(""), HasSubstr("missing type name; expected bool"));
  EXPECT_THAT(Message("   "), HasSubstr("missing type name"));
}

TEST(TypeNameTest, RejectsMalformedParametersClearly) {
  EXPECT_THAT(Message("timestamp[xs]"), HasSubstr("time unit must be s, ms, us or ns"));
  EXPECT_THAT(Message("timestamp[us, Mars/Olympus_Mons]"),
              HasSubstr("unknown time zone 'Mars/Olympus_Mons'"));
  EXPECT_THAT(Message("timestamp[us, ]"), HasSubstr("empty time zone"));
  EXPECT_THAT(Message("timestamp[us, UTC"), HasSubstr("missing ']'"));
  EXPECT_THAT(Message("timestamp(4)"), HasSubstr("precision must be 0, 3, 6 or 9"));
  EXPECT_THAT(Message("time32[us]"), HasSubstr("expected time32[s] or time32[ms]"));
  EXPECT_THAT(Message("decimal"), HasSubstr("decimal needs a precision"));
  EXPECT_THAT(Message("decimal(3,5)"), HasSubstr("scale"));
  EXPECT_THAT(Message("decimal(0,0)"), HasSubstr("precision must be between 1 and 76"));
  EXPECT_THAT(Message("decimal(77,0)"), HasSubstr("precision must be between 1 and 76"));
  EXPECT_THAT(Message("decimal128(39, 0)"),
              HasSubstr("decimal128 precision must be between 1 and 38, got 39"));
  EXPECT_THAT(Message("decimal32(10, 0)"), HasSubstr("between 1 and 9"));
  EXPECT_THAT(Message("decimal(x)"), HasSubstr("expected a number"));
  EXPECT_THAT(Message("decimal(5,-1)"), HasSubstr("expected a number"));
  EXPECT_THAT(Message("list<int32"), HasSubstr("expected '>' in list<T>, found the end"));
  EXPECT_THAT(Message("list<>"), HasSubstr("expected a type name at '>'"));
  EXPECT_THAT(Message("struct<int32>"), HasSubstr("expected 'name: type'"));
  EXPECT_THAT(Message("map<string>"), HasSubstr("expected ',' in map<K, V>"));
  EXPECT_THAT(Message("dictionary<values=string, indices=float32>"),
              HasSubstr("invalid type"));
  EXPECT_THAT(Message("extension<arrow.nope>"),
              HasSubstr("unknown extension type 'arrow.nope'"));
  EXPECT_THAT(Message("list<int32 not nul>"), HasSubstr("expected 'not null'"));
  EXPECT_THAT(Message("int32 extra"), HasSubstr("unexpected 'extra' after int32"));
  EXPECT_THAT(Message("int(5)"), HasSubstr("unexpected '(5)' after int32"));
  EXPECT_THAT(Message(std::string(100, '[')), HasSubstr("expected a type name"));
  std::string deep;
  for (int i = 0; i < 100; ++i) deep += "list<";
  EXPECT_THAT(Message(deep + "int32" + std::string(100, '>')),
              HasSubstr("nested too deeply"));
}

}  // namespace
}  // namespace jetflow
