#include "jetflow/sources/iso_time.h"

namespace jetflow::sources {

namespace {

constexpr int64_t kMicrosPerSecond = 1000000;

// Reads exactly `width` digits at `*pos`.
bool ReadDigits(std::string_view text, size_t* pos, int width, int* out) {
  if (*pos + static_cast<size_t>(width) > text.size()) return false;
  int value = 0;
  for (int i = 0; i < width; ++i) {
    char c = text[*pos + static_cast<size_t>(i)];
    if (c < '0' || c > '9') return false;
    value = value * 10 + (c - '0');
  }
  *pos += static_cast<size_t>(width);
  *out = value;
  return true;
}

bool IsLeapYear(int year) {
  return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

int DaysInMonth(int year, int month) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return month == 2 && IsLeapYear(year) ? 29 : kDays[month - 1];
}

// "YYYY-MM-DD" at the start of `text`; advances `pos`.
bool ReadDate(std::string_view text, size_t* pos, int64_t* days) {
  int year = 0, month = 0, day = 0;
  if (!ReadDigits(text, pos, 4, &year) || *pos >= text.size() || text[(*pos)++] != '-' ||
      !ReadDigits(text, pos, 2, &month) || *pos >= text.size() || text[(*pos)++] != '-' ||
      !ReadDigits(text, pos, 2, &day)) {
    return false;
  }
  if (month < 1 || month > 12 || day < 1 || day > DaysInMonth(year, month)) return false;
  *days = DaysFromCivil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
  return true;
}

}  // namespace

// Howard Hinnant's days_from_civil.
int64_t DaysFromCivil(int64_t year, unsigned month, unsigned day) {
  year -= month <= 2 ? 1 : 0;
  const int64_t era = (year >= 0 ? year : year - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(year - era * 400);
  const unsigned doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

std::optional<int32_t> ParseIsoDate(std::string_view text) {
  size_t pos = 0;
  int64_t days = 0;
  if (!ReadDate(text, &pos, &days) || pos != text.size()) return std::nullopt;
  return static_cast<int32_t>(days);
}

std::optional<int64_t> ParseIsoTimestamp(std::string_view text) {
  size_t pos = 0;
  int64_t days = 0;
  if (!ReadDate(text, &pos, &days)) return std::nullopt;
  int64_t micros = days * 86400 * kMicrosPerSecond;
  if (pos == text.size()) return micros;
  if (text[pos] != 'T' && text[pos] != 't' && text[pos] != ' ') return std::nullopt;
  ++pos;
  int hour = 0, minute = 0, second = 0;
  if (!ReadDigits(text, &pos, 2, &hour) || pos >= text.size() || text[pos++] != ':' ||
      !ReadDigits(text, &pos, 2, &minute)) {
    return std::nullopt;
  }
  if (pos < text.size() && text[pos] == ':') {
    ++pos;
    if (!ReadDigits(text, &pos, 2, &second)) return std::nullopt;
  }
  if (hour > 23 || minute > 59 || second > 59) return std::nullopt;
  int64_t fraction = 0;
  if (pos < text.size() && (text[pos] == '.' || text[pos] == ',')) {
    ++pos;
    int digits = 0;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      int digit = text[pos++] - '0';
      if (digits < 6) {
        fraction = fraction * 10 + digit;
      } else if (digit != 0) {
        return std::nullopt;  // sub-microsecond precision would be lost
      }
      ++digits;
    }
    if (digits == 0 || digits > 9) return std::nullopt;
    for (int i = digits; i < 6; ++i) fraction *= 10;
  }
  micros += ((hour * 60 + minute) * 60 + second) * kMicrosPerSecond + fraction;
  if (pos == text.size()) return micros;
  if (text[pos] == 'Z' || text[pos] == 'z') {
    return pos + 1 == text.size() ? std::optional<int64_t>(micros) : std::nullopt;
  }
  if (text[pos] != '+' && text[pos] != '-') return std::nullopt;
  const int sign = text[pos++] == '+' ? 1 : -1;
  int offset_hours = 0, offset_minutes = 0;
  if (!ReadDigits(text, &pos, 2, &offset_hours)) return std::nullopt;
  if (pos < text.size() && text[pos] == ':') {
    ++pos;
    if (!ReadDigits(text, &pos, 2, &offset_minutes)) return std::nullopt;
  } else if (pos < text.size() && !ReadDigits(text, &pos, 2, &offset_minutes)) {
    return std::nullopt;
  }
  if (pos != text.size() || offset_hours > 23 || offset_minutes > 59) return std::nullopt;
  // Local time = UTC + offset, so UTC = local - offset.
  const int offset_seconds = (offset_hours * 60 + offset_minutes) * 60;
  return micros - int64_t{sign} * offset_seconds * kMicrosPerSecond;
}

}  // namespace jetflow::sources
