// Fuzz target for CopyBinaryDecoder. Input: byte 0 picks a fixture column set
// (copy_binary_fixture_columns.h), byte 1 the options (bits 0-1 infinity policy, bit 2
// unconstrained numeric as decimal, bit 3 invalid numerics as NULL, bits 4-7 the chunk
// size: 0 = one chunk, n = 2^(n-1) bytes), the rest is the COPY stream. Errors are
// expected; crashes, sanitizer reports and inconsistent batches are bugs.
#include <arrow/record_batch.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>

#include "jetflow/sources/postgres/copy_binary_decoder.h"
#include "jetflow/sources/postgres/copy_binary_fixture_columns.h"

namespace {

using jetflow::postgres::CopyBinaryDecoder;
using jetflow::postgres::InfinityPolicy;
using jetflow::postgres::NumericOptions;
using jetflow::postgres::PgDecodeOptions;

void CheckBatch(const arrow::Result<std::shared_ptr<arrow::RecordBatch>>& batch) {
  if (!batch.ok()) return;
  // A batch the decoder hands out must be structurally valid, including UTF-8.
  if (!(*batch)->ValidateFull().ok()) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  static const auto kColumnSets = jetflow::postgres::fixtures::AllColumnSets();
  const auto& columns = kColumnSets[data[0] % kColumnSets.size()];
  const uint8_t flags = data[1];
  PgDecodeOptions options;
  options.infinity = static_cast<InfinityPolicy>(std::min(flags & 3, 2));
  if (flags & 4) options.numeric.unconstrained = NumericOptions::Unconstrained::kDecimal;
  if (flags & 8) options.numeric.on_invalid = NumericOptions::OnInvalid::kNull;
  options.key_column = 0;
  const int chunk_bits = flags >> 4;
  auto decoder = CopyBinaryDecoder::Make(columns, options);
  if (!decoder.ok()) std::abort();
  const uint8_t* stream = data + 2;
  const int64_t length = static_cast<int64_t>(size) - 2;
  const int64_t chunk =
      chunk_bits == 0 ? std::max<int64_t>(length, 1) : int64_t{1} << (chunk_bits - 1);
  bool ok = true;
  for (int64_t pos = 0; pos < length && ok; pos += chunk) {
    ok = (*decoder)->Consume(stream + pos, std::min(chunk, length - pos)).ok();
    if (ok && (*decoder)->buffered_rows() >= 3) CheckBatch((*decoder)->Flush());
  }
  if (ok) (void)(*decoder)->Finish();
  CheckBatch((*decoder)->Flush());
  for (const auto& change : (*decoder)->value_changes()) {
    if (change.values <= 0 || change.change.empty()) std::abort();
  }
  return 0;
}
