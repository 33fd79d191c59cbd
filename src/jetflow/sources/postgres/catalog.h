// Catalog: the columns and types of a PostgreSQL table or query, as PgColumn trees.
//
// Tables are read from pg_attribute (attnum order, attnotnull, atttypid, atttypmod);
// queries from the server's description of the prepared statement (every column
// nullable). Each type is resolved through pg_type: domains to their base type (with the
// domain's typmod), arrays to their element type, enums to their labels in enumsortorder,
// composites to their attributes, ranges to their subtype.
//
// Threading: functions use the given connection only; one thread at a time.
#pragma once

#include <arrow/result.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "jetflow/sources/postgres/connection.h"
#include "jetflow/sources/postgres/pg_type.h"

namespace jetflow::postgres {

/// A table name as the user wrote it: "table", "schema.table", with optional double
/// quotes around either part ("My Schema"."T.1").
struct TableName {
  std::string schema;  // empty: the search_path decides
  std::string name;
  /// Quoted for SQL: "schema"."name" or "name".
  std::string Quoted() const;
  /// schema.name as written (unquoted), for messages.
  std::string ToString() const;
};

/// Invalid if `text` is empty, has an unterminated quote or more than two parts.
arrow::Result<TableName> ParseTableName(const std::string& text);

struct TableInfo {
  uint32_t oid = 0;
  /// "schema.name" as resolved by the server.
  std::string qualified_name;
  /// pg_class.relkind: 'r' table, 'p' partitioned table, 'v' view, 'm' materialized view,
  /// 'f' foreign table (no other kind is described).
  char relkind = 'r';
  std::vector<PgColumn> columns;
  /// The columns' pg_attribute.attndims: the dimensions an array column was declared
  /// with (`int[][]`: 2), 0 for other columns and for every column of a view.
  /// PostgreSQL does not enforce them. `columns` are nested accordingly.
  std::vector<int32_t> declared_dimensions;
  /// Names of the generated columns (`GENERATED ALWAYS AS (...)`), which `COPY table
  /// (...) TO` refuses.
  std::vector<std::string> generated_columns;
  /// pg_class.relhassubclass: the table may have inheritance children (or partitions),
  /// whose rows `SELECT` reads and `COPY table TO` does not.
  bool has_children = false;
};

class Catalog {
 public:
  /// REQUIRES: `conn` outlives this Catalog.
  explicit Catalog(PgConnection* conn) : conn_(conn) {}

  /// Invalid naming the table (with the closest existing table name as a suggestion) if
  /// it does not exist or is not readable; Invalid naming it and saying why if it is a
  /// relation no SELECT can read (an index, a composite type, a sequence, a TOAST table)
  /// or a materialized view that was never populated.
  arrow::Result<TableInfo> DescribeTable(const TableName& table);
  /// The columns `sql` returns, without running it. Invalid with the server's message if
  /// it does not prepare, or if two columns have the same name.
  arrow::Result<std::vector<PgColumn>> DescribeQuery(const std::string& sql);
  /// The type tree of (oid, typmod).
  arrow::Result<PgType> ResolveType(uint32_t oid, int32_t typmod, int depth = 0);

 private:
  struct TypeRow {
    char typtype = 'b';
    char typcategory = 'U';
    uint32_t typelem = 0;
    int32_t typlen = 0;
    uint32_t typbasetype = 0;
    int32_t typtypmod = -1;
    uint32_t typrelid = 0;
    uint32_t rngsubtype = 0;
    std::string name;
  };
  arrow::Result<TypeRow> LoadType(uint32_t oid);

  PgConnection* conn_;
  std::map<uint32_t, TypeRow> types_;
};

}  // namespace jetflow::postgres
