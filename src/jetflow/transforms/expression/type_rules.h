// The expression language's classes of Arrow types and its common-type rule (the
// "Type rules" of docs/expressions.md), shared by the compiler and the function table.
#pragma once

#include <arrow/type.h>

#include <memory>
#include <string>

namespace jetflow::expression {

using TypePtr = std::shared_ptr<arrow::DataType>;

bool IsSignedInt(const arrow::DataType& t);
bool IsUnsignedInt(const arrow::DataType& t);
bool IsInt(const arrow::DataType& t);
/// float16, float32, float64.
bool IsFloat(const arrow::DataType& t);
bool IsDecimal(const arrow::DataType& t);
bool IsNumeric(const arrow::DataType& t);
/// string, large_string, string_view.
bool IsString(const arrow::DataType& t);
/// binary, large_binary, fixed_size_binary.
bool IsBinary(const arrow::DataType& t);
bool IsTimestamp(const arrow::DataType& t);
/// date32, date64.
bool IsDate(const arrow::DataType& t);
bool IsTemporal(const arrow::DataType& t);
bool IsBool(const arrow::DataType& t);
/// The type of a NULL literal.
bool IsNullType(const arrow::DataType& t);

/// Bits of an integer type.
int IntWidth(const arrow::DataType& t);

/// The type both values convert to for CASE, COALESCE, IN, least/greatest and `%`;
/// nullptr if there is none (the caller reports the error).
TypePtr CommonType(const TypePtr& a, const TypePtr& b);

/// A type as messages show it.
std::string TypeString(const arrow::DataType& t);

}  // namespace jetflow::expression
