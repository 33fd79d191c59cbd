#include "jetflow/sources/postgres/catalog.h"

#include <libpq-fe.h>

#include <cstdint>
#include <optional>
#include <set>
#include <string>

#include "jetflow/core/config_node.h"

namespace jetflow::postgres {

namespace {

// An OID of a catalog answer (NULL: 0, as in a LEFT JOIN without a match).
arrow::Result<uint32_t> ToOid(const std::optional<std::string>& text,
                              const std::string& what) {
  if (!text) return 0;
  ARROW_ASSIGN_OR_RAISE(int64_t value, ServerInt(text, what));
  if (value < 0 || value > UINT32_MAX) {
    return arrow::Status::SerializationError("unexpected answer of the server: OID ",
                                             value, " out of range (", what, ")");
  }
  return static_cast<uint32_t>(value);
}

// A 32-bit integer of a catalog answer (NULL: `fallback`).
arrow::Result<int32_t> ToInt(const std::optional<std::string>& text,
                             const std::string& what, int32_t fallback = -1) {
  if (!text) return fallback;
  ARROW_ASSIGN_OR_RAISE(int64_t value, ServerInt(text, what));
  if (value < INT32_MIN || value > INT32_MAX) {
    return arrow::Status::SerializationError("unexpected answer of the server: ", value,
                                             " is not a 32-bit integer (", what, ")");
  }
  return static_cast<int32_t>(value);
}

// What a relation of `relkind` is, for a message, if it is not of a kind the consumer
// reads (an index or a composite type has no rows a SELECT could read); nullopt for the
// kinds it reads.
std::optional<std::string> UnreadableKind(char relkind) {
  switch (relkind) {
    case 'r':
    case 'p':
    case 'v':
    case 'm':
    case 'f':
      return std::nullopt;
    case 'i':
      return "an index";
    case 'I':
      return "a partitioned index";
    case 'S':
      return "a sequence";
    case 't':
      return "a TOAST table";
    case 'c':
      return "a composite type";
    default:
      return std::string("a relation of kind '") + relkind + "'";
  }
}

}  // namespace

std::string TableName::Quoted() const {
  return schema.empty() ? QuoteIdentifier(name)
                        : QuoteIdentifier(schema) + "." + QuoteIdentifier(name);
}

std::string TableName::ToString() const {
  return schema.empty() ? name : schema + "." + name;
}

arrow::Result<TableName> ParseTableName(const std::string& text) {
  std::vector<std::string> parts(1);
  bool quoted = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
        parts.back().push_back('"');
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        parts.back().push_back(c);
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == '.') {
      parts.emplace_back();
    } else {
      // Unquoted identifiers fold to lower case, as in SQL.
      parts.back().push_back(
          static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    }
  }
  if (quoted)
    return arrow::Status::Invalid("unterminated quote in table name '", text, "'");
  if (parts.size() > 2) {
    return arrow::Status::Invalid("table name '", text,
                                  "' has more than two parts: write schema.table");
  }
  for (const auto& part : parts) {
    if (part.empty()) return arrow::Status::Invalid("malformed table name '", text, "'");
  }
  TableName name;
  if (parts.size() == 2) name.schema = parts[0];
  name.name = parts.back();
  return name;
}

arrow::Result<TableInfo> Catalog::DescribeTable(const TableName& table) {
  ARROW_ASSIGN_OR_RAISE(
      auto rows,
      conn_->Query(
          "SELECT c.oid, c.relkind, quote_ident(n.nspname) || '.' || "
          "quote_ident(c.relname), c.relispopulated, c.relhassubclass FROM pg_class c "
          "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = to_regclass($1)",
          {table.Quoted()}, "cannot look up table " + table.ToString()));
  ARROW_RETURN_NOT_OK(ExpectColumns(rows, 5, "pg_class of table " + table.ToString()));
  if (rows.empty()) {
    ARROW_ASSIGN_OR_RAISE(
        auto names,
        conn_->Query(
            "SELECT CASE WHEN n.nspname = current_schema() THEN c.relname ELSE "
            "n.nspname || '.' || c.relname END FROM pg_class c JOIN pg_namespace "
            "n ON n.oid = c.relnamespace WHERE c.relkind IN ('r','p','v','m','f') "
            "AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
            "AND n.nspname NOT LIKE 'pg_toast%' LIMIT 10000",
            "cannot list tables"));
    ARROW_RETURN_NOT_OK(ExpectColumns(names, 1, "the list of tables"));
    std::vector<std::string> candidates;
    candidates.reserve(names.size());
    for (const auto& row : names) candidates.push_back(row[0].value_or(""));
    auto suggestion = ClosestMatch(table.ToString(), candidates);
    return arrow::Status::Invalid(
        "PostgreSQL table not found: ", table.ToString(),
        suggestion ? " (did you mean '" + *suggestion + "'?)" : "");
  }
  TableInfo info;
  ARROW_ASSIGN_OR_RAISE(info.oid,
                        ToOid(rows[0][0], "pg_class.oid of table " + table.ToString()));
  info.relkind = rows[0][1].value_or("r")[0];
  info.qualified_name = rows[0][2].value_or(table.ToString());
  info.has_children = rows[0][4].value_or("f") == "t";
  if (auto kind = UnreadableKind(info.relkind)) {
    return arrow::Status::Invalid(
        "PostgreSQL relation ", table.ToString(), " is ", *kind,
        ", not a table: `table:` names a table, partitioned table, view, materialized "
        "view or foreign table");
  }
  if (info.relkind == 'm' && rows[0][3].value_or("t") != "t") {
    return arrow::Status::Invalid(
        "materialized view ", table.ToString(),
        " has not been populated (created WITH NO DATA), so no query can read it: run "
        "REFRESH MATERIALIZED VIEW ",
        info.qualified_name, " first");
  }
  // Generated columns exist since PostgreSQL 12.
  const std::string generated =
      PQserverVersion(conn_->get()) >= 120000 ? "attgenerated <> ''" : "false";
  ARROW_ASSIGN_OR_RAISE(
      auto columns,
      conn_->Query("SELECT attname, atttypid, atttypmod, attnotnull, attndims, " +
                       generated +
                       " FROM pg_attribute WHERE attrelid = $1 AND attnum > 0 AND NOT "
                       "attisdropped ORDER BY attnum",
                   {std::to_string(info.oid)},
                   "cannot read the columns of table " + table.ToString()));
  const std::string attributes = "pg_attribute of table " + table.ToString();
  ARROW_RETURN_NOT_OK(ExpectColumns(columns, 6, attributes));
  for (const auto& row : columns) {
    PgColumn column;
    column.name = row[0].value_or("");
    const std::string where = attributes + ", column " + column.name;
    ARROW_ASSIGN_OR_RAISE(uint32_t type_oid, ToOid(row[1], where));
    ARROW_ASSIGN_OR_RAISE(int32_t typmod, ToInt(row[2], where));
    ARROW_ASSIGN_OR_RAISE(column.type, ResolveType(type_oid, typmod));
    column.nullable = row[3].value_or("f") != "t";
    // A column declared int[][] (attndims 2) is planned as 2-D: one more list level per
    // dimension. (The consumer checks this against the data: see array_dimensions.)
    ARROW_ASSIGN_OR_RAISE(int32_t declared_dims, ToInt(row[4], where, 0));
    if (column.type.kind == PgType::Kind::kArray && declared_dims > 1 &&
        declared_dims <= kMaxArrayDimensions) {
      column.type = WithArrayDimensions(column.type, declared_dims);
    }
    if (row[5].value_or("f") == "t") info.generated_columns.push_back(column.name);
    info.declared_dimensions.push_back(declared_dims);
    info.columns.push_back(std::move(column));
  }
  if (info.columns.empty()) {
    return arrow::Status::Invalid("PostgreSQL table ", table.ToString(),
                                  " has no columns");
  }
  return info;
}

arrow::Result<std::vector<PgColumn>> Catalog::DescribeQuery(const std::string& sql) {
  PgResult prepared(PQprepare(conn_->get(), "", sql.c_str(), 0, nullptr));
  if (!prepared || PQresultStatus(prepared.get()) != PGRES_COMMAND_OK) {
    return PgStatus(conn_->get(), prepared.get(), "the query does not prepare");
  }
  PgResult described(PQdescribePrepared(conn_->get(), ""));
  if (!described || PQresultStatus(described.get()) != PGRES_COMMAND_OK) {
    return PgStatus(conn_->get(), described.get(), "cannot describe the query");
  }
  const int n = PQnfields(described.get());
  if (n == 0) return arrow::Status::Invalid("the query returns no columns");
  std::vector<PgColumn> columns;
  std::set<std::string> names;
  for (int i = 0; i < n; ++i) {
    PgColumn column;
    column.name = PQfname(described.get(), i);
    if (!names.insert(column.name).second) {
      return arrow::Status::Invalid("the query returns more than one column named '",
                                    column.name, "': give each column a distinct alias");
    }
    ARROW_ASSIGN_OR_RAISE(column.type, ResolveType(PQftype(described.get(), i),
                                                   PQfmod(described.get(), i)));
    column.nullable = true;
    columns.push_back(std::move(column));
  }
  return columns;
}

arrow::Result<Catalog::TypeRow> Catalog::LoadType(uint32_t oid) {
  auto found = types_.find(oid);
  if (found != types_.end()) return found->second;
  ARROW_ASSIGN_OR_RAISE(
      auto rows,
      conn_->Query("SELECT t.typtype, t.typcategory, t.typelem, t.typlen, t.typbasetype, "
                   "t.typtypmod, t.typrelid, r.rngsubtype, format_type(t.oid, NULL) "
                   "FROM pg_type t LEFT JOIN pg_range r ON r.rngtypid = t.oid "
                   "WHERE t.oid = $1",
                   {std::to_string(oid)}, "cannot look up type " + std::to_string(oid)));
  if (rows.empty()) {
    return arrow::Status::Invalid("PostgreSQL type with OID ", oid, " not found");
  }
  const std::string where = "pg_type of type " + std::to_string(oid);
  ARROW_RETURN_NOT_OK(ExpectColumns(rows, 9, where));
  const auto& row = rows[0];
  TypeRow type;
  type.typtype = row[0].value_or("b")[0];
  type.typcategory = row[1].value_or("U")[0];
  ARROW_ASSIGN_OR_RAISE(type.typelem, ToOid(row[2], where));
  ARROW_ASSIGN_OR_RAISE(type.typlen, ToInt(row[3], where, 0));
  ARROW_ASSIGN_OR_RAISE(type.typbasetype, ToOid(row[4], where));
  ARROW_ASSIGN_OR_RAISE(type.typtypmod, ToInt(row[5], where));
  ARROW_ASSIGN_OR_RAISE(type.typrelid, ToOid(row[6], where));
  ARROW_ASSIGN_OR_RAISE(type.rngsubtype, ToOid(row[7], where));
  type.name = row[8].value_or(std::to_string(oid));
  types_[oid] = type;
  return type;
}

arrow::Result<PgType> Catalog::ResolveType(uint32_t oid, int32_t typmod, int depth) {
  if (depth > 32) {
    return arrow::Status::Invalid("PostgreSQL type ", oid, " nests more than 32 levels");
  }
  ARROW_ASSIGN_OR_RAISE(TypeRow row, LoadType(oid));
  if (row.typtype == 'd') {
    // A domain travels as its base type; the domain's own typmod applies.
    ARROW_ASSIGN_OR_RAISE(
        PgType base,
        ResolveType(row.typbasetype, typmod >= 0 ? typmod : row.typtypmod, depth + 1));
    if (base.domain_oid == 0) base.domain_oid = oid;
    return base;
  }
  PgType type;
  type.oid = oid;
  type.typmod = typmod;
  if (typmod >= 0) {
    ARROW_ASSIGN_OR_RAISE(auto named,
                          conn_->Query("SELECT format_type($1, $2)",
                                       {std::to_string(oid), std::to_string(typmod)},
                                       "cannot format type " + row.name));
    ARROW_RETURN_NOT_OK(ExpectColumns(named, 1, "format_type of " + row.name));
    type.name = named.empty() ? row.name : named[0][0].value_or(row.name);
  } else {
    type.name = row.name;
  }
  if (row.typtype == 'e') {
    type.kind = PgType::Kind::kEnum;
    ARROW_ASSIGN_OR_RAISE(
        auto labels, conn_->Query("SELECT enumlabel FROM pg_enum WHERE enumtypid = $1 "
                                  "ORDER BY enumsortorder",
                                  {std::to_string(oid)}, "cannot read enum " + row.name));
    ARROW_RETURN_NOT_OK(ExpectColumns(labels, 1, "pg_enum of " + row.name));
    for (const auto& label : labels) type.enum_labels.push_back(label[0].value_or(""));
  } else if (row.typtype == 'c') {
    type.kind = PgType::Kind::kComposite;
    ARROW_ASSIGN_OR_RAISE(
        auto fields,
        conn_->Query(
            "SELECT attname, atttypid, atttypmod, attndims FROM pg_attribute WHERE "
            "attrelid = $1 AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
            {std::to_string(row.typrelid)}, "cannot read composite " + row.name));
    const std::string attributes = "pg_attribute of composite " + row.name;
    ARROW_RETURN_NOT_OK(ExpectColumns(fields, 4, attributes));
    for (const auto& field : fields) {
      const std::string where = attributes + ", field " + field[0].value_or("");
      ARROW_ASSIGN_OR_RAISE(uint32_t field_oid, ToOid(field[1], where));
      ARROW_ASSIGN_OR_RAISE(int32_t field_typmod, ToInt(field[2], where));
      ARROW_ASSIGN_OR_RAISE(PgType field_type,
                            ResolveType(field_oid, field_typmod, depth + 1));
      // A field declared int[][] holds 2-D arrays, as a table column does (fields are
      // not sampled: their declaration is all there is to go by).
      ARROW_ASSIGN_OR_RAISE(int32_t field_dims, ToInt(field[3], where, 0));
      if (field_type.kind == PgType::Kind::kArray && field_dims > 1 &&
          field_dims <= kMaxArrayDimensions) {
        field_type = WithArrayDimensions(field_type, field_dims);
      }
      type.fields.push_back(
          {field[0].value_or(""), std::make_shared<const PgType>(std::move(field_type))});
    }
  } else if (row.typtype == 'r') {
    type.kind = PgType::Kind::kRange;
    ARROW_ASSIGN_OR_RAISE(PgType element, ResolveType(row.rngsubtype, -1, depth + 1));
    type.element = std::make_shared<const PgType>(std::move(element));
  } else if (row.typcategory == 'A' && row.typelem != 0 && row.typlen == -1) {
    type.kind = PgType::Kind::kArray;
    // The column's typmod applies to the elements (numeric(10,2)[]).
    ARROW_ASSIGN_OR_RAISE(PgType element, ResolveType(row.typelem, typmod, depth + 1));
    type.element = std::make_shared<const PgType>(std::move(element));
  } else {
    type.kind = PgType::Kind::kBase;
  }
  return type;
}

}  // namespace jetflow::postgres
