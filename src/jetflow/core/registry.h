// ComponentRegistry: how pipeline configs find consumers, transformers, loaders and state
// stores by their `type:` name, and the loader that writes side outputs.
//
// Each component family exposes one `RegisterXxx(ComponentRegistry&)` function; the
// built-in ones are all called from RegisterBuiltinComponents()
// (builtins/builtin_components.cc), the one place that lists them, linked by the
// programs (the CLI) rather than by the engine, which knows no concrete component. A
// user's own component registers itself the same way before the pipeline is built (see
// docs/extending.md).
//
// A factory parses its options from a ConfigNode (recording every problem in the node's
// Diagnostics, and calling CheckNoUnknownKeys), then builds the component. It returns
// Invalid if it recorded any error, so all config mistakes are reported together.
#pragma once

#include <arrow/result.h>
#include <arrow/status.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "jetflow/core/config_node.h"
#include "jetflow/core/consumer.h"
#include "jetflow/core/loader.h"
#include "jetflow/core/side_output.h"
#include "jetflow/core/transformer.h"

namespace jetflow {

class StateStore;  // jetflow/state/state_store.h

/// What a factory may need beyond its own options.
struct ComponentContext {
  std::string pipeline;
  /// Directory of the pipeline's YAML file: relative paths in options resolve against it.
  std::filesystem::path base_dir;
  /// Preferred rows per batch (engine.batch_rows).
  int64_t batch_rows = 131072;
  /// Name given to the component in the config (`name:`), or its type by default.
  std::string name;
  /// The pipeline's `run_instance.key`: the Hive key of the run-instance directory, so
  /// that a loader can refuse, at config load, directory keys of its own that clash
  /// with it.
  std::string run_key;

  /// `path` if absolute, else base_dir / path. Leaves URIs ("s3://...") untouched.
  std::string ResolvePath(const std::string& path) const;
};

using ConsumerFactory = std::function<arrow::Result<std::unique_ptr<Consumer>>(
    const ConfigNode& options, const ComponentContext& context)>;
using TransformerFactory = std::function<arrow::Result<std::unique_ptr<Transformer>>(
    const ConfigNode& options, const ComponentContext& context)>;
using LoaderFactory = std::function<arrow::Result<std::unique_ptr<Loader>>(
    const ConfigNode& options, const ComponentContext& context)>;

/// A pipeline's `state:` section, checked when the pipeline is loaded; it opens the store
/// when a command needs it.
class StateStoreConfig {
 public:
  virtual ~StateStoreConfig() = default;
  /// Where the store is, for messages: a file path, or a server without its password.
  virtual std::string Describe() const = 0;
  /// Opens the store. With `create` false the store is opened to be read only: one
  /// that does not exist yet is not made (nullptr is returned) and nothing is written,
  /// so the commands that only look (`plan`, `validate`, `status`) leave no trace and
  /// work on a store they may not write.
  virtual arrow::Result<std::unique_ptr<StateStore>> Open(bool create) const = 0;
};

/// What a state store factory may need beyond its own options.
struct StateStoreContext {
  std::string pipeline;
  /// Directory of the pipeline's YAML file: relative paths resolve against it.
  std::filesystem::path base_dir;
  /// A location given on the command line (`--state`), which replaces the configured
  /// one: for SQLite, the file.
  std::optional<std::string> location;
};

using StateStoreFactory = std::function<arrow::Result<std::unique_ptr<StateStoreConfig>>(
    const ConfigNode& options, const StateStoreContext& context)>;

class ComponentRegistry {
 public:
  void RegisterConsumer(const std::string& type, ConsumerFactory factory);
  void RegisterTransformer(const std::string& type, TransformerFactory factory);
  void RegisterLoader(const std::string& type, LoaderFactory factory);
  void RegisterStateStore(const std::string& type, StateStoreFactory factory);
  /// The loader that writes transformers' side outputs (quarantines).
  void SetSideOutputLoader(SideOutputLoaderFactory factory);

  /// nullptr if no such type.
  const ConsumerFactory* FindConsumer(const std::string& type) const;
  const TransformerFactory* FindTransformer(const std::string& type) const;
  const LoaderFactory* FindLoader(const std::string& type) const;
  const StateStoreFactory* FindStateStore(const std::string& type) const;
  /// Empty if none was set.
  const SideOutputLoaderFactory& side_output_loader() const {
    return side_output_loader_;
  }

  std::vector<std::string> ConsumerTypes() const;
  std::vector<std::string> TransformerTypes() const;
  std::vector<std::string> LoaderTypes() const;
  std::vector<std::string> StateStoreTypes() const;

 private:
  std::map<std::string, ConsumerFactory> consumers_;
  std::map<std::string, TransformerFactory> transformers_;
  std::map<std::string, LoaderFactory> loaders_;
  std::map<std::string, StateStoreFactory> state_stores_;
  SideOutputLoaderFactory side_output_loader_;
};

}  // namespace jetflow
