#include "jetflow/testing/fault_injecting_filesystem.h"

#include <arrow/buffer.h>

#include <array>
#include <mutex>
#include <utility>

namespace jetflow::testing {

const char* ToString(FileSystemOperation operation) {
  switch (operation) {
    case FileSystemOperation::kGetFileInfo:
      return "GetFileInfo";
    case FileSystemOperation::kCreateDir:
      return "CreateDir";
    case FileSystemOperation::kDeleteDir:
      return "DeleteDir";
    case FileSystemOperation::kDeleteDirContents:
      return "DeleteDirContents";
    case FileSystemOperation::kDeleteRootDirContents:
      return "DeleteRootDirContents";
    case FileSystemOperation::kDeleteFile:
      return "DeleteFile";
    case FileSystemOperation::kMove:
      return "Move";
    case FileSystemOperation::kCopyFile:
      return "CopyFile";
    case FileSystemOperation::kOpenInputStream:
      return "OpenInputStream";
    case FileSystemOperation::kOpenInputFile:
      return "OpenInputFile";
    case FileSystemOperation::kOpenOutputStream:
      return "OpenOutputStream";
    case FileSystemOperation::kOpenAppendStream:
      return "OpenAppendStream";
    case FileSystemOperation::kStreamWrite:
      return "StreamWrite";
    case FileSystemOperation::kStreamClose:
      return "StreamClose";
  }
  return "?";
}

class FaultInjectingFileSystem::State {
 public:
  /// OK, or the injected failure of this call of `operation` on `path`.
  arrow::Status Check(FileSystemOperation operation, const std::string& path) {
    std::lock_guard<std::mutex> lock(mutex_);
    const int64_t count = ++calls_[static_cast<int>(operation)];
    const std::string call = std::string(ToString(operation)) + " '" + path + "'";
    if (crashed_) {
      return arrow::Status::IOError("injected fault: ", call, " after the crash at ",
                                    failed_call_);
    }
    if (!armed_ || operation != operation_ || count != n_) return arrow::Status::OK();
    armed_ = false;
    injected_ = true;
    failed_call_ = call;
    if (kind_ == FaultKind::kCrash) {
      crashed_ = true;
      return arrow::Status::IOError("injected fault: ", call, " (crash)");
    }
    return arrow::Status::IOError("injected fault: ", call);
  }

  void Arm(FileSystemOperation operation, int64_t n, FaultKind kind) {
    std::lock_guard<std::mutex> lock(mutex_);
    calls_.fill(0);
    armed_ = n >= 1;
    operation_ = operation;
    n_ = n;
    kind_ = kind;
    injected_ = false;
    crashed_ = false;
    failed_call_.clear();
  }

  void Reset() {
    std::lock_guard<std::mutex> lock(mutex_);
    calls_.fill(0);
    armed_ = false;
    crashed_ = false;
  }

  int64_t calls(FileSystemOperation operation) const {
    std::lock_guard<std::mutex> lock(mutex_);
    return calls_[static_cast<int>(operation)];
  }
  bool injected() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return injected_;
  }
  bool crashed() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return crashed_;
  }
  std::string failed_call() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return failed_call_;
  }

 private:
  mutable std::mutex mutex_;
  std::array<int64_t, kFileSystemOperationCount> calls_{};
  bool armed_ = false;
  FileSystemOperation operation_ = FileSystemOperation::kGetFileInfo;
  int64_t n_ = 0;
  FaultKind kind_ = FaultKind::kTransient;
  bool injected_ = false;
  bool crashed_ = false;
  std::string failed_call_;
};

namespace {

// An output stream whose writes and close can fail, and stop reaching the base stream
// once the filesystem "crashed".
class FaultInjectingOutputStream : public arrow::io::OutputStream {
 public:
  FaultInjectingOutputStream(std::shared_ptr<arrow::io::OutputStream> inner,
                             std::string path,
                             std::shared_ptr<FaultInjectingFileSystem::State> state)
      : inner_(std::move(inner)), path_(std::move(path)), state_(std::move(state)) {}

  arrow::Status Write(const void* data, int64_t nbytes) override {
    ARROW_RETURN_NOT_OK(state_->Check(FileSystemOperation::kStreamWrite, path_));
    return inner_->Write(data, nbytes);
  }
  arrow::Status Write(const std::shared_ptr<arrow::Buffer>& data) override {
    ARROW_RETURN_NOT_OK(state_->Check(FileSystemOperation::kStreamWrite, path_));
    return inner_->Write(data);
  }
  arrow::Status Flush() override { return inner_->Flush(); }
  arrow::Status Close() override {
    if (inner_->closed()) return arrow::Status::OK();
    arrow::Status fault = state_->Check(FileSystemOperation::kStreamClose, path_);
    if (!fault.ok()) {
      // The file is not completed (an object store would not have created it).
      (void)inner_->Abort();
      return fault;
    }
    return inner_->Close();
  }
  arrow::Status Abort() override { return inner_->Abort(); }
  bool closed() const override { return inner_->closed(); }
  arrow::Result<int64_t> Tell() const override { return inner_->Tell(); }

 private:
  std::shared_ptr<arrow::io::OutputStream> inner_;
  std::string path_;
  std::shared_ptr<FaultInjectingFileSystem::State> state_;
};

}  // namespace

FaultInjectingFileSystem::FaultInjectingFileSystem(
    std::shared_ptr<arrow::fs::FileSystem> base, std::string type_name)
    : arrow::fs::FileSystem(base->io_context()),
      base_(std::move(base)),
      type_name_(std::move(type_name)),
      state_(std::make_shared<State>()) {}

FaultInjectingFileSystem::~FaultInjectingFileSystem() = default;

void FaultInjectingFileSystem::FailCall(FileSystemOperation operation, int64_t n,
                                        FaultKind kind) {
  state_->Arm(operation, n, kind);
}

void FaultInjectingFileSystem::Reset() { state_->Reset(); }

int64_t FaultInjectingFileSystem::calls(FileSystemOperation operation) const {
  return state_->calls(operation);
}

bool FaultInjectingFileSystem::fault_injected() const { return state_->injected(); }

bool FaultInjectingFileSystem::crashed() const { return state_->crashed(); }

std::string FaultInjectingFileSystem::failed_call() const {
  return state_->failed_call();
}

std::string FaultInjectingFileSystem::type_name() const {
  return type_name_.empty() ? base_->type_name() : type_name_;
}

bool FaultInjectingFileSystem::Equals(const arrow::fs::FileSystem& other) const {
  return this == &other;
}

arrow::Result<std::string> FaultInjectingFileSystem::NormalizePath(std::string path) {
  return base_->NormalizePath(std::move(path));
}

arrow::Result<arrow::fs::FileInfo> FaultInjectingFileSystem::GetFileInfo(
    const std::string& path) {
  ARROW_RETURN_NOT_OK(state_->Check(FileSystemOperation::kGetFileInfo, path));
  return base_->GetFileInfo(path);
}

arrow::Result<arrow::fs::FileInfoVector> FaultInjectingFileSystem::GetFileInfo(
    const arrow::fs::FileSelector& select) {
  ARROW_RETURN_NOT_OK(state_->Check(FileSystemOperation::kGetFileInfo, select.base_dir));
  return base_->GetFileInfo(select);
}

arrow::Status FaultInjectingFileSystem::CreateDir(const std::string& path,
                                                  bool recursive) {
  ARROW_RETURN_NOT_OK(state_->Check(FileSystemOperation::kCreateDir, path));
  return base_->CreateDir(path, recursive);
}

arrow::Status FaultInjectingFileSystem::DeleteDir(const std::string& path) {
  ARROW_RETURN_NOT_OK(state_->Check(FileSystemOperation::kDeleteDir, path));
  return base_->DeleteDir(path);
}

arrow::Status FaultInjectingFileSystem::DeleteDirContents(const std::string& path,
                                                          bool missing_dir_ok) {
  ARROW_RETURN_NOT_OK(state_->Check(FileSystemOperation::kDeleteDirContents, path));
  return base_->DeleteDirContents(path, missing_dir_ok);
}

arrow::Status FaultInjectingFileSystem::DeleteRootDirContents() {
  ARROW_RETURN_NOT_OK(state_->Check(FileSystemOperation::kDeleteRootDirContents, ""));
  return base_->DeleteRootDirContents();
}

arrow::Status FaultInjectingFileSystem::DeleteFile(const std::string& path) {
  ARROW_RETURN_NOT_OK(state_->Check(FileSystemOperation::kDeleteFile, path));
  return base_->DeleteFile(path);
}

arrow::Status FaultInjectingFileSystem::Move(const std::string& src,
                                             const std::string& dest) {
  ARROW_RETURN_NOT_OK(state_->Check(FileSystemOperation::kMove, src + "' -> '" + dest));
  return base_->Move(src, dest);
}

arrow::Status FaultInjectingFileSystem::CopyFile(const std::string& src,
                                                 const std::string& dest) {
  ARROW_RETURN_NOT_OK(
      state_->Check(FileSystemOperation::kCopyFile, src + "' -> '" + dest));
  return base_->CopyFile(src, dest);
}

arrow::Result<std::shared_ptr<arrow::io::InputStream>>
FaultInjectingFileSystem::OpenInputStream(const std::string& path) {
  ARROW_RETURN_NOT_OK(state_->Check(FileSystemOperation::kOpenInputStream, path));
  return base_->OpenInputStream(path);
}

arrow::Result<std::shared_ptr<arrow::io::RandomAccessFile>>
FaultInjectingFileSystem::OpenInputFile(const std::string& path) {
  ARROW_RETURN_NOT_OK(state_->Check(FileSystemOperation::kOpenInputFile, path));
  return base_->OpenInputFile(path);
}

arrow::Result<std::shared_ptr<arrow::io::OutputStream>>
FaultInjectingFileSystem::OpenOutputStream(
    const std::string& path,
    const std::shared_ptr<const arrow::KeyValueMetadata>& metadata) {
  ARROW_RETURN_NOT_OK(state_->Check(FileSystemOperation::kOpenOutputStream, path));
  ARROW_ASSIGN_OR_RAISE(auto stream, base_->OpenOutputStream(path, metadata));
  return std::make_shared<FaultInjectingOutputStream>(std::move(stream), path, state_);
}

arrow::Result<std::shared_ptr<arrow::io::OutputStream>>
FaultInjectingFileSystem::OpenAppendStream(
    const std::string& path,
    const std::shared_ptr<const arrow::KeyValueMetadata>& metadata) {
  ARROW_RETURN_NOT_OK(state_->Check(FileSystemOperation::kOpenAppendStream, path));
  ARROW_ASSIGN_OR_RAISE(auto stream, base_->OpenAppendStream(path, metadata));
  return std::make_shared<FaultInjectingOutputStream>(std::move(stream), path, state_);
}

}  // namespace jetflow::testing
