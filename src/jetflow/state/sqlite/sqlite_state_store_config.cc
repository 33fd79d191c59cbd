#include "jetflow/state/sqlite/sqlite_state_store_config.h"

#include <filesystem>
#include <system_error>

#include "jetflow/state/sqlite/sqlite_state_store.h"

namespace jetflow {
namespace {

class SqliteStateStoreConfig final : public StateStoreConfig {
 public:
  explicit SqliteStateStoreConfig(std::string path) : path_(std::move(path)) {}

  std::string Describe() const override { return path_; }

  arrow::Result<std::unique_ptr<StateStore>> Open(bool create) const override {
    std::error_code error;
    if (!create && !std::filesystem::exists(path_, error)) return nullptr;
    SqliteStateStoreOptions options;
    options.read_only = !create;
    ARROW_ASSIGN_OR_RAISE(auto store, SqliteStateStore::Open(path_, options));
    return std::unique_ptr<StateStore>(std::move(store));
  }

 private:
  std::string path_;
};

std::string Resolve(const std::filesystem::path& base_dir, const std::string& path) {
  std::filesystem::path p(path);
  if (p.is_absolute() || base_dir.empty()) return p.lexically_normal().string();
  return (base_dir / p).lexically_normal().string();
}

}  // namespace

void RegisterSqliteStateStore(ComponentRegistry& registry) {
  registry.RegisterStateStore(
      "sqlite",
      [](const ConfigNode& options, const StateStoreContext& context)
          -> arrow::Result<std::unique_ptr<StateStoreConfig>> {
        std::string path = options.GetString("path", ".jetflow/state.db");
        if (path.empty()) options.Get("path").Error("'state.path' must not be empty");
        // --state is relative to the working directory, `path` to the pipeline file.
        std::string resolved = context.location ? Resolve({}, *context.location)
                                                : Resolve(context.base_dir, path);
        return std::make_unique<SqliteStateStoreConfig>(std::move(resolved));
      });
}

}  // namespace jetflow
