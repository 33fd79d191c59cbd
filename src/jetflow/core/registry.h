// ComponentRegistry: how pipeline configs find consumers, transformers and loaders by
// their `type:` name.
//
// Each component family exposes one `RegisterXxx(ComponentRegistry&)` function; the
// built-in ones are all called from RegisterBuiltinComponents()
// (engine/builtin_components.cc), the one place that lists them. A user's own component
// registers itself the same way before the pipeline is built (see docs/extending.md).
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
#include <string>
#include <vector>

#include "jetflow/core/config_node.h"
#include "jetflow/core/consumer.h"
#include "jetflow/core/loader.h"
#include "jetflow/core/transformer.h"

namespace jetflow {

/// What a factory may need beyond its own options.
struct ComponentContext {
  std::string pipeline;
  /// Directory of the pipeline's YAML file: relative paths in options resolve against it.
  std::filesystem::path base_dir;
  /// Preferred rows per batch (engine.batch_rows).
  int64_t batch_rows = 131072;
  /// Name given to the component in the config (`name:`), or its type by default.
  std::string name;

  /// `path` if absolute, else base_dir / path. Leaves URIs ("s3://...") untouched.
  std::string ResolvePath(const std::string& path) const;
};

using ConsumerFactory = std::function<arrow::Result<std::unique_ptr<Consumer>>(
    const ConfigNode& options, const ComponentContext& context)>;
using TransformerFactory = std::function<arrow::Result<std::unique_ptr<Transformer>>(
    const ConfigNode& options, const ComponentContext& context)>;
using LoaderFactory = std::function<arrow::Result<std::unique_ptr<Loader>>(
    const ConfigNode& options, const ComponentContext& context)>;

class ComponentRegistry {
 public:
  void RegisterConsumer(const std::string& type, ConsumerFactory factory);
  void RegisterTransformer(const std::string& type, TransformerFactory factory);
  void RegisterLoader(const std::string& type, LoaderFactory factory);

  /// nullptr if no such type.
  const ConsumerFactory* FindConsumer(const std::string& type) const;
  const TransformerFactory* FindTransformer(const std::string& type) const;
  const LoaderFactory* FindLoader(const std::string& type) const;

  std::vector<std::string> ConsumerTypes() const;
  std::vector<std::string> TransformerTypes() const;
  std::vector<std::string> LoaderTypes() const;

 private:
  std::map<std::string, ConsumerFactory> consumers_;
  std::map<std::string, TransformerFactory> transformers_;
  std::map<std::string, LoaderFactory> loaders_;
};

}  // namespace jetflow
