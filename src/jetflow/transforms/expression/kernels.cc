#include "jetflow/transforms/expression/kernels.h"

#include <arrow/api.h>
#include <arrow/array/concatenate.h>
#include <arrow/compute/api.h>
#include <arrow/compute/kernel.h>
#include <arrow/compute/registry.h>
#include <arrow/util/utf8.h>
#include <openssl/evp.h>
#include <xxhash.h>

#include <climits>
#include <cmath>
#include <cstring>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <type_traits>
#include <vector>

namespace jetflow::expression {
namespace {

namespace cp = arrow::compute;

// An input of a kernel call as an array of the call's length (scalars are broadcast).
arrow::Result<std::shared_ptr<arrow::Array>> InputArray(const cp::ExecSpan& batch,
                                                        int i) {
  const cp::ExecValue& v = batch[i];
  if (v.is_array()) return v.array.ToArray();
  return arrow::MakeArrayFromScalar(*v.scalar, batch.length);
}

// The value of a constant parameter (a scalar, or the first element of an array when
// Arrow promoted an all-scalar call to arrays of length 1).
arrow::Result<std::shared_ptr<arrow::Scalar>> ConstantInput(const cp::ExecSpan& batch,
                                                            int i) {
  const cp::ExecValue& v = batch[i];
  if (!v.is_array()) return v.scalar->GetSharedPtr();
  if (v.array.length < 1) return arrow::MakeNullScalar(v.array.type->GetSharedPtr());
  return v.array.ToArray()->GetScalar(0);
}

arrow::Result<std::string> ConstantString(const cp::ExecSpan& batch, int i) {
  ARROW_ASSIGN_OR_RAISE(auto scalar, ConstantInput(batch, i));
  if (!scalar->is_valid) return std::string();
  if (scalar->type->id() != arrow::Type::STRING) {
    return arrow::Status::Invalid("expected a constant string argument");
  }
  return std::string(static_cast<const arrow::StringScalar&>(*scalar).view());
}

arrow::Result<int64_t> ConstantInt(const cp::ExecSpan& batch, int i) {
  ARROW_ASSIGN_OR_RAISE(auto scalar, ConstantInput(batch, i));
  if (!scalar->is_valid || scalar->type->id() != arrow::Type::INT64) {
    return arrow::Status::Invalid("expected a constant integer argument");
  }
  return static_cast<const arrow::Int64Scalar&>(*scalar).value;
}

void SetOutput(const std::shared_ptr<arrow::Array>& array, cp::ExecResult* out) {
  out->value = array->data();
}

// --- jetflow_check_utf8 ---

template <typename ArrayType>
arrow::Status CheckUtf8Exec(cp::KernelContext*, const cp::ExecSpan& batch,
                            cp::ExecResult* out) {
  ARROW_ASSIGN_OR_RAISE(auto input, InputArray(batch, 0));
  ARROW_ASSIGN_OR_RAISE(std::string column, ConstantString(batch, 1));
  const auto& strings = static_cast<const ArrayType&>(*input);
  // Fast path: the whole character data is valid and every value starts on a character
  // boundary, so every value is valid on its own.
  if (strings.length() > 0) {
    const uint8_t* data = strings.raw_data();
    int64_t begin = strings.value_offset(0);
    int64_t end = strings.value_offset(strings.length());
    if (arrow::util::ValidateUTF8(data + begin, end - begin)) {
      bool boundaries = true;
      for (int64_t i = 0; i < strings.length(); ++i) {
        int64_t at = strings.value_offset(i);
        boundaries &= at >= end || (data[at] & 0xC0) != 0x80;
      }
      if (boundaries) {
        SetOutput(input, out);
        return arrow::Status::OK();
      }
    }
  }
  for (int64_t i = 0; i < strings.length(); ++i) {
    if (strings.IsValid(i) && !arrow::util::ValidateUTF8(strings.GetView(i))) {
      return arrow::Status::Invalid("invalid UTF-8 in column '", column, "'");
    }
  }
  SetOutput(input, out);
  return arrow::Status::OK();
}

// --- jetflow_mod ---

template <typename ArrowType>
arrow::Status ModExec(cp::KernelContext* ctx, const cp::ExecSpan& batch,
                      cp::ExecResult* out) {
  using CType = typename ArrowType::c_type;
  using ArrayType = arrow::NumericArray<ArrowType>;
  ARROW_ASSIGN_OR_RAISE(auto a_array, InputArray(batch, 0));
  ARROW_ASSIGN_OR_RAISE(auto b_array, InputArray(batch, 1));
  const auto& a = static_cast<const ArrayType&>(*a_array);
  const auto& b = static_cast<const ArrayType&>(*b_array);
  arrow::NumericBuilder<ArrowType> builder(ctx->memory_pool());
  ARROW_RETURN_NOT_OK(builder.Reserve(batch.length));
  for (int64_t i = 0; i < batch.length; ++i) {
    if (a.IsNull(i) || b.IsNull(i)) {
      builder.UnsafeAppendNull();
      continue;
    }
    CType x = a.Value(i);
    CType y = b.Value(i);
    if (y == 0) return arrow::Status::Invalid("division by zero in %");
    CType r;
    if constexpr (std::is_floating_point_v<CType>) {
      r = std::fmod(x, y);
    } else if constexpr (std::is_signed_v<CType>) {
      r = y == -1 ? 0 : static_cast<CType>(x % y);  // MIN % -1 overflows in C++
    } else {
      r = static_cast<CType>(x % y);
    }
    builder.UnsafeAppend(r);
  }
  ARROW_ASSIGN_OR_RAISE(auto result, builder.Finish());
  SetOutput(result, out);
  return arrow::Status::OK();
}

// Calls `fn(i, std::string_view bytes)` for every non-null value of a utf8, binary or
// int64 array (int64 as its 8 little-endian bytes) and `null(i)` for nulls.
template <typename Fn, typename NullFn>
arrow::Status ForEachValueBytes(const arrow::Array& array, Fn&& fn, NullFn&& null) {
  switch (array.type_id()) {
    case arrow::Type::STRING:
    case arrow::Type::BINARY: {
      const auto& values = static_cast<const arrow::BinaryArray&>(array);
      for (int64_t i = 0; i < values.length(); ++i) {
        if (values.IsNull(i)) {
          null(i);
        } else {
          ARROW_RETURN_NOT_OK(fn(i, values.GetView(i)));
        }
      }
      return arrow::Status::OK();
    }
    case arrow::Type::INT64: {
      const auto& values = static_cast<const arrow::Int64Array&>(array);
      for (int64_t i = 0; i < values.length(); ++i) {
        if (values.IsNull(i)) {
          null(i);
          continue;
        }
        uint64_t v = static_cast<uint64_t>(values.Value(i));
        char bytes[8];
        for (int k = 0; k < 8; ++k) bytes[k] = static_cast<char>((v >> (8 * k)) & 0xff);
        ARROW_RETURN_NOT_OK(fn(i, std::string_view(bytes, 8)));
      }
      return arrow::Status::OK();
    }
    default:
      return arrow::Status::TypeError("cannot hash values of type ",
                                      array.type()->ToString());
  }
}

// --- jetflow_xxhash64 ---

arrow::Status XxHash64Exec(cp::KernelContext* ctx, const cp::ExecSpan& batch,
                           cp::ExecResult* out) {
  ARROW_ASSIGN_OR_RAISE(auto input, InputArray(batch, 0));
  ARROW_ASSIGN_OR_RAISE(std::string salt, ConstantString(batch, 1));
  arrow::Int64Builder builder(ctx->memory_pool());
  ARROW_RETURN_NOT_OK(builder.Reserve(batch.length));
  std::unique_ptr<XXH64_state_t, decltype(&XXH64_freeState)> salted(XXH64_createState(),
                                                                    &XXH64_freeState);
  std::unique_ptr<XXH64_state_t, decltype(&XXH64_freeState)> row(XXH64_createState(),
                                                                 &XXH64_freeState);
  if (!salted || !row) return arrow::Status::OutOfMemory("XXH64_createState");
  XXH64_reset(salted.get(), 0);
  XXH64_update(salted.get(), salt.data(), salt.size());
  ARROW_RETURN_NOT_OK(ForEachValueBytes(
      *input,
      [&](int64_t, std::string_view bytes) {
        uint64_t h;
        if (salt.empty()) {
          h = XXH64(bytes.data(), bytes.size(), 0);
        } else {
          XXH64_copyState(row.get(), salted.get());
          XXH64_update(row.get(), bytes.data(), bytes.size());
          h = XXH64_digest(row.get());
        }
        builder.UnsafeAppend(static_cast<int64_t>(h));
        return arrow::Status::OK();
      },
      [&](int64_t) { builder.UnsafeAppendNull(); }));
  ARROW_ASSIGN_OR_RAISE(auto result, builder.Finish());
  SetOutput(result, out);
  return arrow::Status::OK();
}

// --- jetflow_sha256 ---

arrow::Status Sha256Exec(cp::KernelContext* ctx, const cp::ExecSpan& batch,
                         cp::ExecResult* out) {
  ARROW_ASSIGN_OR_RAISE(auto input, InputArray(batch, 0));
  ARROW_ASSIGN_OR_RAISE(std::string salt, ConstantString(batch, 1));
  using Ctx = std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)>;
  Ctx salted(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  Ctx row(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  if (!salted || !row || EVP_DigestInit_ex(salted.get(), EVP_sha256(), nullptr) != 1 ||
      EVP_DigestUpdate(salted.get(), salt.data(), salt.size()) != 1) {
    return arrow::Status::UnknownError("OpenSSL SHA-256 initialisation failed");
  }
  arrow::StringBuilder builder(ctx->memory_pool());
  ARROW_RETURN_NOT_OK(builder.Reserve(batch.length));
  ARROW_RETURN_NOT_OK(builder.ReserveData(batch.length * 64));
  static const char kHex[] = "0123456789abcdef";
  ARROW_RETURN_NOT_OK(ForEachValueBytes(
      *input,
      [&](int64_t, std::string_view bytes) {
        unsigned char digest[EVP_MAX_MD_SIZE];
        unsigned int size = 0;
        if (EVP_MD_CTX_copy_ex(row.get(), salted.get()) != 1 ||
            EVP_DigestUpdate(row.get(), bytes.data(), bytes.size()) != 1 ||
            EVP_DigestFinal_ex(row.get(), digest, &size) != 1 || size != 32) {
          return arrow::Status::UnknownError("OpenSSL SHA-256 failed");
        }
        char hex[64];
        for (size_t k = 0; k < 32; ++k) {
          hex[2 * k] = kHex[digest[k] >> 4];
          hex[2 * k + 1] = kHex[digest[k] & 15];
        }
        builder.UnsafeAppend(hex, 64);
        return arrow::Status::OK();
      },
      [&](int64_t) { builder.UnsafeAppendNull(); }));
  ARROW_ASSIGN_OR_RAISE(auto result, builder.Finish());
  SetOutput(result, out);
  return arrow::Status::OK();
}

// --- JSON ---

enum class JsonMode { kText, kString, kInt, kDouble, kBool, kValid };

template <JsonMode mode>
arrow::Status JsonExec(cp::KernelContext* ctx, const cp::ExecSpan& batch,
                       cp::ExecResult* out) {
  ARROW_ASSIGN_OR_RAISE(auto input, InputArray(batch, 0));
  std::string pointer;
  if constexpr (mode != JsonMode::kValid) {
    ARROW_ASSIGN_OR_RAISE(std::string path, ConstantString(batch, 1));
    ARROW_RETURN_NOT_OK(JsonPathToPointer(path, &pointer));
  }
  const auto& texts = static_cast<const arrow::StringArray&>(*input);
  using Builder = std::conditional_t<
      mode == JsonMode::kText || mode == JsonMode::kString, arrow::StringBuilder,
      std::conditional_t<
          mode == JsonMode::kInt, arrow::Int64Builder,
          std::conditional_t<mode == JsonMode::kDouble, arrow::DoubleBuilder,
                             arrow::BooleanBuilder>>>;
  Builder builder(ctx->memory_pool());
  ARROW_RETURN_NOT_OK(builder.Reserve(batch.length));
  // nlohmann::json throws; every exception is caught here and becomes NULL (or an
  // error for a bad path, which the compiler has already ruled out).
  std::optional<nlohmann::json::json_pointer> path;
  try {
    path.emplace(pointer);
  } catch (const std::exception& e) {
    return arrow::Status::Invalid("invalid JSON path: ", e.what());
  }
  for (int64_t i = 0; i < texts.length(); ++i) {
    if (texts.IsNull(i)) {
      builder.UnsafeAppendNull();
      continue;
    }
    std::string_view text = texts.GetView(i);
    // Not simdjson: libparquet exports its own bundled simdjson symbols, which would
    // clash with another copy in the same process.
    nlohmann::json doc = nlohmann::json::parse(text.begin(), text.end(), nullptr,
                                               /*allow_exceptions=*/false);
    bool parsed = !doc.is_discarded();
    if constexpr (mode == JsonMode::kValid) {
      builder.UnsafeAppend(parsed);
      continue;
    } else {
      const nlohmann::json* value = nullptr;
      try {
        if (parsed && doc.contains(*path)) value = &doc.at(*path);
      } catch (const std::exception&) {
        value = nullptr;  // e.g. a member lookup on an array
      }
      if (value == nullptr || value->is_null()) {
        builder.UnsafeAppendNull();
        continue;
      }
      if constexpr (mode == JsonMode::kText || mode == JsonMode::kString) {
        if (value->is_string()) {
          ARROW_RETURN_NOT_OK(builder.Append(value->get_ref<const std::string&>()));
        } else if (mode == JsonMode::kText) {
          std::string dumped;
          try {
            dumped = value->dump();
          } catch (const std::exception&) {
            builder.UnsafeAppendNull();
            continue;
          }
          ARROW_RETURN_NOT_OK(builder.Append(dumped));
        } else {
          builder.UnsafeAppendNull();
        }
      } else if constexpr (mode == JsonMode::kInt) {
        if (value->is_number_integer() &&
            (!value->is_number_unsigned() ||
             value->get<uint64_t>() <= static_cast<uint64_t>(INT64_MAX))) {
          builder.UnsafeAppend(value->get<int64_t>());
        } else {
          builder.UnsafeAppendNull();
        }
      } else if constexpr (mode == JsonMode::kDouble) {
        if (value->is_number()) {
          builder.UnsafeAppend(value->get<double>());
        } else {
          builder.UnsafeAppendNull();
        }
      } else {
        if (value->is_boolean()) {
          builder.UnsafeAppend(value->get<bool>());
        } else {
          builder.UnsafeAppendNull();
        }
      }
    }
  }
  std::shared_ptr<arrow::Array> result;
  ARROW_RETURN_NOT_OK(builder.Finish(&result));
  SetOutput(result, out);
  return arrow::Status::OK();
}

// --- jetflow_split_part ---

arrow::Status SplitPartExec(cp::KernelContext* ctx, const cp::ExecSpan& batch,
                            cp::ExecResult* out) {
  ARROW_ASSIGN_OR_RAISE(auto input, InputArray(batch, 0));
  ARROW_ASSIGN_OR_RAISE(std::string sep, ConstantString(batch, 1));
  ARROW_ASSIGN_OR_RAISE(int64_t n, ConstantInt(batch, 2));
  if (n == 0) return arrow::Status::Invalid("split_part: field position must not be 0");
  const auto& texts = static_cast<const arrow::StringArray&>(*input);
  arrow::StringBuilder builder(ctx->memory_pool());
  ARROW_RETURN_NOT_OK(builder.Reserve(batch.length));
  std::vector<std::string_view> parts;
  for (int64_t i = 0; i < texts.length(); ++i) {
    if (texts.IsNull(i)) {
      builder.UnsafeAppendNull();
      continue;
    }
    std::string_view s = texts.GetView(i);
    parts.clear();
    if (sep.empty()) {
      parts.push_back(s);
    } else {
      size_t start = 0;
      while (true) {
        size_t at = s.find(sep, start);
        if (at == std::string_view::npos) {
          parts.push_back(s.substr(start));
          break;
        }
        parts.push_back(s.substr(start, at - start));
        start = at + sep.size();
      }
    }
    int64_t count = static_cast<int64_t>(parts.size());
    int64_t index = n > 0 ? n - 1 : count + n;
    ARROW_RETURN_NOT_OK(
        builder.Append(index >= 0 && index < count ? parts[index] : std::string_view()));
  }
  ARROW_ASSIGN_OR_RAISE(auto result, builder.Finish());
  SetOutput(result, out);
  return arrow::Status::OK();
}

// --- jetflow_try_cast ---

// Casts `values`; where that fails, splits the range in halves until the failing values
// are isolated and replaced by NULL. Cheap when failures are rare.
arrow::Result<std::shared_ptr<arrow::Array>> TryCastRange(
    const std::shared_ptr<arrow::Array>& values, const cp::CastOptions& options,
    cp::ExecContext* ctx) {
  auto cast = cp::Cast(*values, options.to_type.GetSharedPtr(), options, ctx);
  if (cast.ok()) return cast;
  if (!cast.status().IsInvalid()) return cast.status();  // not a data problem
  if (values->length() <= 1) {
    return arrow::MakeArrayOfNull(options.to_type.GetSharedPtr(), values->length(),
                                  ctx->memory_pool());
  }
  int64_t half = values->length() / 2;
  ARROW_ASSIGN_OR_RAISE(auto left, TryCastRange(values->Slice(0, half), options, ctx));
  ARROW_ASSIGN_OR_RAISE(auto right, TryCastRange(values->Slice(half), options, ctx));
  return arrow::Concatenate({left, right}, ctx->memory_pool());
}

arrow::Status TryCastExec(cp::KernelContext* ctx, const cp::ExecSpan& batch,
                          cp::ExecResult* out) {
  ARROW_ASSIGN_OR_RAISE(auto input, InputArray(batch, 0));
  auto options = cp::CastOptions::Safe(batch[1].type()->GetSharedPtr());
  ARROW_ASSIGN_OR_RAISE(auto result, TryCastRange(input, options, ctx->exec_context()));
  SetOutput(result, out);
  return arrow::Status::OK();
}

// --- registration ---

arrow::Status AddFunction(
    cp::FunctionRegistry* registry, const std::string& name,
    const std::vector<std::string>& arg_names, std::string summary,
    std::vector<std::pair<std::vector<cp::InputType>, cp::OutputType>> signatures,
    std::vector<cp::ArrayKernelExec> execs) {
  auto function = std::make_shared<cp::ScalarFunction>(
      name, cp::Arity(static_cast<int>(arg_names.size())),
      cp::FunctionDoc(std::move(summary), "", arg_names));
  for (size_t i = 0; i < signatures.size(); ++i) {
    cp::ScalarKernel kernel(std::move(signatures[i].first), signatures[i].second,
                            execs[i]);
    kernel.null_handling = cp::NullHandling::COMPUTED_NO_PREALLOCATE;
    kernel.mem_allocation = cp::MemAllocation::NO_PREALLOCATE;
    // Our kernels build whole output arrays; they cannot write into a preallocated
    // slice of a larger output.
    kernel.can_write_into_slices = false;
    ARROW_RETURN_NOT_OK(function->AddKernel(std::move(kernel)));
  }
  return registry->AddFunction(std::move(function), /*allow_overwrite=*/false);
}

template <typename ArrowType>
void AddModKernel(
    std::vector<std::pair<std::vector<cp::InputType>, cp::OutputType>>* signatures,
    std::vector<cp::ArrayKernelExec>* execs) {
  auto type = arrow::TypeTraits<ArrowType>::type_singleton();
  signatures->push_back(
      {{cp::InputType(type), cp::InputType(type)}, cp::OutputType(type)});
  execs->push_back(ModExec<ArrowType>);
}

arrow::Status RegisterAll() {
  ARROW_RETURN_NOT_OK(cp::Initialize());
  arrow::util::InitializeUTF8();
  auto* registry = cp::GetFunctionRegistry();
  using cp::InputType;
  using cp::OutputType;
  auto utf8 = arrow::utf8();
  ARROW_RETURN_NOT_OK(AddFunction(
      registry, "jetflow_check_utf8", {"strings", "column"},
      "Returns the strings unchanged; fails on invalid UTF-8",
      {{{InputType(utf8), InputType(utf8)}, OutputType(utf8)},
       {{InputType(arrow::large_utf8()), InputType(utf8)},
        OutputType(arrow::large_utf8())}},
      {CheckUtf8Exec<arrow::StringArray>, CheckUtf8Exec<arrow::LargeStringArray>}));
  {
    std::vector<std::pair<std::vector<InputType>, OutputType>> signatures;
    std::vector<cp::ArrayKernelExec> execs;
    AddModKernel<arrow::Int8Type>(&signatures, &execs);
    AddModKernel<arrow::Int16Type>(&signatures, &execs);
    AddModKernel<arrow::Int32Type>(&signatures, &execs);
    AddModKernel<arrow::Int64Type>(&signatures, &execs);
    AddModKernel<arrow::UInt8Type>(&signatures, &execs);
    AddModKernel<arrow::UInt16Type>(&signatures, &execs);
    AddModKernel<arrow::UInt32Type>(&signatures, &execs);
    AddModKernel<arrow::UInt64Type>(&signatures, &execs);
    AddModKernel<arrow::FloatType>(&signatures, &execs);
    AddModKernel<arrow::DoubleType>(&signatures, &execs);
    ARROW_RETURN_NOT_OK(AddFunction(registry, "jetflow_mod", {"dividend", "divisor"},
                                    "Remainder of a division", std::move(signatures),
                                    std::move(execs)));
  }
  for (const auto& [name, exec, out_type] :
       std::vector<std::tuple<std::string, cp::ArrayKernelExec,
                              std::shared_ptr<arrow::DataType>>>{
           {"jetflow_xxhash64", XxHash64Exec, arrow::int64()},
           {"jetflow_sha256", Sha256Exec, utf8}}) {
    std::vector<std::pair<std::vector<InputType>, OutputType>> signatures;
    std::vector<cp::ArrayKernelExec> execs;
    for (const auto& in : {utf8, arrow::binary(), arrow::int64()}) {
      signatures.push_back({{InputType(in), InputType(utf8)}, OutputType(out_type)});
      execs.push_back(exec);
    }
    ARROW_RETURN_NOT_OK(AddFunction(registry, name, {"value", "salt"}, "Salted hash",
                                    std::move(signatures), std::move(execs)));
  }
  struct JsonFunction {
    const char* name;
    cp::ArrayKernelExec exec;
    std::shared_ptr<arrow::DataType> type;
  };
  for (const auto& f : std::vector<JsonFunction>{
           {"jetflow_json_extract", JsonExec<JsonMode::kText>, utf8},
           {"jetflow_json_extract_string", JsonExec<JsonMode::kString>, utf8},
           {"jetflow_json_extract_int", JsonExec<JsonMode::kInt>, arrow::int64()},
           {"jetflow_json_extract_double", JsonExec<JsonMode::kDouble>, arrow::float64()},
           {"jetflow_json_extract_bool", JsonExec<JsonMode::kBool>, arrow::boolean()}}) {
    ARROW_RETURN_NOT_OK(AddFunction(
        registry, f.name, {"json", "path"}, "Value at a JSON path",
        {{{InputType(utf8), InputType(utf8)}, OutputType(f.type)}}, {f.exec}));
  }
  ARROW_RETURN_NOT_OK(AddFunction(
      registry, "jetflow_json_valid", {"json"}, "Whether the text is valid JSON",
      {{{InputType(utf8)}, OutputType(arrow::boolean())}}, {JsonExec<JsonMode::kValid>}));
  ARROW_RETURN_NOT_OK(AddFunction(
      registry, "jetflow_split_part", {"strings", "separator", "n"},
      "The n-th field of a split",
      {{{InputType(utf8), InputType(utf8), InputType(arrow::int64())}, OutputType(utf8)}},
      {SplitPartExec}));
  ARROW_RETURN_NOT_OK(AddFunction(
      registry, "jetflow_try_cast", {"value", "target"}, "Cast; NULL where it fails",
      {{{InputType::Any(), InputType::Any()},
        OutputType([](cp::KernelContext*, const std::vector<arrow::TypeHolder>& types)
                       -> arrow::Result<arrow::TypeHolder> { return types[1]; })}},
      {TryCastExec}));
  return arrow::Status::OK();
}

}  // namespace

arrow::Status RegisterExpressionKernels() {
  static std::once_flag once;
  static arrow::Status status;
  std::call_once(once, [] { status = RegisterAll(); });
  return status;
}

arrow::Status JsonPathToPointer(std::string_view path, std::string* pointer) {
  pointer->clear();
  auto escape = [&](std::string_view key) {
    for (char c : key) {
      if (c == '~') {
        *pointer += "~0";
      } else if (c == '/') {
        *pointer += "~1";
      } else {
        pointer->push_back(c);
      }
    }
  };
  if (path.empty() || path[0] != '$') {
    return arrow::Status::Invalid("JSON path must start with '$'");
  }
  size_t i = 1;
  while (i < path.size()) {
    if (path[i] == '.') {
      size_t j = i + 1;
      while (j < path.size() && path[j] != '.' && path[j] != '[') ++j;
      if (j == i + 1) return arrow::Status::Invalid("empty key after '.' in JSON path");
      *pointer += "/";
      escape(path.substr(i + 1, j - i - 1));
      i = j;
    } else if (path[i] == '[') {
      size_t j = i + 1;
      if (j < path.size() && (path[j] == '\'' || path[j] == '"')) {
        char quote = path[j];
        size_t end = path.find(quote, j + 1);
        if (end == std::string_view::npos || end + 1 >= path.size() ||
            path[end + 1] != ']') {
          return arrow::Status::Invalid("unterminated quoted key in JSON path");
        }
        *pointer += "/";
        escape(path.substr(j + 1, end - j - 1));
        i = end + 2;
      } else {
        size_t end = path.find(']', j);
        if (end == std::string_view::npos || end == j) {
          return arrow::Status::Invalid("expected [index] in JSON path");
        }
        for (size_t k = j; k < end; ++k) {
          if (path[k] < '0' || path[k] > '9') {
            return arrow::Status::Invalid(
                "array index in JSON path must be a number >= 0");
          }
        }
        *pointer += "/";
        *pointer += std::string(path.substr(j, end - j));
        i = end + 1;
      }
    } else {
      return arrow::Status::Invalid("expected '.' or '[' in JSON path at position ", i);
    }
  }
  return arrow::Status::OK();
}

}  // namespace jetflow::expression
