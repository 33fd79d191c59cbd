#include "jetflow/sources/postgres/connection.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

#include "jetflow/sources/postgres/dsn_redaction_property.h"

namespace jetflow::postgres {
namespace {

TEST(ConnectionTest, PasswordsWithDelimitersAreMaskedWhole) {
  // The hostile operator's password, and ones holding the URI's own delimiters.
  for (const std::string password :
       {"Tr0ub4dor%&3", "p@ss@word", "pa/ss?w#rd", "[::1]:x", "it's \\ spaced"}) {
    EXPECT_EQ(testing::DsnRedactionProblem(password), "") << password;
  }
  EXPECT_EQ(RedactDsn("postgresql://etl:Tr0ub4dor%&3@db:5432/shop"),
            "postgresql://etl:***@db:5432/shop");
}

TEST(ConnectionTest, SecretsOfADsnIncludeTheUnquotedForm) {
  const auto secrets =
      DsnSecrets("host=db password='a\\'b c' user=x", std::string("env"));
  EXPECT_EQ(secrets, (std::vector<std::string>{"env", "'a\\'b c'", "a'b c"}));
}

// Random passwords over the characters that matter to DSN syntax, many times over; the
// seed is printed so that a failure can be replayed.
TEST(ConnectionTest, RandomPasswordsNeverSurviveRedaction) {
  const std::string alphabet = "abcXYZ019%@[]:/?#&='\" \\*+-._~!$(),;\t";
  const unsigned seed = std::random_device{}();
  std::mt19937 random(seed);
  std::uniform_int_distribution<size_t> length(1, 24);
  std::uniform_int_distribution<size_t> pick(0, alphabet.size() - 1);
  for (int i = 0; i < 20000; ++i) {
    std::string password(length(random), ' ');
    for (char& c : password) c = alphabet[pick(random)];
    const std::string problem = testing::DsnRedactionProblem(password);
    ASSERT_EQ(problem, "") << "seed " << seed << ", password [" << password << "]";
  }
}

}  // namespace
}  // namespace jetflow::postgres
