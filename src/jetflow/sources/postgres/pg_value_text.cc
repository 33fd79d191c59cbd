#include "jetflow/sources/postgres/pg_value_text.h"

#include <cstdlib>

namespace jetflow::postgres {

namespace {

constexpr uint16_t kNumericNeg = 0x4000;
constexpr uint16_t kNumericNaN = 0xC000;
constexpr uint16_t kNumericPinf = 0xD000;
constexpr uint16_t kNumericNinf = 0xF000;

size_t WriteLiteral(const char* text, char* out) {
  size_t n = 0;
  while (text[n] != '\0') {
    out[n] = text[n];
    ++n;
  }
  return n;
}

size_t WriteUnsigned(uint32_t value, char* out) {
  char tmp[10];
  int n = 0;
  do {
    tmp[n++] = static_cast<char>('0' + value % 10);
    value /= 10;
  } while (value != 0);
  for (int i = 0; i < n; ++i) out[i] = tmp[n - 1 - i];
  return static_cast<size_t>(n);
}

size_t WriteHex(uint32_t value, char* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  char tmp[8];
  int n = 0;
  do {
    tmp[n++] = kHex[value & 0xf];
    value >>= 4;
  } while (value != 0);
  for (int i = 0; i < n; ++i) out[i] = tmp[n - 1 - i];
  return static_cast<size_t>(n);
}

void Write2(int value, char* out) {
  out[0] = static_cast<char>('0' + value / 10);
  out[1] = static_cast<char>('0' + value % 10);
}

size_t WriteIpv4(const uint8_t* address, char* out) {
  size_t n = 0;
  for (int i = 0; i < 4; ++i) {
    if (i > 0) out[n++] = '.';
    n += WriteUnsigned(address[i], out + n);
  }
  return n;
}

// PostgreSQL's inet_net_ntop_ipv6 (src/port/inet_net_ntop.c): the longest run of at
// least two zero words becomes "::" (the first one on ties), and ::a.b.c.d,
// ::ffff:a.b.c.d and ::0.0.0.0/96-style embedded IPv4 addresses keep dotted quads.
size_t WriteIpv6(const uint8_t* address, char* out) {
  uint32_t words[8];
  for (size_t i = 0; i < 8; ++i) words[i] = (address[2 * i] << 8) | address[2 * i + 1];
  int best_base = -1, best_len = 0, cur_base = -1, cur_len = 0;
  for (int i = 0; i < 8; ++i) {
    if (words[i] == 0) {
      if (cur_base == -1) {
        cur_base = i;
        cur_len = 1;
      } else {
        ++cur_len;
      }
    } else if (cur_base != -1) {
      if (best_base == -1 || cur_len > best_len) {
        best_base = cur_base;
        best_len = cur_len;
      }
      cur_base = -1;
    }
  }
  if (cur_base != -1 && (best_base == -1 || cur_len > best_len)) {
    best_base = cur_base;
    best_len = cur_len;
  }
  if (best_base != -1 && best_len < 2) best_base = -1;
  size_t n = 0;
  for (int i = 0; i < 8; ++i) {
    if (best_base != -1 && i >= best_base && i < best_base + best_len) {
      if (i == best_base) out[n++] = ':';
      continue;
    }
    if (i != 0) out[n++] = ':';
    if (i == 6 && best_base == 0 &&
        (best_len == 6 || (best_len == 7 && words[7] != 0x0001) ||
         (best_len == 5 && words[5] == 0xffff))) {
      n += WriteIpv4(address + 12, out + n);
      return n;
    }
    n += WriteHex(words[i], out + n);
  }
  if (best_base != -1 && best_base + best_len == 8) out[n++] = ':';
  return n;
}

}  // namespace

int64_t NumericTextMaxSize(int16_t ndigits, int16_t weight, int16_t dscale) {
  // Sign, integer digits (4 per group, at least "0"), point, dscale digits plus the
  // last group's overrun (written, then cut back to dscale).
  int64_t integer = weight < 0 ? 1 : (int64_t{weight} + 1) * 4;
  return 16 + integer + (dscale > 0 ? int64_t{dscale} + 4 : 0);
}

size_t WriteNumericText(const int16_t* digits, int ndigits, int weight, uint16_t sign,
                        int dscale, char* out) {
  if (sign == kNumericNaN) return WriteLiteral("NaN", out);
  if (sign == kNumericPinf) return WriteLiteral("Infinity", out);
  if (sign == kNumericNinf) return WriteLiteral("-Infinity", out);
  // get_str_from_var (src/backend/utils/adt/numeric.c).
  char* cp = out;
  if (sign == kNumericNeg) *cp++ = '-';
  int d;
  if (weight < 0) {
    d = weight + 1;
    *cp++ = '0';
  } else {
    for (d = 0; d <= weight; ++d) {
      int dig = d < ndigits ? digits[d] : 0;
      bool putit = d > 0;
      int d1 = dig / 1000;
      dig -= d1 * 1000;
      putit |= d1 > 0;
      if (putit) *cp++ = static_cast<char>(d1 + '0');
      d1 = dig / 100;
      dig -= d1 * 100;
      putit |= d1 > 0;
      if (putit) *cp++ = static_cast<char>(d1 + '0');
      d1 = dig / 10;
      dig -= d1 * 10;
      putit |= d1 > 0;
      if (putit) *cp++ = static_cast<char>(d1 + '0');
      *cp++ = static_cast<char>(dig + '0');
    }
  }
  if (dscale > 0) {
    *cp++ = '.';
    char* end = cp + dscale;
    for (int i = 0; i < dscale; d++, i += 4) {
      int dig = (d >= 0 && d < ndigits) ? digits[d] : 0;
      int d1 = dig / 1000;
      dig -= d1 * 1000;
      *cp++ = static_cast<char>(d1 + '0');
      d1 = dig / 100;
      dig -= d1 * 100;
      *cp++ = static_cast<char>(d1 + '0');
      d1 = dig / 10;
      dig -= d1 * 10;
      *cp++ = static_cast<char>(d1 + '0');
      *cp++ = static_cast<char>(dig + '0');
    }
    cp = end;
  }
  return static_cast<size_t>(cp - out);
}

size_t WriteInetText(int family, int bits, bool is_cidr, const uint8_t* address,
                     char* out) {
  const bool v4 = family == 2;
  size_t n = v4 ? WriteIpv4(address, out) : WriteIpv6(address, out);
  if (is_cidr || bits != (v4 ? 32 : 128)) {
    out[n++] = '/';
    n += WriteUnsigned(static_cast<uint32_t>(bits), out + n);
  }
  return n;
}

size_t WriteMacText(const uint8_t* bytes, int size, char* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  size_t n = 0;
  for (int i = 0; i < size; ++i) {
    if (i > 0) out[n++] = ':';
    out[n++] = kHex[bytes[i] >> 4];
    out[n++] = kHex[bytes[i] & 0xf];
  }
  return n;
}

size_t WriteBitText(const uint8_t* bytes, int32_t bit_count, char* out) {
  for (int32_t i = 0; i < bit_count; ++i) {
    out[i] = (bytes[i >> 3] & (0x80 >> (i & 7))) ? '1' : '0';
  }
  return static_cast<size_t>(bit_count);
}

size_t WriteTimetzText(int64_t micros, int32_t zone_west_seconds, char* out) {
  int64_t seconds = micros / 1000000;
  int fraction = static_cast<int>(micros % 1000000);
  Write2(static_cast<int>(seconds / 3600), out);
  out[2] = ':';
  Write2(static_cast<int>(seconds / 60 % 60), out + 3);
  out[5] = ':';
  Write2(static_cast<int>(seconds % 60), out + 6);
  size_t n = 8;
  if (fraction != 0) {
    out[n++] = '.';
    int divisor = 100000;
    while (fraction != 0) {
      out[n++] = static_cast<char>('0' + fraction / divisor);
      fraction %= divisor;
      divisor /= 10;
    }
  }
  // EncodeTimezone: the stored zone is west-positive, printed east-positive.
  int sec = std::abs(zone_west_seconds);
  int min = sec / 60;
  sec -= min * 60;
  int hour = min / 60;
  min -= hour * 60;
  out[n++] = zone_west_seconds <= 0 ? '+' : '-';
  Write2(hour, out + n);
  n += 2;
  if (sec != 0 || min != 0) {
    out[n++] = ':';
    Write2(min, out + n);
    n += 2;
  }
  if (sec != 0) {
    out[n++] = ':';
    Write2(sec, out + n);
    n += 2;
  }
  return n;
}

}  // namespace jetflow::postgres
