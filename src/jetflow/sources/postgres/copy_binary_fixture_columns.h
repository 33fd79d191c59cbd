// Column sets of the COPY binary fixtures: the queries that produced the seed corpus in
// fuzz_corpus/copy_binary_decoder_fuzz/ (PostgreSQL 15,
// docs/formats/postgres-copy-binary.md lists them), shared by the decoder's unit test,
// fuzz target and micro-benchmark. The user-defined types carry the OIDs they had on the
// server that wrote the fixtures.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "jetflow/sources/postgres/pg_type.h"

namespace jetflow::postgres::fixtures {

inline std::shared_ptr<const PgType> Base(uint32_t oid, std::string name,
                                          int32_t typmod = -1) {
  auto type = std::make_shared<PgType>();
  type->oid = oid;
  type->name = std::move(name);
  type->typmod = typmod;
  return type;
}

inline std::shared_ptr<const PgType> ArrayOf(std::shared_ptr<const PgType> element,
                                             uint32_t oid = 0) {
  auto type = std::make_shared<PgType>();
  type->kind = PgType::Kind::kArray;
  type->oid = oid;
  type->name = element->name + "[]";
  type->element = std::move(element);
  return type;
}

inline int32_t NumericTypmod(int precision, int scale) {
  return ((precision << 16) | (scale & 0x7ff)) + 4;
}

inline PgColumn Column(std::string name, std::shared_ptr<const PgType> type) {
  return PgColumn{std::move(name), *type, true};
}

/// Fixture 0: SELECT of every scalar type (q_scalars in the format document).
inline std::vector<PgColumn> ScalarColumns() {
  return {
      Column("c_bool", Base(pg_oid::kBool, "boolean")),
      Column("c_int2", Base(pg_oid::kInt2, "smallint")),
      Column("c_int4", Base(pg_oid::kInt4, "integer")),
      Column("c_int8", Base(pg_oid::kInt8, "bigint")),
      Column("c_float4", Base(pg_oid::kFloat4, "real")),
      Column("c_float8", Base(pg_oid::kFloat8, "double precision")),
      Column("c_oid", Base(pg_oid::kOid, "oid")),
      Column("c_num18_4", Base(pg_oid::kNumeric, "numeric(18,4)", NumericTypmod(18, 4))),
      Column("c_num", Base(pg_oid::kNumeric, "numeric")),
      Column("c_money", Base(pg_oid::kMoney, "money")),
      Column("c_text", Base(pg_oid::kText, "text")),
      Column("c_varchar", Base(pg_oid::kVarchar, "character varying(10)", 14)),
      Column("c_bpchar", Base(pg_oid::kBpchar, "character(3)", 7)),
      Column("c_name", Base(pg_oid::kName, "name")),
      Column("c_bytea", Base(pg_oid::kBytea, "bytea")),
      Column("c_json", Base(pg_oid::kJson, "json")),
      Column("c_jsonb", Base(pg_oid::kJsonb, "jsonb")),
      Column("c_uuid", Base(pg_oid::kUuid, "uuid"))};
}

/// Fixture 1: dates, times and intervals, with ±infinity.
inline std::vector<PgColumn> TemporalColumns() {
  return {Column("c_date", Base(pg_oid::kDate, "date")),
          Column("c_time", Base(pg_oid::kTime, "time")),
          Column("c_timetz", Base(pg_oid::kTimetz, "time with time zone")),
          Column("c_ts", Base(pg_oid::kTimestamp, "timestamp")),
          Column("c_tstz", Base(pg_oid::kTimestamptz, "timestamp with time zone")),
          Column("c_interval", Base(pg_oid::kInterval, "interval"))};
}

/// Fixture 2: network addresses and bit strings.
inline std::vector<PgColumn> NetworkColumns() {
  return {Column("c_inet", Base(pg_oid::kInet, "inet")),
          Column("c_cidr", Base(pg_oid::kCidr, "cidr")),
          Column("c_macaddr", Base(pg_oid::kMacaddr, "macaddr")),
          Column("c_macaddr8", Base(pg_oid::kMacaddr8, "macaddr8")),
          Column("c_bit", Base(pg_oid::kBit, "bit(8)", 8)),
          Column("c_varbit", Base(pg_oid::kVarbit, "bit varying"))};
}

inline std::shared_ptr<const PgType> MoodType() {
  auto mood = std::make_shared<PgType>();
  mood->kind = PgType::Kind::kEnum;
  mood->oid = 16385;
  mood->name = "mood";
  mood->enum_labels = {"sad", "ok", "happy"};
  return mood;
}

inline std::shared_ptr<const PgType> RangeOf(uint32_t oid, std::string name,
                                             std::shared_ptr<const PgType> element) {
  auto range = std::make_shared<PgType>();
  range->kind = PgType::Kind::kRange;
  range->oid = oid;
  range->name = std::move(name);
  range->element = std::move(element);
  return range;
}

/// Fixture 3: arrays (1-D, 2-D, of enums, of a domain), an enum, a nested composite,
/// ranges and a domain.
inline std::vector<PgColumn> NestedColumns() {
  auto inner = std::make_shared<PgType>();
  inner->kind = PgType::Kind::kComposite;
  inner->oid = 16393;
  inner->name = "inner_t";
  inner->fields = {{"a", Base(pg_oid::kInt4, "integer")},
                   {"b", Base(pg_oid::kText, "text")}};
  auto outer = std::make_shared<PgType>();
  outer->kind = PgType::Kind::kComposite;
  outer->oid = 16396;
  outer->name = "outer_t";
  outer->fields = {{"id", Base(pg_oid::kInt8, "bigint")},
                   {"inner_v", inner},
                   {"tags", ArrayOf(Base(pg_oid::kText, "text"), 1009)}};
  auto posint = std::make_shared<PgType>(*Base(pg_oid::kInt4, "posint"));
  posint->domain_oid = 16398;
  auto int4 = Base(pg_oid::kInt4, "integer");
  return {
      Column("c_int_arr", ArrayOf(int4, 1007)),
      Column("c_text_arr", ArrayOf(Base(pg_oid::kText, "text"), 1009)),
      Column("c_int_2d", ArrayOf(ArrayOf(int4, 1007), 1007)),
      Column("c_mood", MoodType()),
      Column("c_outer", outer),
      Column("c_int4range", RangeOf(3904, "int4range", int4)),
      Column("c_tstzrange",
             RangeOf(3910, "tstzrange", Base(pg_oid::kTimestamptz, "timestamptz"))),
      Column("c_numrange", RangeOf(3906, "numrange", Base(pg_oid::kNumeric, "numeric"))),
      Column("c_mood_arr", ArrayOf(MoodType(), 16384)),
      Column("c_posint", posint),
      Column("c_posint_arr", ArrayOf(posint, 16397))};
}

/// Fixture 4: the benchmark's 10-column mix.
inline std::vector<PgColumn> BenchColumns() {
  return {Column("id", Base(pg_oid::kInt8, "bigint")),
          Column("qty", Base(pg_oid::kInt4, "integer")),
          Column("ts", Base(pg_oid::kTimestamptz, "timestamp with time zone")),
          Column("amount", Base(pg_oid::kNumeric, "numeric(18,4)", NumericTypmod(18, 4))),
          Column("ratio", Base(pg_oid::kFloat8, "double precision")),
          Column("flag", Base(pg_oid::kBool, "boolean")),
          Column("name", Base(pg_oid::kText, "text")),
          Column("code", Base(pg_oid::kBpchar, "character(2)", 6)),
          Column("doc", Base(pg_oid::kJsonb, "jsonb")),
          Column("uid", Base(pg_oid::kUuid, "uuid"))};
}

/// Every fixture's columns, in corpus order (the fuzz input's first byte picks one).
inline std::vector<std::vector<PgColumn>> AllColumnSets() {
  return {ScalarColumns(), TemporalColumns(), NetworkColumns(), NestedColumns(),
          BenchColumns()};
}

}  // namespace jetflow::postgres::fixtures
