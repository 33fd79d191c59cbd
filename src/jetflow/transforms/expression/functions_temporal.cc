// Dates, times and time zones: truncation, date parts, conversion between instants and
// local wall-clock time (docs/expressions.md, "Dates, times and time zones").
#include <arrow/api.h>
#include <arrow/compute/api.h>

#include <string>
#include <utility>
#include <vector>

#include "jetflow/core/config_node.h"
#include "jetflow/transforms/expression/function_table.h"

namespace jetflow::expression {
namespace {

namespace cp = arrow::compute;

arrow::Result<Typed> Temporal(CompileContext& context, const Typed& v,
                              const std::string& function) {
  if (IsNullType(*v.type)) {
    return context.CastTo(v, arrow::timestamp(arrow::TimeUnit::MICRO));
  }
  if (!IsTemporal(*v.type)) {
    return context.Error(
        v.offset, function + " expects a date or timestamp, got " + TypeString(*v.type));
  }
  return v;
}

arrow::Result<Typed> Timestamp(CompileContext& context, const Typed& v,
                               const std::string& function) {
  if (IsNullType(*v.type)) {
    return context.CastTo(v, arrow::timestamp(arrow::TimeUnit::MICRO));
  }
  if (IsDate(*v.type)) return context.CastTo(v, arrow::timestamp(arrow::TimeUnit::MICRO));
  if (!IsTimestamp(*v.type)) {
    return context.Error(v.offset,
                         function + " expects a timestamp, got " + TypeString(*v.type));
  }
  return v;
}

// A date or timestamp (NULL becomes a timestamp[us] NULL).
ArgumentRule TemporalValue() {
  return [](CompileContext& context, const CallSite& call,
            const Typed& v) -> arrow::Result<Argument> {
    ARROW_ASSIGN_OR_RAISE(auto t, Temporal(context, v, call.what()));
    return Argument{.value = std::move(t)};
  };
}

// A timestamp; a date becomes midnight (timestamp[us]).
ArgumentRule TimestampValue() {
  return [](CompileContext& context, const CallSite& call,
            const Typed& v) -> arrow::Result<Argument> {
    ARROW_ASSIGN_OR_RAISE(auto t, Timestamp(context, v, call.what()));
    return Argument{.value = std::move(t)};
  };
}

// A timestamp without a time zone: a local wall-clock time.
ArgumentRule LocalTimestampValue() {
  return [](CompileContext& context, const CallSite& call,
            const Typed& value) -> arrow::Result<Argument> {
    ARROW_ASSIGN_OR_RAISE(auto v, Timestamp(context, value, call.what()));
    if (!static_cast<const arrow::TimestampType&>(*v.type).timezone().empty()) {
      return context.Error(value.offset, call.what() +
                                             " expects a local timestamp without a "
                                             "time zone, got " +
                                             TypeString(*v.type));
    }
    return Argument{.value = std::move(v)};
  };
}

const arrow::TimestampType& TimestampTypeOf(const Argument& a) {
  return static_cast<const arrow::TimestampType&>(*a.value.type);
}

// The fields of date_part() and EXTRACT, in the order "did you mean" offers them
// (aliases are accepted but not offered).
struct DateField {
  enum class Kind { kKernel, kTimeOfDay, kDayOfWeekFromSunday, kIsoDayOfWeek, kEpoch };
  const char* name;
  Kind kind;
  const char* kernel;  // for kKernel and kTimeOfDay
  bool alias;
};

using FieldKind = DateField::Kind;
constexpr DateField kDateFields[] = {
    {"year", FieldKind::kKernel, "year", false},
    {"quarter", FieldKind::kKernel, "quarter", false},
    {"month", FieldKind::kKernel, "month", false},
    {"week", FieldKind::kKernel, "iso_week", false},
    {"day", FieldKind::kKernel, "day", false},
    {"doy", FieldKind::kKernel, "day_of_year", false},
    {"dayofyear", FieldKind::kKernel, "day_of_year", true},
    {"day_of_year", FieldKind::kKernel, "day_of_year", true},
    {"dow", FieldKind::kDayOfWeekFromSunday, nullptr, false},
    {"dayofweek", FieldKind::kDayOfWeekFromSunday, nullptr, true},
    {"day_of_week", FieldKind::kDayOfWeekFromSunday, nullptr, true},
    {"isodow", FieldKind::kIsoDayOfWeek, nullptr, false},
    {"hour", FieldKind::kTimeOfDay, "hour", false},
    {"minute", FieldKind::kTimeOfDay, "minute", false},
    {"second", FieldKind::kTimeOfDay, "second", false},
    {"millisecond", FieldKind::kTimeOfDay, "millisecond", false},
    {"microsecond", FieldKind::kTimeOfDay, "microsecond", false},
    {"epoch", FieldKind::kEpoch, nullptr, false},
};

// Field `field` of the date or timestamp `value`; errors about the field point at `at`.
arrow::Result<Typed> DatePart(CompileContext& context, const CallSite& call,
                              const std::string& field, const Typed& at,
                              const Typed& value) {
  const DateField* found = nullptr;
  std::vector<std::string> offered;
  for (const auto& f : kDateFields) {
    if (field == f.name) found = &f;
    if (!f.alias) offered.push_back(f.name);
  }
  if (!found) {
    auto match = ClosestMatch(field, offered);
    return context.Error(at.offset,
                         "unknown date part '" + field + "'" +
                             (match ? " (did you mean '" + *match + "'?)" : ""));
  }
  const Typed& v = value;
  switch (found->kind) {
    case FieldKind::kTimeOfDay:
      if (IsDate(*v.type)) {
        return context.Error(value.offset, field + " of a date is not defined");
      }
      [[fallthrough]];
    case FieldKind::kKernel:
      return context.MakeCall(call.offset, found->kernel, {v}, nullptr, call.what());
    case FieldKind::kDayOfWeekFromSunday:
      return context.MakeCall(call.offset, "day_of_week", {v},
                              std::make_shared<cp::DayOfWeekOptions>(true, 7),
                              call.what());
    case FieldKind::kIsoDayOfWeek:
      return context.MakeCall(call.offset, "day_of_week", {v},
                              std::make_shared<cp::DayOfWeekOptions>(false, 1),
                              call.what());
    case FieldKind::kEpoch: {
      ARROW_ASSIGN_OR_RAISE(auto ts, Timestamp(context, v, call.what()));
      const auto& type = static_cast<const arrow::TimestampType&>(*ts.type);
      auto options = std::make_shared<cp::CastOptions>(cp::CastOptions::Safe(
          arrow::timestamp(arrow::TimeUnit::SECOND, type.timezone())));
      options->allow_time_truncate = true;
      ARROW_ASSIGN_OR_RAISE(auto seconds,
                            context.MakeCall(call.offset, "cast", {ts}, options));
      return context.CastTo(seconds, arrow::int64());
    }
  }
  return context.Error(at.offset, "unknown date part '" + field + "'");
}

arrow::Result<Typed> DateTrunc(CompileContext& context, const CallSite& call,
                               const Arguments& a) {
  const std::string& unit_name = a[0].text;
  const Typed& v = a[1].value;
  static const std::vector<std::pair<std::string, cp::CalendarUnit>> kUnits = {
      {"microsecond", cp::CalendarUnit::MICROSECOND},
      {"millisecond", cp::CalendarUnit::MILLISECOND},
      {"second", cp::CalendarUnit::SECOND},
      {"minute", cp::CalendarUnit::MINUTE},
      {"hour", cp::CalendarUnit::HOUR},
      {"day", cp::CalendarUnit::DAY},
      {"week", cp::CalendarUnit::WEEK},
      {"month", cp::CalendarUnit::MONTH},
      {"quarter", cp::CalendarUnit::QUARTER},
      {"year", cp::CalendarUnit::YEAR}};
  std::vector<std::string> names;
  for (const auto& [name, unit] : kUnits) {
    if (name != unit_name) {
      names.push_back(name);
      continue;
    }
    auto options = std::make_shared<cp::RoundTemporalOptions>(1, unit);
    bool zoned = IsTimestamp(*v.type) &&
                 !static_cast<const arrow::TimestampType&>(*v.type).timezone().empty();
    if (!zoned || unit > cp::CalendarUnit::HOUR) {
      return context.MakeCall(call.offset, "floor_temporal", {v}, options, call.what());
    }
    // Arrow floors zoned timestamps in local time and converts back, which fails for
    // ambiguous local times (the repeated hour when DST ends). Subtract the local
    // remainder from the instant instead: the UTC offset is kept, so 02:30 CET
    // floors to 02:00 CET, never to 02:00 CEST.
    ARROW_ASSIGN_OR_RAISE(auto local,
                          context.MakeCall(call.offset, "local_timestamp", {v}));
    ARROW_ASSIGN_OR_RAISE(auto floored, context.MakeCall(call.offset, "floor_temporal",
                                                         {local}, options, call.what()));
    ARROW_ASSIGN_OR_RAISE(auto remainder,
                          context.MakeCall(call.offset, "subtract", {local, floored}));
    return context.MakeCall(call.offset, "subtract", {v, remainder}, nullptr,
                            call.what());
  }
  auto match = ClosestMatch(unit_name, names);
  return context.Error(a[0].value.offset,
                       "unknown unit '" + unit_name + "'" +
                           (match ? " (did you mean '" + *match + "'?)" : ""));
}

// The local wall-clock time in a zone of an instant; a naive input is taken as UTC.
arrow::Result<Typed> ToTimezone(CompileContext& context, const CallSite& call,
                                const Arguments& a) {
  const Typed& v = a[0].value;
  const std::string& zone = a[1].text;
  auto zoned_type = arrow::timestamp(TimestampTypeOf(a[0]).unit(), zone);
  ARROW_RETURN_NOT_OK(context.Probe(a[1].value, "local_timestamp", zoned_type,
                                    std::make_shared<arrow::Int64Scalar>(0), nullptr,
                                    "time zone"));
  // Naive timestamps are taken to be UTC; changing the zone is metadata only.
  ARROW_ASSIGN_OR_RAISE(auto zoned, context.CastTo(v, zoned_type));
  return context.MakeCall(call.offset, "local_timestamp", {zoned}, nullptr, call.what());
}

// The UTC instant of a local time in a zone, with a policy for ambiguous and
// nonexistent local times (DST).
arrow::Result<Typed> FromTimezone(CompileContext& context, const CallSite& call,
                                  const Arguments& a) {
  const Typed& v = a[0].value;
  const std::string& zone = a[1].text;
  auto ambiguous = cp::AssumeTimezoneOptions::AMBIGUOUS_EARLIEST;
  auto nonexistent = cp::AssumeTimezoneOptions::NONEXISTENT_RAISE;
  if (a.size() >= 3) {
    const std::string& mode = a[2].text;
    ambiguous = mode == "latest"  ? cp::AssumeTimezoneOptions::AMBIGUOUS_LATEST
                : mode == "error" ? cp::AssumeTimezoneOptions::AMBIGUOUS_RAISE
                                  : cp::AssumeTimezoneOptions::AMBIGUOUS_EARLIEST;
  }
  if (a.size() >= 4) {
    const std::string& mode = a[3].text;
    nonexistent = mode == "latest"     ? cp::AssumeTimezoneOptions::NONEXISTENT_LATEST
                  : mode == "earliest" ? cp::AssumeTimezoneOptions::NONEXISTENT_EARLIEST
                                       : cp::AssumeTimezoneOptions::NONEXISTENT_RAISE;
  }
  auto options =
      std::make_shared<cp::AssumeTimezoneOptions>(zone, ambiguous, nonexistent);
  ARROW_RETURN_NOT_OK(context.Probe(a[1].value, "assume_timezone", v.type,
                                    std::make_shared<arrow::Int64Scalar>(0), options,
                                    "time zone"));
  ARROW_ASSIGN_OR_RAISE(auto zoned, context.MakeCall(call.offset, "assume_timezone", {v},
                                                     options, call.what()));
  return context.CastTo(zoned, arrow::timestamp(TimestampTypeOf(a[0]).unit(), "UTC"));
}

}  // namespace

arrow::Status RegisterTemporalFunctions(FunctionTable* table) {
  ARROW_RETURN_NOT_OK(
      table->Add({.name = "date_trunc",
                  .min_args = 2,
                  .max_args = 2,
                  .arguments = {ConstantText("the unit"), TemporalValue()},
                  .result = TypeOfArgument(1),
                  .lower = DateTrunc}));
  ARROW_RETURN_NOT_OK(table->Add(
      {.name = "date_part",  // also EXTRACT(field FROM x)
       .min_args = 2,
       .max_args = 2,
       .arguments = {ConstantText("the date part"), TemporalValue()},
       .result = Returns(arrow::int64()),
       .lower = [](CompileContext& context, const CallSite& call, const Arguments& a) {
         return DatePart(context, call, a[0].text, a[0].value, a[1].value);
       }}));
  // One function per date part: year(x) is date_part('year', x).
  for (auto [name, field] : {std::pair{"year", "year"},
                             {"quarter", "quarter"},
                             {"month", "month"},
                             {"week", "week"},
                             {"day", "day"},
                             {"hour", "hour"},
                             {"minute", "minute"},
                             {"second", "second"},
                             {"millisecond", "millisecond"},
                             {"microsecond", "microsecond"},
                             {"day_of_week", "isodow"},
                             {"day_of_year", "day_of_year"}}) {
    ARROW_RETURN_NOT_OK(table->Add(
        {.name = name,
         .min_args = 1,
         .max_args = 1,
         .arguments = {TemporalValue()},
         .result = Returns(arrow::int64()),
         .lower = [field = std::string(field)](CompileContext& context,
                                               const CallSite& call, const Arguments& a) {
           return DatePart(context, call, field, a[0].value, a[0].value);
         }}));
  }
  for (const char* name : {"to_timezone", "convert_tz"}) {
    ARROW_RETURN_NOT_OK(table->Add(
        {.name = name,
         .min_args = 2,
         .max_args = 2,
         .arguments = {TimestampValue(), ConstantText("the time zone")},
         .result = {"a timestamp without a time zone, in the unit of argument 1",
                    [](const Arguments& a) -> TypePtr {
                      return arrow::timestamp(TimestampTypeOf(a[0]).unit());
                    }},
         .lower = ToTimezone}));
  }
  ARROW_RETURN_NOT_OK(table->Add(
      {.name = "from_timezone",
       .min_args = 2,
       .max_args = 4,
       .arguments = {LocalTimestampValue(), ConstantText("the time zone"),
                     ConstantChoice("the ambiguous-time policy",
                                    {"earliest", "latest", "error"}),
                     ConstantChoice("the nonexistent-time policy",
                                    {"earliest", "latest", "error"})},
       .result = {"a UTC timestamp, in the unit of argument 1",
                  [](const Arguments& a) -> TypePtr {
                    return arrow::timestamp(TimestampTypeOf(a[0]).unit(), "UTC");
                  }},
       .lower = FromTimezone}));
  return arrow::Status::OK();
}

}  // namespace jetflow::expression
