// Hashing for pseudonymisation: xxhash64 and sha256 with an optional salt
// (docs/expressions.md, "Hashing"; the kernels are in kernels.cc).
#include <arrow/api.h>

#include <string>

#include "jetflow/transforms/expression/function_table.h"

namespace jetflow::expression {
namespace {

// The hashed value: its bytes are defined for strings, binary and integers only, so
// that the hash of any other type does not depend on a text form the user did not pick.
ArgumentRule HashedValue() {
  return [](CompileContext& context, const CallSite& call,
            const Typed& value) -> arrow::Result<Argument> {
    Typed v = value;
    if (IsString(*v.type) || IsNullType(*v.type)) {
      // Hashes read bytes; they need no UTF-8 validation.
      ARROW_ASSIGN_OR_RAISE(v, context.CastTo(v, arrow::utf8()));
    } else if (IsBinary(*v.type)) {
      ARROW_ASSIGN_OR_RAISE(v, context.CastTo(v, arrow::binary()));
    } else if (IsSignedInt(*v.type) ||
               (IsUnsignedInt(*v.type) && v.type->id() != arrow::Type::UINT64)) {
      ARROW_ASSIGN_OR_RAISE(v, context.CastTo(v, arrow::int64()));
    } else {
      return context.Error(v.offset,
                           call.what() + " hashes strings, binary and integers, got " +
                               TypeString(*v.type) +
                               " (CAST it to a string first, knowing the text form)");
    }
    return Argument{.value = v};
  };
}

}  // namespace

arrow::Status RegisterHashingFunctions(FunctionTable* table) {
  for (auto [name, type] :
       {std::pair{"xxhash64", arrow::int64()}, {"sha256", arrow::utf8()}}) {
    ARROW_RETURN_NOT_OK(table->Add(
        {.name = name,
         .min_args = 1,
         .max_args = 2,
         .arguments = {HashedValue(), ConstantText("the salt")},
         .result = Returns(type),
         .lower = [kernel = "jetflow_" + std::string(name)](
                      CompileContext& context, const CallSite& call,
                      const Arguments& a) -> arrow::Result<Typed> {
           Typed salt;
           if (a.size() == 2) {
             ARROW_ASSIGN_OR_RAISE(salt, context.CastTo(a[1].value, arrow::utf8()));
           } else {
             ARROW_ASSIGN_OR_RAISE(
                 salt, context.Constant(std::make_shared<arrow::StringScalar>(""),
                                        call.offset));
           }
           return context.MakeCall(call.offset, kernel, {a[0].value, salt}, nullptr,
                                   call.what());
         }}));
  }
  return arrow::Status::OK();
}

}  // namespace jetflow::expression
