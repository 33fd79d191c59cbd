// Strict parsing of ISO-8601 dates and timestamps, for sources whose values or options
// hold them as text. Internal to src/jetflow/sources/.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace jetflow::sources {

/// Days since 1970-01-01 of a proleptic Gregorian date (month 1..12, day 1..31).
int64_t DaysFromCivil(int64_t year, unsigned month, unsigned day);

/// "YYYY-MM-DD" exactly (a valid calendar date) -> days since 1970-01-01.
std::optional<int32_t> ParseIsoDate(std::string_view text);

/// ISO-8601 date or date-time -> microseconds since 1970-01-01T00:00:00Z:
///   YYYY-MM-DD[( |T)HH:MM[:SS[.fraction]]][Z | ±HH | ±HH:MM | ±HHMM]
/// Without an offset the time is taken as UTC. The fraction may have up to 9 digits, but
/// digits beyond microseconds must be zero (nothing is rounded away silently).
std::optional<int64_t> ParseIsoTimestamp(std::string_view text);

}  // namespace jetflow::sources
