#include "jetflow/core/secret_redaction.h"

#include <algorithm>
#include <cctype>

namespace jetflow {

namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Every byte outside RFC 3986's unreserved set as %XX, as a client would write it.
std::string PercentEncode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (std::isalnum(byte) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(kHex[byte >> 4]);
      out.push_back(kHex[byte & 15]);
    }
  }
  return out;
}

}  // namespace

std::optional<std::string> PercentDecode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out.push_back(text[i]);
      continue;
    }
    if (i + 2 >= text.size()) return std::nullopt;
    const int high = HexValue(text[i + 1]);
    const int low = HexValue(text[i + 2]);
    if (high < 0 || low < 0) return std::nullopt;
    out.push_back(static_cast<char>(high * 16 + low));
    i += 2;
  }
  return out;
}

std::string RedactSecrets(std::string_view text,
                          const std::vector<std::string>& secrets) {
  std::vector<std::string> forms;
  for (const std::string& secret : secrets) {
    if (secret.empty()) continue;
    forms.push_back(secret);
    forms.push_back(PercentEncode(secret));
    if (auto decoded = PercentDecode(secret); decoded && !decoded->empty()) {
      forms.push_back(*decoded);
    }
  }
  // Longest first, so a secret that contains another is replaced whole.
  std::sort(forms.begin(), forms.end(), [](const std::string& a, const std::string& b) {
    return a.size() > b.size();
  });
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    auto found = std::find_if(forms.begin(), forms.end(), [&](const std::string& form) {
      return text.compare(i, form.size(), form) == 0;
    });
    if (found == forms.end()) {
      out.push_back(text[i++]);
    } else {
      out.append(kRedacted);
      i += found->size();
    }
  }
  return out;
}

std::optional<TextSpan> UriPasswordSpan(std::string_view uri) {
  const size_t scheme_end = uri.find("://");
  if (scheme_end == std::string_view::npos) return std::nullopt;
  const size_t start = scheme_end + 3;
  const std::string_view rest = uri.substr(start);
  // The user-info ends at the last '@': a password holding '@', '/' or '?' is found
  // whole, and an '@' in the path or query masks more than the password, never less.
  const size_t at = rest.rfind('@');
  if (at == std::string_view::npos) return std::nullopt;
  const size_t colon = rest.substr(0, at).find(':');
  if (colon == std::string_view::npos) return std::nullopt;
  return TextSpan{start + colon + 1, at - colon - 1};
}

std::string RedactUriUserInfo(std::string_view uri) {
  auto span = UriPasswordSpan(uri);
  std::string out(uri);
  if (span) out.replace(span->offset, span->length, kRedacted);
  return out;
}

}  // namespace jetflow
