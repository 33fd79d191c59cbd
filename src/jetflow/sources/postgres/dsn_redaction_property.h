// The property that the DSN-redaction fuzzer and its unit test check, for one password:
// written into a DSN in each form libpq accepts, it never survives RedactDsn(), and never
// survives RedactSecrets() over a message that quotes it as libpq does.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "jetflow/core/secret_redaction.h"
#include "jetflow/sources/postgres/connection.h"

namespace jetflow::postgres::testing {

/// "" if `password` is hidden in every form; otherwise what leaked, for the report.
inline std::string DsnRedactionProblem(const std::string& password) {
  if (password.empty() || password.find('\0') != std::string::npos) return "";
  auto encode = [](std::string_view text) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    std::string out;
    for (char c : text) {
      const auto byte = static_cast<unsigned char>(c);
      out += '%';
      out += kHex[byte >> 4];
      out += kHex[byte & 15];
    }
    return out;
  };
  auto quote = [](std::string_view text) {
    std::string out = "'";
    for (char c : text) {
      if (c == '\'' || c == '\\') out += '\\';
      out += c;
    }
    return out + "'";
  };
  struct Form {
    std::string dsn;
    std::string redacted;
    std::string token;  // the password as the DSN spells it
  };
  const std::string uri_tail = "@db.example:5432/shop?sslmode=disable";
  std::vector<Form> forms = {
      {"postgresql://etl:" + password + uri_tail, "postgresql://etl:***" + uri_tail,
       password},
      {"postgresql://etl:" + encode(password) + uri_tail,
       "postgresql://etl:***" + uri_tail, encode(password)},
      {"postgres://db.example/shop?user=etl&password=" + encode(password),
       "postgres://db.example/shop?user=etl&password=***", encode(password)},
      {"host=db.example password=" + quote(password) + " user=etl",
       "host=db.example password=*** user=etl", quote(password)},
  };
  const bool plain_word = password.find_first_of(" \t\n\r\v\f'\\") == std::string::npos;
  if (plain_word) {
    forms.push_back({"host=db.example password=" + password + " user=etl",
                     "host=db.example password=*** user=etl", password});
  }
  for (const Form& form : forms) {
    const std::string redacted = RedactDsn(form.dsn);
    if (redacted != form.redacted) return "RedactDsn(" + form.dsn + ") = " + redacted;
    // Short passwords and ones made of '*' occur in any text; only longer ones can be
    // checked by absence.
    if (password.size() < 3 || password.find('*') != std::string::npos) continue;
    const std::string message = "invalid percent-encoded token: \"" + form.token +
                                "\" (password " + password + ")";
    const std::string shown = RedactSecrets(message, DsnSecrets(form.dsn, std::nullopt));
    if (shown.find(password) != std::string::npos) {
      return "the password survives in \"" + shown + "\" (dsn " + form.dsn + ")";
    }
  }
  return "";
}

}  // namespace jetflow::postgres::testing
