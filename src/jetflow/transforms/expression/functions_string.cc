// String functions: case, trimming, slicing, search and replace, regular expressions,
// splitting (docs/expressions.md, "Strings").
#include <arrow/api.h>
#include <arrow/compute/api.h>

#include <limits>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "jetflow/transforms/expression/function_table.h"

namespace jetflow::expression {
namespace {

namespace cp = arrow::compute;

// Rewrites `pattern` so that capture group `group` (0 = the whole match) is named
// and every other unnamed group is non-capturing: Arrow's extract_regex returns named
// groups only and rejects unnamed ones.
arrow::Result<std::string> NameGroup(CompileContext& context, const std::string& pattern,
                                     int64_t group, const Typed& at) {
  const std::string kName = "jetflow_group";
  std::string out;
  int64_t count = 0;
  bool found = group == 0;
  bool in_class = false;
  for (size_t i = 0; i < pattern.size(); ++i) {
    char c = pattern[i];
    out.push_back(c);
    if (c == '\\') {
      if (i + 1 < pattern.size()) out.push_back(pattern[++i]);
      continue;
    }
    if (in_class) {
      if (c == ']') in_class = false;
      continue;
    }
    if (c == '[') {
      in_class = true;
      if (i + 1 < pattern.size() && pattern[i + 1] == ']') out.push_back(pattern[++i]);
      continue;
    }
    if (c != '(') continue;
    bool named =
        pattern.compare(i + 1, 3, "?P<") == 0 ||
        (pattern.compare(i + 1, 2, "?<") == 0 && pattern.compare(i + 1, 3, "?<=") != 0 &&
         pattern.compare(i + 1, 3, "?<!") != 0);
    bool capturing = named || i + 1 >= pattern.size() || pattern[i + 1] != '?';
    if (!capturing) continue;
    if (++count == group) {
      found = true;
      if (named) {  // replace the user's name by ours
        size_t close = pattern.find('>', i);
        if (close == std::string::npos) break;
        i = close;
      }
      out += "?P<" + kName + ">";
    } else if (!named) {
      out += "?:";
    }
  }
  if (!found) {
    return context.Error(at.offset,
                         "the pattern has no capture group " + std::to_string(group));
  }
  if (group == 0) return "(?P<" + kName + ">" + out + ")";
  return out;
}

// A regular-expression function: the pattern is tried once at compile time, so that a
// bad one is reported at its own location.
arrow::Result<Typed> Regex(CompileContext& context, const CallSite& call,
                           const Typed& pattern_arg, const std::string& function,
                           std::shared_ptr<cp::FunctionOptions> options, const Typed& s) {
  ARROW_RETURN_NOT_OK(context.Probe(pattern_arg, function, arrow::utf8(),
                                    std::make_shared<arrow::StringScalar>(""), options,
                                    "regular expression"));
  return context.MakeCall(call.offset, function, {s}, options, call.what());
}

// Arrow's string kernels keep the width of their input's offsets.
ResultRule Int32OrInt64ForLargeString() {
  return {"int32 (int64 for a large_string)", [](const Arguments& a) -> TypePtr {
            return a[0].value.type->id() == arrow::Type::LARGE_STRING ? arrow::int64()
                                                                      : arrow::int32();
          }};
}

ResultRule ListOfArgument1() {
  return {"a list of the type of argument 1",
          [](const Arguments& a) -> TypePtr { return arrow::list(a[0].value.type); }};
}

ResultRule StringOrLargeString() {
  return {"large_string if an argument is one, else string",
          [](const Arguments& a) -> TypePtr {
            for (const auto& arg : a) {
              if (arg.value.type->id() == arrow::Type::LARGE_STRING) {
                return arrow::large_utf8();
              }
            }
            return arrow::utf8();
          }};
}

std::optional<std::string> NotZero(int64_t value, const char* problem) {
  if (value != 0) return std::nullopt;
  return problem;
}

std::optional<std::string> NotNegative(int64_t value, const char* problem) {
  if (value >= 0) return std::nullopt;
  return problem;
}

}  // namespace

arrow::Status RegisterStringFunctions(FunctionTable* table) {
  for (auto [name, kernel] :
       {std::pair{"lower", "utf8_lower"}, {"upper", "utf8_upper"}}) {
    ARROW_RETURN_NOT_OK(table->Add(
        {.name = name,
         .min_args = 1,
         .max_args = 1,
         .arguments = {StringValue()},
         .result = TypeOfArgument(0),
         .lower = [kernel = std::string(kernel)](
                      CompileContext& context, const CallSite& call, const Arguments& a) {
           return context.MakeCall(call.offset, kernel, {a[0].value}, nullptr,
                                   call.what());
         }}));
  }
  for (auto [name, kernel] : {std::pair{"trim", "utf8_trim"},
                              {"ltrim", "utf8_ltrim"},
                              {"rtrim", "utf8_rtrim"}}) {
    ARROW_RETURN_NOT_OK(table->Add(
        {.name = name,
         .min_args = 1,
         .max_args = 2,
         .arguments = {StringValue(), ConstantText("the characters to trim")},
         .result = TypeOfArgument(0),
         .lower = [kernel = std::string(kernel)](
                      CompileContext& context, const CallSite& call, const Arguments& a) {
           if (a.size() == 1) {  // Unicode whitespace
             return context.MakeCall(call.offset, kernel + "_whitespace", {a[0].value},
                                     nullptr, call.what());
           }
           return context.MakeCall(call.offset, kernel, {a[0].value},
                                   std::make_shared<cp::TrimOptions>(a[1].text),
                                   call.what());
         }}));
  }
  for (const char* name : {"length", "char_length"}) {
    ARROW_RETURN_NOT_OK(table->Add(
        {.name = name,
         .min_args = 1,
         .max_args = 1,
         .arguments = {StringValue()},
         .result = Int32OrInt64ForLargeString(),
         .lower = [](CompileContext& context, const CallSite& call, const Arguments& a) {
           return context.MakeCall(call.offset, "utf8_length", {a[0].value}, nullptr,
                                   call.what());
         }}));
  }
  for (const char* name : {"substring", "substr"}) {
    ARROW_RETURN_NOT_OK(table->Add(
        {.name = name,
         .min_args = 2,
         .max_args = 3,
         .arguments = {StringValue(),
                       ConstantInteger("the start position",
                                       [](int64_t start) {
                                         return NotZero(
                                             start,
                                             "positions are 1-based (1 is the first "
                                             "character; negative positions count from "
                                             "the end)");
                                       }),
                       ConstantInteger("the length",
                                       [](int64_t length) {
                                         return NotNegative(
                                             length, "the length must not be negative");
                                       })},
         .result = TypeOfArgument(0),
         .lower = [](CompileContext& context, const CallSite& call, const Arguments& a) {
           int64_t start = a[1].integer;
           int64_t from = start > 0 ? start - 1 : start;
           int64_t to = std::numeric_limits<int64_t>::max();
           if (a.size() == 3) {
             int64_t len = a[2].integer;
             if (start > 0 || from + len < 0) to = from + len;
           }
           return context.MakeCall(call.offset, "utf8_slice_codeunits", {a[0].value},
                                   std::make_shared<cp::SliceOptions>(from, to),
                                   call.what());
         }}));
  }
  ARROW_RETURN_NOT_OK(table->Add(
      {.name = "replace",
       .min_args = 3,
       .max_args = 3,
       .arguments = {StringValue(), ConstantText("the text to replace"),
                     ConstantText("the replacement")},
       .result = TypeOfArgument(0),
       .lower = [](CompileContext& context, const CallSite& call,
                   const Arguments& a) -> arrow::Result<Typed> {
         if (a[1].text.empty()) {
           return context.Error(a[1].value.offset,
                                "the text to replace must not be empty");
         }
         return context.MakeCall(
             call.offset, "replace_substring", {a[0].value},
             std::make_shared<cp::ReplaceSubstringOptions>(a[1].text, a[2].text),
             call.what());
       }}));
  ARROW_RETURN_NOT_OK(table->Add(
      {.name = "concat",
       .min_args = 1,
       .max_args = FunctionEntry::kVariadic,
       .arguments = {AnyValue()},
       .result = StringOrLargeString(),
       .lower = [](CompileContext& context, const CallSite& call, const Arguments& a) {
         std::vector<Typed> values;
         for (const auto& arg : a) values.push_back(arg.value);
         return context.Concat(call.offset, std::move(values), call.what());
       }}));
  for (const char* name : {"regexp_like", "regexp_match"}) {
    ARROW_RETURN_NOT_OK(table->Add(
        {.name = name,
         .min_args = 2,
         .max_args = 2,
         .arguments = {StringValue(), ConstantText("the pattern")},
         .result = Returns(arrow::boolean()),
         .lower = [](CompileContext& context, const CallSite& call, const Arguments& a) {
           return Regex(context, call, a[1].value, "match_substring_regex",
                        std::make_shared<cp::MatchSubstringOptions>(a[1].text),
                        a[0].value);
         }}));
  }
  ARROW_RETURN_NOT_OK(table->Add(
      {.name = "regexp_replace",
       .min_args = 3,
       .max_args = 3,
       .arguments = {StringValue(), ConstantText("the pattern"),
                     ConstantText("the replacement")},
       .result = TypeOfArgument(0),
       .lower = [](CompileContext& context, const CallSite& call, const Arguments& a) {
         return Regex(context, call, a[1].value, "replace_substring_regex",
                      std::make_shared<cp::ReplaceSubstringOptions>(a[1].text, a[2].text),
                      a[0].value);
       }}));
  ARROW_RETURN_NOT_OK(table->Add(
      {.name = "regexp_extract",
       .min_args = 2,
       .max_args = 3,
       .arguments = {StringValue(), ConstantText("the pattern"),
                     ConstantInteger("the group number",
                                     [](int64_t group) {
                                       return NotNegative(
                                           group, "the group number must be >= 0");
                                     })},
       .result = TypeOfArgument(0),
       .lower = [](CompileContext& context, const CallSite& call,
                   const Arguments& a) -> arrow::Result<Typed> {
         const std::string& pattern = a[1].text;
         int64_t group = a.size() == 3 ? a[2].integer : 0;
         // Check the user's pattern as written first, so errors do not show our rewrite.
         ARROW_RETURN_NOT_OK(context.Probe(
             a[1].value, "match_substring_regex", arrow::utf8(),
             std::make_shared<arrow::StringScalar>(""),
             std::make_shared<cp::MatchSubstringOptions>(pattern), "regular expression"));
         ARROW_ASSIGN_OR_RAISE(auto named, NameGroup(context, pattern, group,
                                                     a[a.size() == 3 ? 2 : 1].value));
         ARROW_ASSIGN_OR_RAISE(
             auto extracted,
             context.MakeCall(call.offset, "extract_regex", {a[0].value},
                              std::make_shared<cp::ExtractRegexOptions>(named),
                              call.what()));
         return context.MakeCall(
             call.offset, "struct_field", {extracted},
             std::make_shared<cp::StructFieldOptions>(arrow::FieldRef("jetflow_group")),
             call.what());
       }}));
  ARROW_RETURN_NOT_OK(table->Add(
      {.name = "split",
       .min_args = 2,
       .max_args = 2,
       .arguments = {StringValue(), ConstantText("the separator")},
       .result = ListOfArgument1(),
       .lower = [](CompileContext& context, const CallSite& call,
                   const Arguments& a) -> arrow::Result<Typed> {
         if (a[1].text.empty()) {
           return context.Error(a[1].value.offset, "the separator must not be empty");
         }
         return context.MakeCall(call.offset, "split_pattern", {a[0].value},
                                 std::make_shared<cp::SplitPatternOptions>(a[1].text),
                                 call.what());
       }}));
  ARROW_RETURN_NOT_OK(table->Add(
      {.name = "split_part",
       .min_args = 3,
       .max_args = 3,
       .arguments = {Utf8Value(), ConstantText("the separator"),
                     ConstantInteger("the field number",
                                     [](int64_t index) {
                                       return NotZero(
                                           index,
                                           "field numbers are 1-based (or negative)");
                                     })},
       .result = Returns(arrow::utf8()),
       .lower = [](CompileContext& context, const CallSite& call,
                   const Arguments& a) -> arrow::Result<Typed> {
         ARROW_ASSIGN_OR_RAISE(auto sep, context.CastTo(a[1].value, arrow::utf8()));
         ARROW_ASSIGN_OR_RAISE(auto index, context.CastTo(a[2].value, arrow::int64()));
         return context.MakeCall(call.offset, "jetflow_split_part",
                                 {a[0].value, sep, index}, nullptr, call.what());
       }}));
  for (auto [name, kernel] : {std::pair{"starts_with", "starts_with"},
                              {"ends_with", "ends_with"},
                              {"contains", "match_substring"}}) {
    ARROW_RETURN_NOT_OK(table->Add(
        {.name = name,
         .min_args = 2,
         .max_args = 2,
         .arguments = {StringValue(), ConstantText("the " + std::string(name) + " text")},
         .result = Returns(arrow::boolean()),
         .lower = [kernel = std::string(kernel)](
                      CompileContext& context, const CallSite& call, const Arguments& a) {
           return context.MakeCall(call.offset, kernel, {a[0].value},
                                   std::make_shared<cp::MatchSubstringOptions>(a[1].text),
                                   call.what());
         }}));
  }
  return arrow::Status::OK();
}

}  // namespace jetflow::expression
