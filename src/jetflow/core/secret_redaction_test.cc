#include "jetflow/core/secret_redaction.h"

#include <gtest/gtest.h>

namespace jetflow {
namespace {

TEST(SecretRedactionTest, EveryFormOfASecretIsReplaced) {
  EXPECT_EQ(RedactSecrets("token \"a%&b\" and a%25%26b", {"a%&b"}),
            "token \"***\" and ***");
  EXPECT_EQ(RedactSecrets("decoded: p@ss", {"p%40ss"}), "decoded: ***");
  // The longer secret wins where one contains the other; empty secrets are ignored.
  EXPECT_EQ(RedactSecrets("x secret-long y", {"secret", "secret-long", ""}), "x *** y");
  EXPECT_EQ(RedactSecrets("nothing here", {}), "nothing here");
}

TEST(SecretRedactionTest, UriPasswordEndsAtTheLastAt) {
  EXPECT_EQ(RedactUriUserInfo("http://u:p@ss/x@host:8123/"), "http://u:***@host:8123/");
  EXPECT_EQ(RedactUriUserInfo("http://host:8123/"), "http://host:8123/");
  EXPECT_EQ(RedactUriUserInfo("http://user@host/"), "http://user@host/");
  EXPECT_EQ(RedactUriUserInfo("no scheme:pw@host"), "no scheme:pw@host");
}

TEST(SecretRedactionTest, PercentDecodeRefusesMalformedEscapes) {
  EXPECT_EQ(PercentDecode("a%41%62"), "aAb");
  EXPECT_EQ(PercentDecode("a%4"), std::nullopt);
  EXPECT_EQ(PercentDecode("%zz"), std::nullopt);
}

}  // namespace
}  // namespace jetflow
