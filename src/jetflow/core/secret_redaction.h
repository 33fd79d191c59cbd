// Keeping passwords out of every message jetflow prints, logs or stores.
//
// A password reaches a message in two ways: where jetflow shows a connection string or
// URL (its user-info or `password=` part), and where a library echoes it back (libpq's
// "invalid percent-encoded token: ..." quotes the user-info of a URI verbatim). The first
// is masked by position (RedactUriUserInfo, and the sources' own DSN redaction); the
// second by value: every message built from a library's error text passes through
// RedactSecrets with the secrets of that connection, in the forms a library may print
// them (as written, percent-encoded, percent-decoded).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace jetflow {

/// What replaces a secret.
inline constexpr std::string_view kRedacted = "***";

/// `text` with every occurrence of each secret, and of its percent-encoded and
/// percent-decoded forms, replaced by "***". Empty secrets are ignored.
std::string RedactSecrets(std::string_view text, const std::vector<std::string>& secrets);

/// Where a URI's password is written: `scheme://user:PASSWORD@host...` gives the offset
/// and length of PASSWORD; nullopt when there is no user-info password. The user-info
/// ends at the last '@' of the URI, so a password holding an unencoded '@', '/' or '?'
/// (which people write) is found whole; an '@' in a path or query makes the span longer
/// than the password, never shorter. `uri` may be any "scheme://..." string.
struct TextSpan {
  size_t offset = 0;
  size_t length = 0;
};
std::optional<TextSpan> UriPasswordSpan(std::string_view uri);

/// `uri` with its user-info password (if any) replaced by "***".
std::string RedactUriUserInfo(std::string_view uri);

/// "%41" -> "A"; nullopt if `text` holds a malformed escape.
std::optional<std::string> PercentDecode(std::string_view text);

}  // namespace jetflow
