#include "jetflow/transforms/expression/function_table.h"

#include <algorithm>
#include <utility>

namespace jetflow::expression {
namespace {

using arrow::Status;

arrow::Result<std::unique_ptr<FunctionTable>> MakeBuiltinFunctions() {
  auto table = std::make_unique<FunctionTable>();
  // The order of registration is the order in which "did you mean" breaks ties.
  ARROW_RETURN_NOT_OK(RegisterStringFunctions(table.get()));
  ARROW_RETURN_NOT_OK(RegisterNumericFunctions(table.get()));
  ARROW_RETURN_NOT_OK(RegisterConditionalFunctions(table.get()));
  ARROW_RETURN_NOT_OK(RegisterHashingFunctions(table.get()));
  ARROW_RETURN_NOT_OK(RegisterEnvironmentFunctions(table.get()));
  ARROW_RETURN_NOT_OK(RegisterTemporalFunctions(table.get()));
  ARROW_RETURN_NOT_OK(RegisterJsonFunctions(table.get()));
  return table;
}

Status CheckArity(CompileContext& context, const FunctionEntry& function,
                  const CallSite& call, size_t count) {
  size_t min = function.min_args;
  size_t max = function.max_args;
  if (count >= min && count <= max) return Status::OK();
  std::string expected =
      min == max ? std::to_string(min)
                 : std::to_string(min) + " to " +
                       (max == FunctionEntry::kVariadic ? std::string("any number of")
                                                        : std::to_string(max));
  return context.Error(call.offset, call.name + "() expects " + expected + " argument" +
                                        (max == 1 && min == 1 ? "" : "s") + ", got " +
                                        std::to_string(count));
}

}  // namespace

Status FunctionTable::Add(FunctionEntry entry) {
  if (entry.name.empty() || !entry.lower || entry.min_args > entry.max_args) {
    return Status::Invalid("function table: incomplete entry '", entry.name, "'");
  }
  if (!entry.refused) {
    bool every_argument_has_a_rule = entry.max_args == FunctionEntry::kVariadic
                                         ? !entry.arguments.empty()
                                         : entry.arguments.size() == entry.max_args;
    if (!entry.result.type || !every_argument_has_a_rule) {
      return Status::Invalid("function table: '", entry.name,
                             "' needs a result rule and one rule per argument");
    }
  }
  if (index_.count(entry.name)) {
    return Status::Invalid("function table: '", entry.name, "' is registered twice");
  }
  index_[entry.name] = entries_.size();
  if (!entry.refused) callable_names_.push_back(entry.name);
  entries_.push_back(std::move(entry));
  return Status::OK();
}

const FunctionEntry* FunctionTable::Find(std::string_view name) const {
  auto it = index_.find(std::string(name));
  return it == index_.end() ? nullptr : &entries_[it->second];
}

arrow::Result<const FunctionTable*> BuiltinFunctions() {
  static const auto* table =
      new arrow::Result<std::unique_ptr<FunctionTable>>(MakeBuiltinFunctions());
  if (!table->ok()) return table->status();
  return table->ValueUnsafe().get();
}

arrow::Result<Typed> CallFunction(CompileContext& context, const FunctionEntry& function,
                                  const CallSite& call, const std::vector<Typed>& args) {
  ARROW_RETURN_NOT_OK(CheckArity(context, function, call, args.size()));
  Arguments arguments;
  for (size_t i = 0; i < args.size(); ++i) {
    if (function.arguments.empty()) {  // a refused function: its lowering says why
      arguments.push_back(Argument{.value = args[i]});
      continue;
    }
    const ArgumentRule& rule =
        function.arguments[std::min(i, function.arguments.size() - 1)];
    ARROW_ASSIGN_OR_RAISE(auto argument, rule(context, call, args[i]));
    arguments.push_back(std::move(argument));
  }
  ARROW_ASSIGN_OR_RAISE(auto out, function.lower(context, call, arguments));
  // The table's promise about the result is checked, so that it cannot drift from the
  // lowering; a mismatch is a bug in the table, not a user error.
  if (function.result.type) {
    TypePtr promised = function.result.type(arguments);
    if (!promised || !out.type->Equals(*promised)) {
      return Status::UnknownError(
          context
              .Error(call.offset, "internal error: " + call.what() + " gave " +
                                      TypeString(*out.type) +
                                      ", but the function table promises " +
                                      function.result.description)
              .message());
    }
  }
  return out;
}

// --- Argument rules ---

ArgumentRule AnyValue() {
  return [](CompileContext&, const CallSite&, const Typed& v) -> arrow::Result<Argument> {
    return Argument{.value = v};
  };
}

ArgumentRule StringValue() {
  return [](CompileContext& context, const CallSite& call,
            const Typed& v) -> arrow::Result<Argument> {
    ARROW_ASSIGN_OR_RAISE(auto s, context.StringArg(v, call.what()));
    return Argument{.value = std::move(s)};
  };
}

ArgumentRule Utf8Value() {
  return [](CompileContext& context, const CallSite& call,
            const Typed& v) -> arrow::Result<Argument> {
    ARROW_ASSIGN_OR_RAISE(auto s, context.Utf8Arg(v, call.what()));
    return Argument{.value = std::move(s)};
  };
}

ArgumentRule NumberValue() {
  return [](CompileContext& context, const CallSite& call,
            const Typed& v) -> arrow::Result<Argument> {
    if (!IsNumeric(*v.type)) {
      return context.Error(v.offset,
                           call.what() + " expects a number, got " + TypeString(*v.type));
    }
    return Argument{.value = v};
  };
}

ArgumentRule BooleanValue(std::string what) {
  return [what = std::move(what)](CompileContext& context, const CallSite&,
                                  const Typed& v) -> arrow::Result<Argument> {
    ARROW_ASSIGN_OR_RAISE(auto b, context.Boolean(v, what));
    return Argument{.value = std::move(b)};
  };
}

ArgumentRule ConstantText(std::string what) {
  return [what = std::move(what)](CompileContext& context, const CallSite&,
                                  const Typed& v) -> arrow::Result<Argument> {
    ARROW_ASSIGN_OR_RAISE(auto text, context.ConstantString(v, what));
    return Argument{.value = v, .text = std::move(text)};
  };
}

ArgumentRule ConstantChoice(std::string what, std::vector<std::string> choices) {
  std::string expected;
  for (size_t i = 0; i < choices.size(); ++i) {
    expected += std::string(i == 0                    ? ""
                            : i + 1 == choices.size() ? " or "
                                                      : ", ") +
                "'" + choices[i] + "'";
  }
  return
      [text_rule = ConstantText(std::move(what)), choices = std::move(choices),
       expected = "expected " + expected](CompileContext& context, const CallSite& call,
                                          const Typed& v) -> arrow::Result<Argument> {
        ARROW_ASSIGN_OR_RAISE(auto argument, text_rule(context, call, v));
        if (std::find(choices.begin(), choices.end(), argument.text) == choices.end()) {
          return context.Error(v.offset, expected);
        }
        return argument;
      };
}

ArgumentRule ConstantInteger(std::string what,
                             std::function<std::optional<std::string>(int64_t)> check) {
  return [what = std::move(what), check = std::move(check)](
             CompileContext& context, const CallSite&,
             const Typed& v) -> arrow::Result<Argument> {
    ARROW_ASSIGN_OR_RAISE(int64_t value, context.ConstantInt(v, what));
    if (check) {
      if (auto problem = check(value)) return context.Error(v.offset, *problem);
    }
    return Argument{.value = v, .integer = value};
  };
}

// --- Result rules ---

ResultRule Returns(TypePtr type) {
  std::string description = TypeString(*type);
  return {std::move(description),
          [type = std::move(type)](const Arguments&) { return type; }};
}

ResultRule TypeOfArgument(size_t index) {
  return {"the type of argument " + std::to_string(index + 1),
          [index](const Arguments& args) -> TypePtr {
            return index < args.size() ? args[index].value.type : nullptr;
          }};
}

ResultRule CommonTypeOfArguments(size_t first) {
  return {"the common type of the arguments from argument " + std::to_string(first + 1),
          [first](const Arguments& args) -> TypePtr {
            TypePtr common = arrow::null();
            for (size_t i = first; i < args.size() && common; ++i) {
              common = CommonType(common, args[i].value.type);
            }
            return common;
          }};
}

}  // namespace jetflow::expression
