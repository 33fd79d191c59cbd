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
  /// 'f' foreign table.
  char relkind = 'r';
  std::vector<PgColumn> columns;
};

class Catalog {
 public:
  /// REQUIRES: `conn` outlives this Catalog.
  explicit Catalog(PgConnection* conn) : conn_(conn) {}

  /// Invalid naming the table (with the closest existing table name as a suggestion) if
  /// it does not exist or is not readable.
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
