// Conditional functions: if, coalesce, nullif, least, greatest
// (docs/expressions.md, "Conditional").
#include <arrow/api.h>
#include <arrow/compute/api.h>

#include <string>
#include <vector>

#include "jetflow/transforms/expression/function_table.h"

namespace jetflow::expression {
namespace {

namespace cp = arrow::compute;

std::vector<Typed> Values(const Arguments& a) {
  std::vector<Typed> values;
  for (const auto& arg : a) values.push_back(arg.value);
  return values;
}

}  // namespace

arrow::Status RegisterConditionalFunctions(FunctionTable* table) {
  // NULLs are skipped: NULL only if every value is NULL.
  for (auto [name, kernel] :
       {std::pair{"least", "min_element_wise"}, {"greatest", "max_element_wise"}}) {
    ARROW_RETURN_NOT_OK(table->Add(
        {.name = name,
         .min_args = 1,
         .max_args = FunctionEntry::kVariadic,
         .arguments = {AnyValue()},
         .result = CommonTypeOfArguments(0),
         .lower = [kernel = std::string(kernel)](
                      CompileContext& context, const CallSite& call,
                      const Arguments& a) -> arrow::Result<Typed> {
           TypePtr common;
           ARROW_ASSIGN_OR_RAISE(auto values,
                                 context.Unify(Values(a), call.what(), &common));
           return context.MakeCall(
               call.offset, kernel, values,
               std::make_shared<cp::ElementWiseAggregateOptions>(true), call.what());
         }}));
  }
  ARROW_RETURN_NOT_OK(table->Add(
      {.name = "coalesce",
       .min_args = 1,
       .max_args = FunctionEntry::kVariadic,
       .arguments = {AnyValue()},
       .result = CommonTypeOfArguments(0),
       .lower = [](CompileContext& context, const CallSite& call,
                   const Arguments& a) -> arrow::Result<Typed> {
         TypePtr common;
         ARROW_ASSIGN_OR_RAISE(auto values,
                               context.Unify(Values(a), call.what(), &common));
         if (IsNullType(*common)) return values[0];
         return context.MakeCall(call.offset, "coalesce", values, nullptr, call.what());
       }}));
  ARROW_RETURN_NOT_OK(table->Add(
      {.name = "if",
       .min_args = 3,
       .max_args = 3,
       .arguments = {BooleanValue("the condition of if()"), AnyValue(), AnyValue()},
       .result = CommonTypeOfArguments(1),
       .lower = [](CompileContext& context, const CallSite& call,
                   const Arguments& a) -> arrow::Result<Typed> {
         // Like CASE WHEN: a NULL condition selects the else branch (Arrow's if_else
         // would return NULL).
         ARROW_ASSIGN_OR_RAISE(auto no,
                               context.Constant(arrow::MakeScalar(false), call.offset));
         ARROW_ASSIGN_OR_RAISE(
             auto c, context.MakeCall(call.offset, "coalesce", {a[0].value, no}));
         TypePtr common;
         ARROW_ASSIGN_OR_RAISE(
             auto values, context.Unify({a[1].value, a[2].value}, call.what(), &common));
         if (IsNullType(*common)) return values[0];
         return context.MakeCall(call.offset, "if_else", {c, values[0], values[1]},
                                 nullptr, call.what());
       }}));
  ARROW_RETURN_NOT_OK(table->Add(
      {.name = "nullif",
       .min_args = 2,
       .max_args = 2,
       .arguments = {AnyValue(), AnyValue()},
       .result = TypeOfArgument(0),
       .lower = [](CompileContext& context, const CallSite& call,
                   const Arguments& a) -> arrow::Result<Typed> {
         ARROW_ASSIGN_OR_RAISE(
             auto eq, context.Comparison(call.offset, "=", a[0].value, a[1].value));
         // NULL when equal; a NULL comparison (either side NULL) keeps the first value.
         ARROW_ASSIGN_OR_RAISE(auto no,
                               context.Constant(arrow::MakeScalar(false), call.offset));
         ARROW_ASSIGN_OR_RAISE(auto is_equal,
                               context.MakeCall(call.offset, "coalesce", {eq, no}));
         ARROW_ASSIGN_OR_RAISE(
             auto null_value,
             context.Constant(arrow::MakeNullScalar(a[0].value.type), call.offset));
         return context.MakeCall(call.offset, "if_else",
                                 {is_equal, null_value, a[0].value}, nullptr,
                                 call.what());
       }}));
  return arrow::Status::OK();
}

}  // namespace jetflow::expression
