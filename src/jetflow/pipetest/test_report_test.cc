#include "jetflow/pipetest/test_report.h"

#include <gtest/gtest.h>

namespace jetflow::pipetest {
namespace {

TEST(TestReportTest, EscapesXml) {
  EXPECT_EQ(XmlEscape("a<b & \"c\" 'd'>\x01\n"),
            "a&lt;b &amp; &quot;c&quot; &apos;d&apos;&gt;\\x01\n");
}

TEST(TestReportTest, JUnitCountsFailuresAndErrors) {
  CaseResult ok{"t.test.yaml", "fine", {"t.test.yaml", 2, 5}, true, "", 0.5};
  CaseResult bad{"t.test.yaml",
                 "a <b>",
                 {"t.test.yaml", 9, 5},
                 false,
                 "row 0, column 'x': expected 1, actual 2\nmore",
                 0.25};
  std::string xml = JUnitXml({ok, bad}, {{"u.test.yaml", "u.test.yaml:1:1: error: x"}});
  EXPECT_NE(xml.find("<testsuites name=\"jetflow test\" tests=\"3\" failures=\"1\" "
                     "errors=\"1\" time=\"0.750\">"),
            std::string::npos)
      << xml;
  EXPECT_NE(xml.find("name=\"a &lt;b&gt;\""), std::string::npos) << xml;
  EXPECT_NE(
      xml.find("<failure message=\"row 0, column &apos;x&apos;: expected 1, actual 2\">"),
      std::string::npos)
      << xml;
  EXPECT_NE(xml.find("<error message=\"u.test.yaml:1:1: error: x\">"), std::string::npos);
}

}  // namespace
}  // namespace jetflow::pipetest
