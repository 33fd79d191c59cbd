#include "jetflow/config/pipeline_config.h"

#include <fmt/format.h>
#include <xxhash.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <utility>
#include <vector>

namespace jetflow {

namespace {

// Names become directory names, file names and state-store keys.
constexpr size_t kMaxNameLength = 128;
// A pipeline file is a few kilobytes; anything near this is a mistake (e.g. a data file).
constexpr std::uintmax_t kMaxPipelineFileBytes = 4 << 20;

bool IsSafeName(const std::string& name) {
  return !name.empty() && name.size() <= kMaxNameLength && name != "." && name != ".." &&
         std::all_of(name.begin(), name.end(), [](char c) {
           return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' ||
                  c == '.';
         });
}

// What IsSafeName() wants, for messages; `what` is e.g. "'pipeline'".
std::string SafeNameRule(const std::string& what) {
  return what + " may only contain letters, digits, '_', '-' and '.' (at most " +
         std::to_string(kMaxNameLength) + " characters, not '.' or '..')";
}

// `type:` and `name:` of a stage; the remaining keys belong to the component.
struct StageHeader {
  std::string type;
  std::string name;
};

StageHeader ReadStageHeader(const ConfigNode& node,
                            const std::vector<std::string>& known_types,
                            const std::string& kind) {
  StageHeader header;
  header.type = node.RequireString("type");
  header.name = node.GetString("name", header.type);
  if (!header.type.empty() && std::find(known_types.begin(), known_types.end(),
                                        header.type) == known_types.end()) {
    std::string list;
    for (const auto& t : known_types) list += (list.empty() ? "" : ", ") + t;
    auto hint = ClosestMatch(header.type, known_types);
    node.Get("type").Error("unknown " + kind + " type '" + header.type + "' (known: " +
                           list + ")" + (hint ? "; did you mean '" + *hint + "'?" : ""));
  }
  if (!header.name.empty() && !IsSafeName(header.name)) {
    node.Get("name").Error(SafeNameRule("'" + node.path() + ".name'"));
  }
  return header;
}

// A section given as a list or a scalar would otherwise be ignored without a word.
bool IsMapOrAbsent(const ConfigNode& node, const std::string& what) {
  if (node.IsNull() || node.IsMap()) return true;
  node.Error("'" + what + "' must be a map (key: value lines, or {key: value, ...})");
  return false;
}

EngineOptions ReadEngineOptions(const ConfigNode& node) {
  EngineOptions engine;
  if (node.IsNull() || !IsMapOrAbsent(node, "engine")) return engine;
  engine.partitions_in_flight = static_cast<int>(
      node.GetInt("partitions_in_flight", engine.partitions_in_flight, 0, 1024));
  engine.compute_threads =
      static_cast<int>(node.GetInt("compute_threads", engine.compute_threads, 0, 1024));
  engine.memory_budget_bytes = node.GetBytes("memory_budget", engine.memory_budget_bytes);
  if (engine.memory_budget_bytes < (1 << 20)) {
    node.Get("memory_budget").Error("'engine.memory_budget' must be at least 1MiB");
  }
  engine.queue_batches =
      static_cast<int>(node.GetInt("queue_batches", engine.queue_batches, 1, 1024));
  engine.batch_rows = node.GetInt("batch_rows", engine.batch_rows, 1, int64_t{1} << 24);
  const std::string verify =
      node.GetEnum("verify_on_resume", ToString(engine.verify_on_resume),
                   {"size", "checksum", "full"});
  for (VerifyDepth depth :
       {VerifyDepth::kSize, VerifyDepth::kChecksum, VerifyDepth::kFull}) {
    if (verify == ToString(depth)) engine.verify_on_resume = depth;
  }
  ConfigNode retries = node.Get("retries");
  if (!retries.IsNull() && IsMapOrAbsent(retries, "engine.retries")) {
    engine.max_attempts =
        static_cast<int>(retries.GetInt("max_attempts", engine.max_attempts, 1, 100));
    engine.retry_backoff = retries.GetDuration("backoff", engine.retry_backoff);
    retries.CheckNoUnknownKeys();
  }
  node.CheckNoUnknownKeys();
  return engine;
}

/// `state:`: the common keys here, the store's own keys by its factory.
void ReadStateOptions(const ConfigNode& node, const ComponentRegistry& registry,
                      const std::string& pipeline, const std::string& base_dir,
                      const LoadOptions& load_options, StateOptions* state) {
  const std::vector<std::string> known = registry.StateStoreTypes();
  if (!IsMapOrAbsent(node, "state")) return;
  state->type = node.GetString("type", state->type);
  state->lease = node.GetDuration("lease", state->lease);
  if (state->lease < std::chrono::seconds(1)) {
    node.Get("lease").Error("'state.lease' must be at least 1s");
  }
  const StateStoreFactory* factory = registry.FindStateStore(state->type);
  if (factory == nullptr) {
    std::string list;
    for (const auto& t : known) list += (list.empty() ? "" : ", ") + t;
    auto hint = ClosestMatch(state->type, known);
    (node.Has("type") ? node.Get("type") : node)
        .Error("unknown state store type '" + state->type + "' (known: " + list + ")" +
               (hint ? "; did you mean '" + *hint + "'?" : ""));
    return;
  }
  StateStoreContext context{pipeline, base_dir, load_options.state_location};
  auto made = (*factory)(node, context);
  if (made.ok()) {
    state->store = std::move(*made);
  } else if (!node.diagnostics()->has_errors()) {
    node.Error(made.status().message());
  }
  if (node.IsMap()) node.CheckNoUnknownKeys();
}

// "/lake/" and "/lake" are one folder; "s3://b/t/" and "s3://b/t" one prefix.
std::string WithoutTrailingSlash(std::string path) {
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  return path;
}

bool IsInside(const std::string& inner, const std::string& outer) {
  return inner.size() > outer.size() && inner.compare(0, outer.size(), outer) == 0 &&
         (outer.back() == '/' || inner[outer.size()] == '/');
}

// A loader's lake is a folder of its own: a run replaces what it wrote under it, so it
// must not be a folder that holds everything else (the root, the home folder), nor hold
// the state store. Two loaders writing one lake, or one inside the other's, would
// replace or list each other's files (found at run time only after partitions were
// published). `state_file` is the state store's file when it is one ("" otherwise).
// Records this loader's path in `seen`.
void CheckLoaderPath(const ConfigNode& node, const std::string& name,
                     const std::string& path, const std::string& state_file,
                     std::vector<std::pair<std::string, std::string>>* seen) {
  const std::string mine = WithoutTrailingSlash(path);
  const char* home = std::getenv("HOME");
  if (mine == "/") {
    node.Get("path").Error(
        "loader '" + name +
        "' writes the root folder /; give the lake a folder of its own");
  } else if (home != nullptr && *home != '\0' &&
             mine == WithoutTrailingSlash(
                         std::filesystem::path(home).lexically_normal().string())) {
    node.Get("path").Error("loader '" + name + "' writes the home folder " + mine +
                           "; give the lake a folder of its own");
  }
  if (!state_file.empty() && IsInside(state_file, mine)) {
    node.Get("path").Error("the state store " + state_file + " is inside loader '" +
                           name + "''s path " + mine +
                           ": the lake's cleanup could remove it; put the lake or the "
                           "store (state.path) elsewhere");
  }
  for (const auto& [other_name, other] : *seen) {
    if (mine == other) {
      node.Get("path").Error("loaders '" + other_name + "' and '" + name +
                             "' write the same path " + mine +
                             "; give each loader its own path");
    } else if (IsInside(mine, other) || IsInside(other, mine)) {
      node.Get("path").Error("loader '" + name + "' writes " + mine + ", and loader '" +
                             other_name + "' writes " + other +
                             ": one lake inside the other would mix their files; give "
                             "each loader a path outside the other's");
    }
  }
  seen->emplace_back(name, mine);
}

/// What shaped the output, as written (secrets stay `${VAR}`), in a canonical form so
/// that comments, quoting and layout do not count: the consumer, the transformers, the
/// loaders and the run-instance key. The engine adds the schemas it planned.
std::string ConfigFingerprint(const std::string& text) {
  std::string canonical = "jetflow.config/1\n";
  try {
    const YAML::Node root = YAML::Load(text);
    for (const char* key : {"consumer", "transformers", "loaders"}) {
      YAML::Emitter out;
      out << YAML::Flow << root[key];
      canonical += std::string(key) + ": " + out.c_str() + "\n";
    }
    if (root["run_instance"] && root["run_instance"]["key"]) {
      canonical += "run_instance.key: " + root["run_instance"]["key"].Scalar() + "\n";
    }
  } catch (const YAML::Exception&) {
    canonical += text;  // a file that parsed once parses again; this is a safe fallback
  }
  const XXH128_hash_t hash = XXH3_128bits(canonical.data(), canonical.size());
  return fmt::format("xxh3-128:{:016x}{:016x}", hash.high64, hash.low64);
}

}  // namespace

arrow::Result<LoadedPipeline> LoadPipelineText(const std::string& text,
                                               const std::string& file,
                                               const std::string& base_dir,
                                               const ComponentRegistry& registry,
                                               const LoadOptions& load_options) {
  Diagnostics diagnostics;
  ConfigNode root = ConfigNode::Parse(text, file, &diagnostics);
  if (diagnostics.has_errors()) return diagnostics.ToStatus();
  if (!root.IsMap()) {
    root.Error(
        "a pipeline file must be a map with at least 'pipeline', 'consumer' and "
        "'loaders'");
    return diagnostics.ToStatus();
  }

  LoadedPipeline loaded;
  loaded.file = file;
  Pipeline& pipeline = loaded.pipeline;
  pipeline.name = root.RequireString("pipeline");
  if (pipeline.name.empty() && root.Get("pipeline").IsScalar()) {
    root.Get("pipeline")
        .Error("'pipeline' must not be empty: it names the pipeline's runs");
  } else if (!pipeline.name.empty() && !IsSafeName(pipeline.name)) {
    root.Get("pipeline").Error(SafeNameRule("'pipeline'"));
  }

  ConfigNode run_instance = root.Get("run_instance");
  if (!run_instance.IsNull() && IsMapOrAbsent(run_instance, "run_instance")) {
    loaded.run_instance.key = run_instance.GetString("key", loaded.run_instance.key);
    if (!IsSafeName(loaded.run_instance.key) ||
        !std::isalpha(static_cast<unsigned char>(loaded.run_instance.key[0]))) {
      run_instance.Get("key").Error(SafeNameRule("'run_instance.key'") +
                                    " and must start with a letter");
    }
    loaded.run_instance.value = run_instance.GetOptionalString("value");
    run_instance.CheckNoUnknownKeys();
  }

  pipeline.engine = ReadEngineOptions(root.Get("engine"));

  ComponentContext context;
  context.pipeline = pipeline.name;
  context.base_dir = base_dir;
  context.batch_rows = pipeline.engine.batch_rows;
  context.run_key = loaded.run_instance.key;

  ReadStateOptions(root.Get("state"), registry, pipeline.name, base_dir, load_options,
                   &loaded.state);
  pipeline.side_output_loader = registry.side_output_loader();
  pipeline.config_fingerprint = ConfigFingerprint(text);

  if (!load_options.build_stages) {
    for (const char* stage : {"consumer", "transformers", "loaders"}) root.Get(stage);
    root.CheckNoUnknownKeys();
    if (diagnostics.has_errors()) return diagnostics.ToStatus();
    return loaded;
  }

  // Build every stage even after an error, so all mistakes are reported together.
  ConfigNode consumer = root.Require("consumer");
  if (!consumer.IsNull()) {
    StageHeader header = ReadStageHeader(consumer, registry.ConsumerTypes(), "consumer");
    if (const ConsumerFactory* factory = registry.FindConsumer(header.type)) {
      context.name = header.name;
      pipeline.consumer_name = header.name;
      auto built = (*factory)(consumer, context);
      if (built.ok()) {
        pipeline.consumer = std::move(*built);
      } else if (!diagnostics.has_errors()) {
        consumer.Error(built.status().message());
      }
    }
  }

  std::set<std::string> stage_names;
  for (const ConfigNode& node : root.Get("transformers").Elements()) {
    StageHeader header =
        ReadStageHeader(node, registry.TransformerTypes(), "transformer");
    if (!stage_names.insert("t:" + header.name).second) {
      node.Error("duplicate transformer name '" + header.name +
                 "'; give each a distinct 'name'");
    }
    if (const TransformerFactory* factory = registry.FindTransformer(header.type)) {
      context.name = header.name;
      auto built = (*factory)(node, context);
      if (built.ok()) {
        pipeline.transformers.push_back({header.name, std::move(*built)});
      } else if (!diagnostics.has_errors()) {
        node.Error(built.status().message());
      }
    }
  }

  ConfigNode loaders = root.Require("loaders");
  std::vector<ConfigNode> loader_nodes = loaders.Elements();
  if (loaders.IsSequence() && loader_nodes.empty()) {
    loaders.Error("'loaders' needs at least one loader");
  }
  std::vector<std::pair<std::string, std::string>> loader_paths;  // name, resolved path
  std::string state_file;  // the store's file, when it is a local one
  if (loaded.state.store != nullptr) {
    const std::filesystem::path described(loaded.state.store->Describe());
    if (described.is_absolute()) state_file = described.lexically_normal().string();
  }
  for (const ConfigNode& node : loader_nodes) {
    StageHeader header = ReadStageHeader(node, registry.LoaderTypes(), "loader");
    if (!stage_names.insert("l:" + header.name).second) {
      node.Error("duplicate loader name '" + header.name +
                 "'; give each a distinct 'name'");
    }
    if (const LoaderFactory* factory = registry.FindLoader(header.type)) {
      context.name = header.name;
      auto built = (*factory)(node, context);
      if (built.ok()) {
        pipeline.loaders.push_back({header.name, std::move(*built)});
        if (auto path = node.GetOptionalString("path")) {
          CheckLoaderPath(node, header.name, context.ResolvePath(*path), state_file,
                          &loader_paths);
        }
      } else if (!diagnostics.has_errors()) {
        node.Error(built.status().message());
      }
    }
  }

  root.CheckNoUnknownKeys();
  for (const auto& d : diagnostics.entries()) {
    if (d.severity == Diagnostic::Severity::kWarning)
      loaded.warnings.push_back(d.ToString());
  }
  if (diagnostics.has_errors()) return diagnostics.ToStatus();
  return loaded;
}

arrow::Result<LoadedPipeline> LoadPipelineFile(const std::string& path,
                                               const ComponentRegistry& registry,
                                               const LoadOptions& options) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    return arrow::Status::IOError("pipeline file not found or not a regular file: ",
                                  path);
  }
  const std::uintmax_t size = std::filesystem::file_size(path, ec);
  if (!ec && size > kMaxPipelineFileBytes) {
    return arrow::Status::Invalid(
        path, ": the file is ", size, " bytes; a pipeline file may be at most ",
        kMaxPipelineFileBytes >> 20, " MiB (is it a data file?)");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return arrow::Status::IOError("cannot read pipeline file: ", path);
  std::stringstream text;
  text << in.rdbuf();
  std::string base_dir = std::filesystem::absolute(path).parent_path().string();
  return LoadPipelineText(text.str(), path, base_dir, registry, options);
}

arrow::Result<RunInstance> ResolveRunInstance(
    const LoadedPipeline& loaded, const std::optional<std::string>& cli_value) {
  RunInstance run;
  run.key = loaded.run_instance.key;
  if (cli_value) {
    run.value = *cli_value;
  } else if (loaded.run_instance.value) {
    run.value = *loaded.run_instance.value;
  } else {
    return arrow::Status::Invalid(
        loaded.file,
        ": no run instance: set run_instance.value in the "
        "file or pass --instance VALUE (e.g. --instance 2026-11-25)");
  }
  if (!IsSafeName(run.value)) {
    const std::string shown =
        run.value.size() > 64 ? run.value.substr(0, 64) + "..." : run.value;
    return arrow::Status::Invalid(SafeNameRule("run instance value '" + shown + "'"),
                                  "; it becomes the directory ", run.key, "=<value>");
  }
  return run;
}

}  // namespace jetflow
