// PgValueText: PostgreSQL's own text output for the binary values that jetflow keeps as
// strings (numeric beyond decimal128, inet/cidr, macaddr, bit strings, timetz). Each
// writer appends to a caller-reserved buffer and returns the number of bytes written, so
// the decoder formats straight into an Arrow data buffer.
//
// Threading: pure functions.
#pragma once

#include <cstddef>
#include <cstdint>

namespace jetflow::postgres {

/// Upper bound of WriteNumericText's output for a value with these header fields.
int64_t NumericTextMaxSize(int16_t ndigits, int16_t weight, int16_t dscale);

/// numeric_out: "-12.3400", "0.001", "NaN", "Infinity", "-Infinity". `digits` holds
/// `ndigits` base-10000 digits (host order, each < 10000); `sign` is the wire sign word.
size_t WriteNumericText(const int16_t* digits, int ndigits, int weight, uint16_t sign,
                        int dscale, char* out);

/// Longest text of inet/cidr: "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255/128".
inline constexpr size_t kInetTextMaxSize = 50;

/// network_out: `family` 2 (IPv4, 4 bytes) or 3 (IPv6, 16 bytes); "/bits" unless an
/// inet host address (32 or 128 bits), always for cidr.
size_t WriteInetText(int family, int bits, bool is_cidr, const uint8_t* address,
                     char* out);

/// macaddr_out / macaddr8_out: lowercase hex pairs separated by ':'.
size_t WriteMacText(const uint8_t* bytes, int size, char* out);

/// bit_out: one '0' or '1' per bit, most significant bit of each byte first.
size_t WriteBitText(const uint8_t* bytes, int32_t bit_count, char* out);

/// Longest text of timetz: "24:00:00.000000+15:59:59".
inline constexpr size_t kTimetzTextMaxSize = 32;

/// timetz_out with ISO DateStyle: "HH:MM:SS[.ffffff]+HH[:MM[:SS]]". `micros` is the time
/// of day, `zone_west_seconds` the wire zone (seconds west of UTC, as PostgreSQL stores
/// it). REQUIRES: 0 <= micros <= 86400000000, |zone| < 100 hours.
size_t WriteTimetzText(int64_t micros, int32_t zone_west_seconds, char* out);

}  // namespace jetflow::postgres
