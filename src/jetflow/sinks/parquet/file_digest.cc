#include "jetflow/sinks/parquet/file_digest.h"

#include <arrow/buffer.h>
#include <xxhash.h>
#if defined(__x86_64__)
#include <xxh_x86dispatch.h>
#endif

#include <utility>

namespace jetflow {

arrow::Result<std::unique_ptr<FileDigester>> FileDigester::Make() {
  XXH3_state_t* state = XXH3_createState();
  if (state == nullptr) return arrow::Status::OutOfMemory("xxh3 state");
  XXH3_128bits_reset(state);
  return std::unique_ptr<FileDigester>(new FileDigester(state));
}

FileDigester::~FileDigester() { XXH3_freeState(state_); }

void FileDigester::Update(const void* data, int64_t size) {
#if defined(__x86_64__)
  // The widest vector unit this CPU has (AVX2, AVX-512) rather than the SSE2 the library
  // was compiled for: half the instructions or fewer, the same hash.
  XXH3_128bits_update_dispatch(state_, data, static_cast<size_t>(size));
#else
  XXH3_128bits_update(state_, data, static_cast<size_t>(size));
#endif
  bytes_ += size;
}

FileDigest FileDigester::Digest() const {
  XXH128_canonical_t canonical;
  XXH128_canonicalFromHash(&canonical, XXH3_128bits_digest(state_));
  static constexpr char kHex[] = "0123456789abcdef";
  FileDigest digest;
  digest.bytes = bytes_;
  digest.checksum = "xxh3-128:";
  for (unsigned char byte : canonical.digest) {
    digest.checksum.push_back(kHex[byte >> 4]);
    digest.checksum.push_back(kHex[byte & 0xf]);
  }
  return digest;
}

arrow::Result<std::shared_ptr<DigestingOutputStream>> DigestingOutputStream::Make(
    std::shared_ptr<arrow::io::OutputStream> inner) {
  ARROW_ASSIGN_OR_RAISE(auto digester, FileDigester::Make());
  ARROW_ASSIGN_OR_RAISE(const int64_t position, inner->Tell());
  return std::shared_ptr<DigestingOutputStream>(
      new DigestingOutputStream(std::move(inner), std::move(digester), position));
}

arrow::Status DigestingOutputStream::Write(const void* data, int64_t nbytes) {
  // Digested only once the write succeeded: a failed write fails the file anyway.
  ARROW_RETURN_NOT_OK(inner_->Write(data, nbytes));
  digester_->Update(data, nbytes);
  position_ += nbytes;
  return arrow::Status::OK();
}

arrow::Status DigestingOutputStream::Write(const std::shared_ptr<arrow::Buffer>& data) {
  ARROW_RETURN_NOT_OK(inner_->Write(data));
  digester_->Update(data->data(), data->size());
  position_ += data->size();
  return arrow::Status::OK();
}

arrow::Status DigestingOutputStream::Flush() { return inner_->Flush(); }
arrow::Status DigestingOutputStream::Close() { return inner_->Close(); }
arrow::Status DigestingOutputStream::Abort() { return inner_->Abort(); }
bool DigestingOutputStream::closed() const { return inner_->closed(); }
arrow::Result<int64_t> DigestingOutputStream::Tell() const {
  if (inner_->closed()) return arrow::Status::Invalid("operation on closed stream");
  return position_;
}

}  // namespace jetflow
