#include "jetflow/pipetest/pipeline_test_runner.h"

#include <arrow/api.h>
#include <arrow/io/file.h>
#include <parquet/arrow/reader.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>  // mkdtemp (POSIX, declared by glibc's stdlib.h)
#include <filesystem>
#include <map>

#include "jetflow/config/pipeline_config.h"
#include "jetflow/core/conform_batch.h"
#include "jetflow/core/error.h"
#include "jetflow/engine/pipeline_runner.h"
#include "jetflow/sources/file/file_consumer.h"
#include "jetflow/state/sqlite/sqlite_state_store.h"
#include "jetflow/testing/batch_compare.h"
#include "jetflow/testing/batch_from_json.h"
#include "jetflow/testing/stage_harness.h"

namespace jetflow::pipetest {

namespace {

namespace fs = std::filesystem;

struct RunOutput {
  std::shared_ptr<arrow::Table> table;
  int64_t dropped = 0;
  int64_t quarantined = 0;
  /// Rows per rule, under "rule" and "<transformer>.rule".
  std::map<std::string, int64_t> rules;
  bool rules_known = true;
};

std::string JoinNames(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

/// A folder removed with everything in it when this goes out of scope.
class TempDir {
 public:
  static arrow::Result<TempDir> Make() {
    std::string pattern = (fs::temp_directory_path() / "jetflow-test-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) {
      return arrow::Status::IOError("cannot create a temporary folder in ",
                                    fs::temp_directory_path().string());
    }
    return TempDir(pattern);
  }
  TempDir(TempDir&& other) noexcept : path_(std::move(other.path_)) {
    other.path_.clear();
  }
  TempDir& operator=(TempDir&&) = delete;
  ~TempDir() {
    if (path_.empty() || std::getenv("JETFLOW_TEST_KEEP_TMP") != nullptr) return;
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  explicit TempDir(std::string path) : path_(std::move(path)) {}
  std::string path_;
};

arrow::Result<std::shared_ptr<arrow::Schema>> InputSchema(const TestCase& c,
                                                          LoadedPipeline& loaded,
                                                          bool required) {
  if (!c.input.schema.empty()) {
    arrow::FieldVector fields;
    for (const auto& [name, type] : c.input.schema)
      fields.push_back(arrow::field(name, type));
    return arrow::schema(std::move(fields));
  }
  auto inferred = loaded.pipeline.consumer->InferSchema();
  if (!inferred.ok()) {
    if (!required) return nullptr;
    return arrow::Status::Invalid(
        "the input schema is unknown: give 'input.schema' ({column: type}); the "
        "consumer's schema cannot be inferred offline: ",
        inferred.status().message());
  }
  std::shared_ptr<arrow::Schema> schema = *inferred;
  for (size_t i = 0; i < c.first_stage; ++i) {
    const auto& stage = loaded.pipeline.transformers[i];
    auto bound = stage.stage->Bind(schema);
    if (!bound.ok()) {
      return AddContext(bound.status(),
                        "computing the input schema of the case's first stage: "
                        "transformer '" +
                            stage.name + "' Bind");
    }
    schema = *bound;
  }
  return schema;
}

// Reads a CSV/JSONL/Parquet fixture with the file consumer, typed as `schema` when given.
arrow::Result<std::shared_ptr<arrow::RecordBatch>> ReadFixture(
    const std::string& path, const std::shared_ptr<arrow::Schema>& schema) {
  FileConsumer::Options options;
  options.path = path;
  ARROW_ASSIGN_OR_RAISE(auto probe, FileConsumer::Make(options));
  ARROW_ASSIGN_OR_RAISE(auto file_schema, probe->InferSchema());
  if (schema) {
    std::vector<std::string> missing;
    for (const auto& field : schema->fields()) {
      int i = file_schema->GetFieldIndex(field->name());
      if (i < 0) {
        missing.push_back(field->name());
      } else if (probe->options().format != FileConsumer::Format::kParquet &&
                 !file_schema->field(i)->type()->Equals(*field->type())) {
        options.column_types.emplace_back(field->name(), field->type());
      }
    }
    if (!missing.empty()) {
      return arrow::Status::Invalid("fixture ", path, " lacks column(s) ",
                                    JoinNames(missing), " of the input schema (it has ",
                                    JoinNames(file_schema->field_names()), ")");
    }
  }
  ARROW_ASSIGN_OR_RAISE(auto consumer, FileConsumer::Make(options));
  ARROW_ASSIGN_OR_RAISE(auto table, testing::ReadConsumer(*consumer, {"run", "test"}));
  ARROW_ASSIGN_OR_RAISE(auto batch, table->CombineChunksToBatch());
  if (!schema) return batch;
  return ConformBatch(batch, schema);
}

arrow::Result<RunOutput> RunStages(
    const TestCase& c, LoadedPipeline& loaded, const RunInstance& run,
    const std::shared_ptr<arrow::Schema>& schema,
    const std::vector<std::shared_ptr<arrow::RecordBatch>>& batches) {
  std::vector<Transformer*> chain;
  std::vector<std::string> names;
  std::shared_ptr<arrow::Schema> out_schema = schema;
  for (size_t i = c.first_stage; i < c.end_stage; ++i) {
    auto& stage = loaded.pipeline.transformers[i];
    auto bound = stage.stage->Bind(out_schema);
    if (!bound.ok()) {
      return AddContext(bound.status(), "transformer '" + stage.name + "' Bind");
    }
    out_schema = *bound;
    chain.push_back(stage.stage.get());
    names.push_back(stage.name);
  }
  PartitionContext context = testing::TestPartitionContext();
  context.pipeline = loaded.pipeline.name;
  context.run = run;
  ARROW_ASSIGN_OR_RAISE(auto stages, testing::RunBoundTransformers(
                                         chain, out_schema, batches, context, names));
  RunOutput out;
  out.table = stages.table;
  for (size_t k = 0; k < stages.counters.size(); ++k) {
    out.dropped += stages.counters[k].rows_dropped;
    out.quarantined += stages.counters[k].rows_quarantined;
    for (const auto& rule : stages.counters[k].rules) {
      out.rules[rule.rule] += rule.rows;
      out.rules[names[k] + "." + rule.rule] += rule.rows;
    }
  }
  return out;
}

// Replaces every `path:` value below `node` with a fresh folder under `root`.
void RedirectPaths(YAML::Node node, const std::string& root, int* counter) {
  if (node.IsMap()) {
    for (auto it = node.begin(); it != node.end(); ++it) {
      if (it->first.as<std::string>() == "path" && it->second.IsScalar()) {
        it->second = root + "/side-" + std::to_string((*counter)++);
      } else {
        RedirectPaths(it->second, root, counter);
      }
    }
  } else if (node.IsSequence()) {
    for (auto child : node) RedirectPaths(child, root, counter);
  }
}

arrow::Result<std::shared_ptr<arrow::Table>> ReadLake(const std::string& root) {
  std::vector<std::string> files;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(root, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (it->is_directory() && (name.starts_with("_") || name.starts_with("."))) {
      it.disable_recursion_pending();
      continue;
    }
    if (it->is_regular_file() && it->path().extension() == ".parquet") {
      files.push_back(it->path().string());
    }
  }
  std::sort(files.begin(), files.end());
  if (files.empty()) return nullptr;
  std::vector<std::shared_ptr<arrow::Table>> tables;
  for (const auto& file : files) {
    ARROW_ASSIGN_OR_RAISE(auto in, arrow::io::ReadableFile::Open(file));
    ARROW_ASSIGN_OR_RAISE(auto reader,
                          parquet::arrow::OpenFile(in, arrow::default_memory_pool()));
    ARROW_ASSIGN_OR_RAISE(auto table, reader->ReadTable());
    tables.push_back(std::move(table));
  }
  return arrow::ConcatenateTables(tables);
}

arrow::Result<RunOutput> RunThroughLoader(
    const TestCase& c, const TestFile& file, const ComponentRegistry& registry,
    const RunInstance& run, const std::shared_ptr<arrow::Schema>& schema,
    const std::vector<std::shared_ptr<arrow::RecordBatch>>& batches) {
  ARROW_ASSIGN_OR_RAISE(auto tmp, TempDir::Make());
  std::string text;
  std::string lake;
  try {
    YAML::Node root = YAML::LoadFile(file.pipeline_path);
    YAML::Node loaders = root["loaders"];
    for (size_t i = 0; i < loaders.size(); ++i) {
      YAML::Node loader = loaders[i];
      if (loader.IsMap() && loader["path"]) {
        loader["path"] = tmp.path() + "/lake-" + std::to_string(i);
        if (i == c.loader) lake = tmp.path() + "/lake-" + std::to_string(i);
      }
    }
    int counter = 0;
    if (root["transformers"]) RedirectPaths(root["transformers"], tmp.path(), &counter);
    root.remove("state");
    YAML::Emitter emitter;
    emitter << root;
    text = emitter.c_str();
  } catch (const YAML::Exception& e) {
    return arrow::Status::Invalid(file.pipeline_path, ": ", e.what());
  }
  if (lake.empty()) {
    return arrow::Status::Invalid(
        "through_loader: the selected loader has no 'path' to redirect to a temporary "
        "folder");
  }
  std::string base_dir = fs::absolute(file.pipeline_path).parent_path().string();
  ARROW_ASSIGN_OR_RAISE(auto loaded,
                        LoadPipelineText(text, file.pipeline_path, base_dir, registry));
  loaded.pipeline.consumer = std::make_unique<testing::FixtureConsumer>(schema, batches);
  loaded.pipeline.engine.max_attempts = 1;
  ARROW_ASSIGN_OR_RAISE(auto state, SqliteStateStore::Open(tmp.path() + "/state.db"));
  ARROW_ASSIGN_OR_RAISE(auto summary,
                        PipelineRunner::Run(loaded.pipeline, run, *state, RunOptions{}));
  if (!summary.succeeded) return arrow::Status::Invalid(summary.error);
  RunOutput out;
  out.rules_known = false;
  out.dropped = summary.rows_dropped;
  out.quarantined = summary.rows_quarantined;
  ARROW_ASSIGN_OR_RAISE(out.table, ReadLake(lake));
  if (out.table == nullptr) {
    // No file written (no rows, nothing to read a schema from).
    ARROW_ASSIGN_OR_RAISE(out.table, arrow::Table::MakeEmpty(arrow::schema({})));
  }
  return out;
}

std::string FormatSchema(
    const std::vector<std::pair<std::string, std::shared_ptr<arrow::DataType>>>& s) {
  std::string out;
  for (const auto& [name, type] : s) {
    out += (out.empty() ? "" : ", ") + name + ": " + type->ToString();
  }
  return "{" + out + "}";
}

void CheckRows(const CaseExpectation& expect, const arrow::Table& actual,
               std::vector<std::string>* problems) {
  const arrow::Schema& schema = *actual.schema();
  std::vector<std::string> columns = expect.row_columns;
  if (columns.empty()) columns = schema.field_names();  // `rows: []`: show what came out
  arrow::FieldVector fields;
  std::vector<std::shared_ptr<arrow::Array>> arrays;
  for (const auto& column : columns) {
    int i = schema.GetFieldIndex(column);
    if (i < 0) {
      problems->push_back("column '" + column + "' of expect.rows is not in the output " +
                          "(columns: " + JoinNames(schema.field_names()) + ")");
      continue;
    }
    std::vector<nlohmann::json> values;
    for (const auto& row : *expect.rows) {
      auto it = row.find(column);
      values.push_back(it == row.end() ? nlohmann::json() : *it);
    }
    auto array = testing::ArrayFromJsonValues(schema.field(i)->type(), values);
    if (!array.ok()) {
      problems->push_back("expect.rows, column '" + column +
                          "': " + array.status().message());
      return;
    }
    fields.push_back(schema.field(i));
    arrays.push_back(std::move(*array));
  }
  auto expected = arrow::Table::Make(arrow::schema(fields), arrays,
                                     static_cast<int64_t>(expect.rows->size()));
  testing::CompareOptions options;
  options.ordered = expect.ordered;
  options.same_columns = false;
  auto diff = testing::CompareTables(*expected, actual, options);
  if (!diff.ok()) {
    problems->push_back("expect.rows: " + diff.status().message());
    return;
  }
  if (diff->empty()) return;
  std::string text = diff->ToString();
  if (!text.empty() && text.back() == '\n') text.pop_back();
  problems->push_back(text);
}

std::string CheckExpectations(const CaseExpectation& expect, const RunOutput& out) {
  std::vector<std::string> problems;
  const arrow::Table& table = *out.table;
  if (expect.schema) {
    std::vector<std::pair<std::string, std::shared_ptr<arrow::DataType>>> actual;
    for (const auto& f : table.schema()->fields())
      actual.emplace_back(f->name(), f->type());
    bool same = actual.size() == expect.schema->size();
    for (size_t i = 0; same && i < actual.size(); ++i) {
      same = actual[i].first == (*expect.schema)[i].first &&
             actual[i].second->Equals(*(*expect.schema)[i].second);
    }
    if (!same) {
      problems.push_back("schema: expected " + FormatSchema(*expect.schema) + "\n" +
                         "        actual   " + FormatSchema(actual));
    }
  }
  if (expect.row_count && *expect.row_count != table.num_rows()) {
    problems.push_back("row count: expected " + std::to_string(*expect.row_count) +
                       ", actual " + std::to_string(table.num_rows()));
  }
  if (expect.dropped && *expect.dropped != out.dropped) {
    problems.push_back("dropped rows: expected " + std::to_string(*expect.dropped) +
                       ", actual " + std::to_string(out.dropped));
  }
  if (expect.quarantined && *expect.quarantined != out.quarantined) {
    problems.push_back("quarantined rows: expected " +
                       std::to_string(*expect.quarantined) + ", actual " +
                       std::to_string(out.quarantined));
  }
  for (const auto& [rule, rows] : expect.rule_counts) {
    if (!out.rules_known) {
      problems.push_back(
          "rule_counts are only available for stage runs, not with "
          "through_loader (use dropped/quarantined)");
      break;
    }
    auto it = out.rules.find(rule);
    int64_t actual = it == out.rules.end() ? 0 : it->second;
    if (actual != rows) {
      std::string known;
      for (const auto& [name, n] : out.rules) {
        if (name.find('.') == std::string::npos) {
          known += (known.empty() ? "" : ", ") + name + "=" + std::to_string(n);
        }
      }
      problems.push_back("rule '" + rule + "': expected " + std::to_string(rows) +
                         " rows, actual " + std::to_string(actual) +
                         " (counted: " + (known.empty() ? "none" : known) + ")");
    }
  }
  if (expect.rows) CheckRows(expect, table, &problems);
  std::string message;
  for (const auto& p : problems) message += (message.empty() ? "" : "\n") + p;
  return message;
}

}  // namespace

CaseResult RunTestCase(const TestFile& file, const TestCase& c,
                       const ComponentRegistry& registry) {
  auto start = std::chrono::steady_clock::now();
  CaseResult result;
  result.file = file.path;
  result.name = c.name;
  result.location = c.location;
  auto finish = [&](std::string message) {
    result.passed = message.empty();
    result.message = std::move(message);
    result.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return result;
  };

  auto loaded = LoadPipelineFile(file.pipeline_path, registry);
  if (!loaded.ok())
    return finish("pipeline " + file.pipeline_path + ": " + loaded.status().message());
  if (c.end_stage > loaded->pipeline.transformers.size()) {
    return finish(
        "the pipeline changed: it has fewer transformers than the case selects");
  }
  RunInstance run{loaded->run_instance.key, !c.run_instance.empty() ? c.run_instance
                                            : loaded->run_instance.value
                                                ? *loaded->run_instance.value
                                                : "test"};

  auto schema = InputSchema(c, *loaded, /*required=*/!c.input.file.has_value());
  if (!schema.ok()) return finish("input: " + schema.status().message());
  std::shared_ptr<arrow::RecordBatch> input;
  if (c.input.rows) {
    auto batch = testing::BatchFromJsonRows(*schema, *c.input.rows);
    if (!batch.ok()) {
      return finish("input (" + c.input.location.ToString() +
                    "): " + batch.status().message());
    }
    input = *batch;
  } else {
    auto batch = ReadFixture(*c.input.file, *schema);
    if (!batch.ok()) return finish("input: " + batch.status().message());
    input = *batch;
  }
  int64_t batch_rows =
      c.input.batch_rows > 0 ? c.input.batch_rows : loaded->pipeline.engine.batch_rows;
  auto batches = testing::SliceBatch(input, batch_rows);

  auto out = c.through_loader
                 ? RunThroughLoader(c, file, registry, run, input->schema(), batches)
                 : RunStages(c, *loaded, run, input->schema(), batches);
  if (!out.ok()) {
    const std::string& message = out.status().message();
    if (c.expect.error) {
      if (message.find(*c.expect.error) != std::string::npos) return finish("");
      return finish("expected an error containing \"" + *c.expect.error +
                    "\", got: " + message);
    }
    return finish("error: " + message);
  }
  if (c.expect.error) {
    return finish("expected an error containing \"" + *c.expect.error +
                  "\", but the case succeeded with " +
                  std::to_string(out->table->num_rows()) + " row(s) out");
  }
  return finish(CheckExpectations(c.expect, *out));
}

}  // namespace jetflow::pipetest
