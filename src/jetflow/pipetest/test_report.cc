#include "jetflow/pipetest/test_report.h"

#include <fmt/format.h>

#include <map>

namespace jetflow::pipetest {

std::string XmlEscape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char ch : text) {
    auto c = static_cast<unsigned char>(ch);
    switch (ch) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        if (c < 0x20 && ch != '\n' && ch != '\t' && ch != '\r') {
          out += fmt::format("\\x{:02x}", c);
        } else {
          out += ch;
        }
    }
  }
  return out;
}

std::string JUnitXml(const std::vector<CaseResult>& results,
                     const std::vector<FileError>& errors) {
  struct Suite {
    std::vector<const CaseResult*> cases;
    std::vector<const FileError*> errors;
    int failures = 0;
    double seconds = 0;
  };
  std::map<std::string, Suite> suites;
  std::vector<std::string> order;
  auto suite = [&](const std::string& file) -> Suite& {
    if (!suites.count(file)) order.push_back(file);
    return suites[file];
  };
  int failures = 0;
  double seconds = 0;
  for (const auto& r : results) {
    Suite& s = suite(r.file);
    s.cases.push_back(&r);
    s.failures += !r.passed;
    s.seconds += r.seconds;
    failures += !r.passed;
    seconds += r.seconds;
  }
  for (const auto& e : errors) suite(e.file).errors.push_back(&e);

  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  out += fmt::format(
      "<testsuites name=\"jetflow test\" tests=\"{}\" failures=\"{}\" errors=\"{}\" "
      "time=\"{:.3f}\">\n",
      results.size() + errors.size(), failures, errors.size(), seconds);
  for (const auto& file : order) {
    const Suite& s = suites[file];
    std::string name = XmlEscape(file);
    out += fmt::format(
        "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" "
        "time=\"{:.3f}\">\n",
        name, s.cases.size() + s.errors.size(), s.failures, s.errors.size(), s.seconds);
    for (const FileError* e : s.errors) {
      std::string first = e->message.substr(0, e->message.find('\n'));
      out += fmt::format(
          "    <testcase classname=\"{}\" name=\"(test file)\" time=\"0\">\n"
          "      <error message=\"{}\">{}</error>\n    </testcase>\n",
          name, XmlEscape(first), XmlEscape(e->message));
    }
    for (const CaseResult* r : s.cases) {
      out += fmt::format(
          "    <testcase classname=\"{}\" name=\"{}\" time=\"{:.3f}\" file=\"{}\" "
          "line=\"{}\"",
          name, XmlEscape(r->name), r->seconds, name, r->location.line);
      if (r->passed) {
        out += "/>\n";
        continue;
      }
      std::string first = r->message.substr(0, r->message.find('\n'));
      out +=
          fmt::format(">\n      <failure message=\"{}\">{}</failure>\n    </testcase>\n",
                      XmlEscape(first), XmlEscape(r->message));
    }
    out += "  </testsuite>\n";
  }
  out += "</testsuites>\n";
  return out;
}

}  // namespace jetflow::pipetest
