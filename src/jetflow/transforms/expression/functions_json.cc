// JSON in text columns: extraction by path and validation (docs/expressions.md, "JSON";
// the kernels are in kernels.cc).
#include <arrow/api.h>

#include <string>

#include "jetflow/transforms/expression/function_table.h"
#include "jetflow/transforms/expression/kernels.h"

namespace jetflow::expression {

arrow::Status RegisterJsonFunctions(FunctionTable* table) {
  for (auto [name, type] : {std::pair{"json_extract", arrow::utf8()},
                            {"json_extract_string", arrow::utf8()},
                            {"json_extract_int", arrow::int64()},
                            {"json_extract_double", arrow::float64()},
                            {"json_extract_bool", arrow::boolean()}}) {
    ARROW_RETURN_NOT_OK(table->Add(
        {.name = name,
         .min_args = 2,
         .max_args = 2,
         .arguments = {Utf8Value(), ConstantText("the JSON path")},
         .result = Returns(type),
         .lower = [kernel = "jetflow_" + std::string(name)](
                      CompileContext& context, const CallSite& call,
                      const Arguments& a) -> arrow::Result<Typed> {
           // A malformed path is a compile error at the path.
           std::string pointer;
           auto valid = JsonPathToPointer(a[1].text, &pointer);
           if (!valid.ok()) {
             return context.Error(a[1].value.offset,
                                  "invalid JSON path: " + valid.message());
           }
           ARROW_ASSIGN_OR_RAISE(auto path, context.CastTo(a[1].value, arrow::utf8()));
           return context.MakeCall(call.offset, kernel, {a[0].value, path}, nullptr,
                                   call.what());
         }}));
  }
  ARROW_RETURN_NOT_OK(table->Add(
      {.name = "json_valid",
       .min_args = 1,
       .max_args = 1,
       .arguments = {Utf8Value()},
       .result = Returns(arrow::boolean()),
       .lower = [](CompileContext& context, const CallSite& call, const Arguments& a) {
         return context.MakeCall(call.offset, "jetflow_json_valid", {a[0].value}, nullptr,
                                 call.what());
       }}));
  return arrow::Status::OK();
}

}  // namespace jetflow::expression
