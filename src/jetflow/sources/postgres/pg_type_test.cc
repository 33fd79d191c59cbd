// PgType helpers without a server: planning an array column's dimensions.
#include "jetflow/sources/postgres/pg_type.h"

#include <arrow/type.h>
#include <gtest/gtest.h>

#include <memory>

namespace jetflow::postgres {
namespace {

PgType Int4Array() {
  PgType element;
  element.oid = pg_oid::kInt4;
  element.name = "integer";
  PgType array;
  array.kind = PgType::Kind::kArray;
  array.oid = 1007;
  array.name = "integer[]";
  array.element = std::make_shared<const PgType>(element);
  return array;
}

TEST(PgTypeTest, ArrayDimensionsNestTheElementTypeOncePerDimension) {
  const PgType one = Int4Array();
  EXPECT_EQ(ArrayDimensions(one), 1);
  EXPECT_EQ(ArrayDimensions(*one.element), 0);

  const PgType three = WithArrayDimensions(one, 3);
  EXPECT_EQ(ArrayDimensions(three), 3);
  EXPECT_EQ(three.oid, 1007u);
  EXPECT_EQ(three.element->oid, 1007u);
  EXPECT_EQ(three.element->element->element->oid, pg_oid::kInt4);
  auto type = ArrowTypeFor(three, PgDecodeOptions{});
  ASSERT_TRUE(type.ok()) << type.status().ToString();
  EXPECT_TRUE((*type)->Equals(arrow::list(arrow::list(arrow::list(arrow::int32())))))
      << (*type)->ToString();

  // Replanning starts from the element type, whatever the nesting was.
  const PgType back = WithArrayDimensions(three, 1);
  EXPECT_EQ(ArrayDimensions(back), 1);
  EXPECT_EQ(back.element->oid, pg_oid::kInt4);
  EXPECT_EQ(ArrayDimensions(WithArrayDimensions(three, kMaxArrayDimensions)),
            kMaxArrayDimensions);
}

}  // namespace
}  // namespace jetflow::postgres
