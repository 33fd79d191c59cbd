// Fuzzes the pipeline loader (YAML text -> validated Pipeline, config/pipeline_config.h)
// with every built-in component registered: any text must give either a pipeline or an
// Invalid status listing its errors — never a crash, a hang, an uncaught exception, or
// memory that grows with the expansion of YAML aliases. A pipeline that loads and reads
// the `generate` source (whose schema needs no I/O) is also bound, transformer by
// transformer and loader by loader, as `jetflow validate` binds it.
//
// Loading touches neither the network nor files: sources connect and list their files
// only when planned, which this target never does; a loader whose path is a URI of a
// remote filesystem gets an in-memory one (opening Arrow's HDFS, GCS or Azure client
// may connect); relative paths resolve against a base folder that is never created.
// ${VAR} references are read from the environment: the target sets FUZZ_ROWS and
// FUZZ_PATH (named in the dictionary) and unsets nothing else.
//
// Structure: pipeline_config_fuzz.dict (next to the seed corpus) holds the config's
// keys and values; with libFuzzer, LLVMFuzzerCustomMutator parses the input as YAML and
// changes one node (a value replaced by another word of the document or a hostile one, a
// map entry dropped or added, a list element repeated or emptied, a subtree copied over
// another, a scalar made a list), so most inputs stay YAML that reaches the components;
// the rest get libFuzzer's byte mutations.
#include <arrow/filesystem/mockfs.h>
#include <yaml-cpp/yaml.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "jetflow/builtins/builtin_components.h"
#include "jetflow/config/pipeline_config.h"
#include "jetflow/sinks/parquet/parquet_loader.h"
#include "jetflow/sources/generate/generate_consumer.h"

namespace {

// Larger inputs only slow the fuzzer down: pipelines are a few kilobytes.
constexpr size_t kMaxInputBytes = 8192;
// Never created: relative paths resolve below it, and nothing is written at load.
constexpr const char* kBaseDir = "/nonexistent/jetflow-fuzz";

bool IsRemoteUri(const std::string& path) {
  const size_t scheme = path.find("://");
  return scheme != std::string::npos && path.compare(0, scheme, "file") != 0;
}

const jetflow::ComponentRegistry& Registry() {
  static const jetflow::ComponentRegistry* registry = [] {
    setenv("FUZZ_ROWS", "100", 1);
    setenv("FUZZ_PATH", "lake", 1);
    auto* r = new jetflow::ComponentRegistry;
    jetflow::RegisterBuiltinComponents(*r);
    // The real Parquet loader, but remote filesystems stay in memory.
    r->RegisterLoader(
        "parquet",
        [](const jetflow::ConfigNode& node, const jetflow::ComponentContext& context)
            -> arrow::Result<std::unique_ptr<jetflow::Loader>> {
          ARROW_ASSIGN_OR_RAISE(auto options,
                                jetflow::ParquetLoader::ParseOptions(node, context));
          if (IsRemoteUri(options.path)) {
            options.filesystem = std::make_shared<arrow::fs::internal::MockFileSystem>(
                arrow::fs::TimePoint{});
          }
          ARROW_ASSIGN_OR_RAISE(auto loader,
                                jetflow::ParquetLoader::Make(std::move(options)));
          return std::unique_ptr<jetflow::Loader>(std::move(loader));
        });
    return r;
  }();
  return *registry;
}

// What `jetflow validate` does after loading, for a source that needs no I/O to know
// its schema. Errors are fine; only crashes count.
void Bind(jetflow::LoadedPipeline& loaded) {
  jetflow::Pipeline& pipeline = loaded.pipeline;
  if (dynamic_cast<jetflow::GenerateConsumer*>(pipeline.consumer.get()) == nullptr) {
    return;
  }
  auto schema = pipeline.consumer->InferSchema();
  if (!schema.ok()) return;
  std::shared_ptr<arrow::Schema> stream = *schema;
  for (auto& transformer : pipeline.transformers) {
    auto bound = transformer.stage->Bind(stream);
    if (!bound.ok()) return;
    stream = *bound;
  }
  auto run = jetflow::ResolveRunInstance(loaded, std::nullopt);
  for (auto& loader : pipeline.loaders) {
    auto bound = loader.stage->Bind(stream);
    if (bound.ok() && run.ok()) (void)loader.stage->CheckRunInstance(*run);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > kMaxInputBytes) return -1;  // not added to the corpus
  const std::string text(reinterpret_cast<const char*>(data), size);
  auto loaded = jetflow::LoadPipelineText(text, "fuzz.yaml", kBaseDir, Registry());
  if (!loaded.ok()) {
    // Every rejection is Invalid (user mistakes) and names where in the file.
    if (!loaded.status().IsInvalid()) __builtin_trap();
    return 0;
  }
  Bind(*loaded);
  return 0;
}

#ifdef JETFLOW_FUZZ_LIBFUZZER
extern "C" size_t LLVMFuzzerMutate(uint8_t* data, size_t size, size_t max_size);

namespace {

// Values that break assumptions, next to the words the document itself holds (the
// dictionary gives libFuzzer's byte mutations the grammar's words).
constexpr const char* kHostileValues[] = {"",
                                          "~",
                                          "0",
                                          "-1",
                                          "1e308",
                                          "9223372036854775808",
                                          "${UNSET_VARIABLE}",
                                          "$$",
                                          "../",
                                          "s3://b/lake",
                                          "/",
                                          "{}",
                                          "[]",
                                          "${FUZZ_ROWS}"};

// Every node of `node`'s tree, depth first, and every scalar text (keys too) in `words`.
// Bounded: a document of nested aliases has a small tree but an exponential walk.
void Collect(const YAML::Node& node, std::vector<YAML::Node>* nodes,
             std::vector<std::string>* words, int depth) {
  if (depth > 64 || nodes->size() > 4096) return;
  nodes->push_back(node);
  if (node.IsScalar()) words->push_back(node.Scalar());
  if (node.IsMap()) {
    for (const auto& entry : node) {
      if (entry.first.IsScalar()) words->push_back(entry.first.Scalar());
      Collect(entry.second, nodes, words, depth + 1);
    }
  } else if (node.IsSequence()) {
    for (const auto& element : node) Collect(element, nodes, words, depth + 1);
  }
}

// One structural change of the YAML in `text`; false if it does not parse as YAML.
bool MutateStructure(std::string* text, std::mt19937& random) {
  YAML::Node root;
  try {
    root = YAML::Load(*text);
    std::vector<YAML::Node> nodes;
    std::vector<std::string> words(std::begin(kHostileValues), std::end(kHostileValues));
    Collect(root, &nodes, &words, 0);
    if (nodes.empty()) return false;
    YAML::Node target = nodes[random() % nodes.size()];
    switch (random() % 5) {
      case 0:  // a value (or a whole subtree) replaced by a word of the document
        target = words[random() % words.size()];
        break;
      case 1:  // a map entry dropped, or a word added as a key
        if (target.IsMap() && target.size() > 0 && random() % 2 == 0) {
          auto it = target.begin();
          std::advance(it, random() % target.size());
          target.remove(it->first);
        } else if (target.IsMap()) {
          target[words[random() % words.size()]] = words[random() % words.size()];
        }
        break;
      case 2:  // a sequence element duplicated, or emptied
        if (target.IsSequence() && target.size() > 0) {
          YAML::Node element = target[random() % target.size()];
          if (random() % 2 == 0) {
            target.push_back(YAML::Clone(element));
          } else {
            element = YAML::Node(YAML::NodeType::Null);
          }
        }
        break;
      case 3:  // a subtree copied over another
        target = YAML::Clone(nodes[random() % nodes.size()]);
        break;
      default:  // a scalar's type changed: a list or a map where a value was
        if (target.IsScalar()) {
          YAML::Node wrapped;
          wrapped.push_back(target.Scalar());
          target = wrapped;
        }
        break;
    }
    YAML::Emitter out;
    out << root;
    if (!out.good()) return false;
    *text = out.c_str();
    return true;
  } catch (...) {  // the mutator's own YAML work; the target catches nothing
    return false;
  }
}

}  // namespace

extern "C" size_t LLVMFuzzerCustomMutator(uint8_t* data, size_t size, size_t max_size,
                                          unsigned int seed) {
  std::mt19937 random(seed);
  if (random() % 4 != 0) {
    std::string text(reinterpret_cast<const char*>(data), size);
    if (MutateStructure(&text, random) && text.size() <= max_size) {
      std::memcpy(data, text.data(), text.size());
      return text.size();
    }
  }
  return LLVMFuzzerMutate(data, size, max_size);
}
#endif  // JETFLOW_FUZZ_LIBFUZZER
