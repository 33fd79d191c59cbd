// FileDigest: the size and content checksum of a data file, as recorded in partition
// manifests ("xxh3-128:<32 hex digits>", docs/formats/manifest.md).
//
// DigestingOutputStream computes it while the file is written, so committing a partition
// does not read its files back: the loader wraps every data file's stream in one.
//
// Threading: a FileDigester or DigestingOutputStream is used by one thread at a time.
#pragma once

#include <arrow/io/interfaces.h>
#include <arrow/result.h>
#include <arrow/status.h>

#include <cstdint>
#include <memory>
#include <string>

struct XXH3_state_s;

namespace jetflow {

struct FileDigest {
  int64_t bytes = 0;
  std::string checksum;  // "xxh3-128:<32 hex digits>"
};

/// Accumulates a FileDigest over the bytes of a file, in order.
class FileDigester {
 public:
  static arrow::Result<std::unique_ptr<FileDigester>> Make();
  ~FileDigester();

  void Update(const void* data, int64_t size);
  /// The digest of every byte given so far (Update may continue afterwards).
  FileDigest Digest() const;

 private:
  explicit FileDigester(XXH3_state_s* state) : state_(state) {}

  XXH3_state_s* state_;
  int64_t bytes_ = 0;
};

/// An OutputStream that forwards every write to `inner` and digests it.
class DigestingOutputStream : public arrow::io::OutputStream {
 public:
  static arrow::Result<std::shared_ptr<DigestingOutputStream>> Make(
      std::shared_ptr<arrow::io::OutputStream> inner);

  /// The digest of everything written so far; the file's digest once closed.
  FileDigest digest() const { return digester_->Digest(); }

  arrow::Status Write(const void* data, int64_t nbytes) override;
  arrow::Status Write(const std::shared_ptr<arrow::Buffer>& data) override;
  arrow::Status Flush() override;
  arrow::Status Close() override;
  arrow::Status Abort() override;
  bool closed() const override;
  arrow::Result<int64_t> Tell() const override;

 private:
  DigestingOutputStream(std::shared_ptr<arrow::io::OutputStream> inner,
                        std::unique_ptr<FileDigester> digester, int64_t position)
      : inner_(std::move(inner)), digester_(std::move(digester)), position_(position) {}

  std::shared_ptr<arrow::io::OutputStream> inner_;
  std::unique_ptr<FileDigester> digester_;
  /// Counted here: the Parquet writer asks for it after every page, and asking a file
  /// stream costs a system call.
  int64_t position_;
};

}  // namespace jetflow
