#include <arrow/api.h>
#include <arrow/extension/uuid.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "jetflow/sources/clickhouse/native_format.h"

namespace jetflow::clickhouse {
namespace {

using ::testing::HasSubstr;

ClickHouseType Parse(std::string_view text) {
  auto type = ParseClickHouseType(text);
  EXPECT_TRUE(type.ok()) << type.status().ToString();
  return type.ok() ? *type : ClickHouseType{};
}

std::string ArrowOf(std::string_view text) {
  auto type = ArrowTypeFor(Parse(text));
  if (!type.ok()) return "error: " + type.status().ToString();
  return (*type)->ToString();
}

TEST(ClickHouseTypeTest, ParsesNestedTypes) {
  ClickHouseType type = Parse("Map(String, Array(Nullable(Decimal(18, 4))))");
  EXPECT_EQ(type.name, "Map");
  ASSERT_EQ(type.children.size(), 2u);
  EXPECT_EQ(type.children[0].name, "String");
  const ClickHouseType& decimal = type.children[1].children[0].children[0];
  EXPECT_EQ(decimal.name, "Decimal");
  EXPECT_EQ(decimal.parameters, (std::vector<std::string>{"18", "4"}));
  EXPECT_EQ(decimal.spelling, "Decimal(18, 4)");
  EXPECT_EQ(type.spelling, "Map(String, Array(Nullable(Decimal(18, 4))))");
}

TEST(ClickHouseTypeTest, ParsesQuotedArgumentsWithEscapes) {
  ClickHouseType type = Parse(R"(Enum8('a\'q' = -1, 'b\\c' = 5, 'it''s'=7, '\x41' = 8))");
  EXPECT_EQ(type.parameters,
            (std::vector<std::string>{"a'q=-1", "b\\c=5", "it's=7", "A=8"}));
  EXPECT_EQ(Parse("DateTime('Europe/Moscow')").parameters,
            (std::vector<std::string>{"Europe/Moscow"}));
  EXPECT_EQ(Parse("DateTime64(3, 'Asia/Kolkata')").parameters,
            (std::vector<std::string>{"3", "Asia/Kolkata"}));
}

TEST(ClickHouseTypeTest, ParsesNamedTuplesAndWhitespace) {
  ClickHouseType type = Parse("  Tuple( a  UInt8 ,`b c` Array(String) )  ");
  EXPECT_EQ(type.child_names, (std::vector<std::string>{"a", "b c"}));
  ASSERT_EQ(type.children.size(), 2u);
  EXPECT_EQ(type.children[1].name, "Array");
  EXPECT_TRUE(Parse("Tuple(UInt8, String)").child_names.empty());
  ClickHouseType agg = Parse("SimpleAggregateFunction(anyLast, Nullable(UInt64))");
  EXPECT_EQ(agg.parameters, (std::vector<std::string>{"anyLast"}));
  EXPECT_EQ(agg.children[0].name, "Nullable");
  ClickHouseType quantiles = Parse("AggregateFunction(quantiles(0.5, 0.9), UInt64)");
  EXPECT_EQ(quantiles.parameters, (std::vector<std::string>{"quantiles(0.5, 0.9)"}));
}

TEST(ClickHouseTypeTest, ErrorsGiveThePosition) {
  auto missing = ParseClickHouseType("Array(UInt8");
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(missing.status().message(), HasSubstr("missing ')' at position 11"));
  auto garbage = ParseClickHouseType("UInt8 x");
  ASSERT_FALSE(garbage.ok());
  EXPECT_THAT(garbage.status().message(), HasSubstr("at position 6"));
  auto quote = ParseClickHouseType("Enum8('a = 1)");
  ASSERT_FALSE(quote.ok());
  EXPECT_THAT(quote.status().message(),
              HasSubstr("unterminated quoted string at position 6"));
  EXPECT_FALSE(ParseClickHouseType("").ok());
  EXPECT_FALSE(ParseClickHouseType("Array(1)").ok());
  EXPECT_FALSE(ParseClickHouseType("Tuple(a UInt8, String)").ok());
  std::string deep;
  for (int i = 0; i < 200; ++i) deep += "Array(";
  EXPECT_FALSE(ParseClickHouseType(deep + "UInt8").ok());
}

TEST(ClickHouseTypeTest, ComparesByStructure) {
  EXPECT_TRUE(SameClickHouseType(Parse("Decimal(18, 4)"), Parse("Decimal(18,4)")));
  EXPECT_TRUE(SameClickHouseType(Parse("Decimal32(2)"), Parse("Decimal(9, 2)")));
  EXPECT_TRUE(SameClickHouseType(Parse("Decimal256(3)"), Parse("Decimal(76, 3)")));
  EXPECT_FALSE(SameClickHouseType(Parse("Decimal(18, 4)"), Parse("Decimal(18, 3)")));
  EXPECT_TRUE(SameClickHouseType(Parse("Enum8('a' = 1)"), Parse("Enum8('a'=1)")));
  EXPECT_TRUE(SameClickHouseType(Parse("Array( Nullable(String))"),
                                 Parse("Array(Nullable(String))")));
  EXPECT_FALSE(
      SameClickHouseType(Parse("Array(String)"), Parse("Array(FixedString(2))")));
  EXPECT_TRUE(SameClickHouseType(Parse("DateTime('Asia/Tokyo')"), Parse("DateTime")));
  EXPECT_TRUE(SameClickHouseType(Parse("DateTime64(3, 'UTC')"), Parse("DateTime64(3)")));
  EXPECT_FALSE(SameClickHouseType(Parse("DateTime64(3)"), Parse("DateTime64(6)")));
  EXPECT_FALSE(SameClickHouseType(Parse("DateTime"), Parse("DateTime64(0)")));
  EXPECT_FALSE(SameClickHouseType(Parse("Tuple(a UInt8)"), Parse("Tuple(b UInt8)")));
}

TEST(ClickHouseTypeTest, ArrowTypes) {
  EXPECT_EQ(ArrowOf("Int8"), "int8");
  EXPECT_EQ(ArrowOf("UInt64"), "uint64");
  EXPECT_EQ(ArrowOf("Int128"), "decimal256(39, 0)");
  EXPECT_EQ(ArrowOf("UInt256"), "decimal256(76, 0)");
  EXPECT_EQ(ArrowOf("Float32"), "float");
  EXPECT_EQ(ArrowOf("Bool"), "bool");
  EXPECT_EQ(ArrowOf("Decimal(18, 4)"), "decimal128(18, 4)");
  EXPECT_EQ(ArrowOf("Decimal32(2)"), "decimal128(9, 2)");
  EXPECT_EQ(ArrowOf("Decimal256(10)"), "decimal256(76, 10)");
  EXPECT_EQ(ArrowOf("Decimal(40, 2)"), "decimal256(40, 2)");
  EXPECT_EQ(ArrowOf("String"), "string");
  EXPECT_EQ(ArrowOf("FixedString(16)"), "fixed_size_binary[16]");
  EXPECT_EQ(ArrowOf("Date"), "date32[day]");
  EXPECT_EQ(ArrowOf("Date32"), "date32[day]");
  EXPECT_EQ(ArrowOf("DateTime"), "timestamp[s, tz=UTC]");
  EXPECT_EQ(ArrowOf("DateTime('Asia/Tokyo')"), "timestamp[s, tz=Asia/Tokyo]");
  EXPECT_EQ(ArrowOf("DateTime64(0)"), "timestamp[s, tz=UTC]");
  EXPECT_EQ(ArrowOf("DateTime64(2, 'Europe/Berlin')"), "timestamp[ms, tz=Europe/Berlin]");
  EXPECT_EQ(ArrowOf("DateTime64(6)"), "timestamp[us, tz=UTC]");
  EXPECT_EQ(ArrowOf("DateTime64(9)"), "timestamp[ns, tz=UTC]");
  EXPECT_EQ(ArrowOf("UUID"), arrow::extension::uuid()->ToString());
  EXPECT_EQ(ArrowOf("IPv4"), "string");
  EXPECT_EQ(ArrowOf("IPv6"), "string");
  EXPECT_EQ(ArrowOf("Enum16('a' = -5)"),
            "dictionary<values=string, indices=int32, ordered=0>");
  EXPECT_EQ(ArrowOf("Nullable(Int32)"), "int32");
  EXPECT_EQ(ArrowOf("Nothing"), "null");
  EXPECT_EQ(ArrowOf("Nullable(Nothing)"), "null");
  EXPECT_EQ(ArrowOf("LowCardinality(Nullable(String))"),
            "dictionary<values=string, indices=int32, ordered=0>");
  EXPECT_EQ(ArrowOf("Array(Array(Nullable(String)))"),
            "list<item: list<item: string> not null>");
  EXPECT_EQ(ArrowOf("Tuple(a UInt8, b Nullable(String))"),
            "struct<a: uint8 not null, b: string>");
  EXPECT_EQ(ArrowOf("Tuple(UInt8, String)"),
            "struct<1: uint8 not null, 2: string not null>");
  EXPECT_EQ(ArrowOf("Map(String, UInt64)"), "map<string, uint64>");
  // The type of the empty literal [].
  EXPECT_EQ(ArrowOf("Array(Nothing)"), "list<item: null>");
  // flatten_nested = 0 keeps a Nested column whole: an array of named tuples.
  EXPECT_EQ(ArrowOf("Nested(a UInt8, `b c` Nullable(String))"),
            "list<item: struct<a: uint8 not null, b c: string> not null>");
  EXPECT_EQ(ArrowOf("SimpleAggregateFunction(sum, UInt64)"), "uint64");
}

TEST(ClickHouseTypeTest, StringsAreBinaryAtAnyDepthUnderInvalidUtf8Binary) {
  auto binary_of = [](std::string_view text) {
    auto type = ArrowTypeFor(Parse(text), sources::InvalidUtf8::kBinary);
    return type.ok() ? (*type)->ToString() : "error: " + type.status().ToString();
  };
  EXPECT_EQ(binary_of("String"), "binary");
  EXPECT_EQ(binary_of("Nullable(String)"), "binary");
  EXPECT_EQ(binary_of("Array(Array(String))"),
            "list<item: list<item: binary not null> not null>");
  EXPECT_EQ(binary_of("Tuple(a String, b UInt8)"),
            "struct<a: binary not null, b: uint8 not null>");
  EXPECT_EQ(binary_of("LowCardinality(Nullable(String))"),
            "dictionary<values=binary, indices=int32, ordered=0>");
  // What is not a String keeps its type: text jetflow formats, and bytes already.
  EXPECT_EQ(binary_of("IPv4"), "string");
  EXPECT_EQ(binary_of("Enum8('a' = 1)"),
            "dictionary<values=string, indices=int32, ordered=0>");
  EXPECT_EQ(binary_of("FixedString(3)"), "fixed_size_binary[3]");
  EXPECT_EQ(ArrowOf("Array(String)"), "list<item: string not null>");

  EXPECT_TRUE(HoldsString(Parse("Map(UInt8, Array(Nullable(String)))")));
  EXPECT_TRUE(HoldsString(Parse("SimpleAggregateFunction(any, String)")));
  EXPECT_FALSE(HoldsString(Parse("FixedString(3)")));
  EXPECT_FALSE(HoldsString(Parse("Tuple(UInt8, IPv6)")));
}

TEST(ClickHouseTypeTest, UnsupportedTypesAreNotImplemented) {
  for (const char* text :
       {"AggregateFunction(uniq, UInt64)", "Object('json')", "IntervalDay",
        "Nullable(Array(UInt8))", "Point", "LowCardinality(Array(String))", "Tuple()",
        "Variant(String, UInt64)", "JSON", "Dynamic", "BFloat16", "Time", "Time64(3)",
        "Nullable(Nested(a UInt8))", "Map(Nullable(String), UInt8)",
        "Map(Nothing, Nothing)"}) {
    auto type = ParseClickHouseType(text);
    ASSERT_TRUE(type.ok()) << text;
    auto arrow_type = ArrowTypeFor(*type);
    ASSERT_FALSE(arrow_type.ok()) << text;
    EXPECT_TRUE(arrow_type.status().IsNotImplemented()) << arrow_type.status().ToString();
    EXPECT_THAT(arrow_type.status().message(), HasSubstr(text));
  }
  for (const char* bad :
       {"FixedString(0)", "Decimal(77, 2)", "Decimal(10, 11)", "DateTime64(10)",
        "Int32(1)", "Map(String)", "Nested(UInt8, String)"}) {
    EXPECT_FALSE(ArrowTypeFor(Parse(bad)).ok()) << bad;
  }
}

}  // namespace
}  // namespace jetflow::clickhouse
