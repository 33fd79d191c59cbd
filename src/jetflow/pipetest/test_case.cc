#include "jetflow/pipetest/test_case.h"

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "jetflow/core/type_name.h"

namespace jetflow::pipetest {

namespace {

namespace fs = std::filesystem;

std::optional<ConfigNode> ParseFile(const std::string& path, Diagnostics* diagnostics) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    diagnostics->Error({path, 0, 0}, "cannot read test file");
    return std::nullopt;
  }
  std::stringstream text;
  text << in.rdbuf();
  ConfigNode root = ConfigNode::Parse(text.str(), path, diagnostics);
  if (diagnostics->has_errors()) return std::nullopt;
  return root;
}

std::string ResolveAgainst(const std::string& file, const std::string& relative) {
  fs::path p(relative);
  if (p.is_absolute()) return p.lexically_normal().string();
  return (fs::path(file).parent_path() / p).lexically_normal().string();
}

// A scalar inside a nested value (list or struct cell): typed by how it is written.
nlohmann::json NestedFromYaml(const ConfigNode& node) {
  if (!node.IsDefined() || node.IsNull()) return nullptr;
  if (node.IsSequence()) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& e : node.Elements()) out.push_back(NestedFromYaml(e));
    return out;
  }
  if (node.IsMap()) {
    nlohmann::json out = nlohmann::json::object();
    for (const auto& [k, v] : node.Entries()) out[k] = NestedFromYaml(v);
    return out;
  }
  std::string text = node.AsString();
  if (!node.IsPlainScalar()) return text;
  if (text == "true") return true;
  if (text == "false") return false;
  int64_t i = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), i);
  if (ec == std::errc() && end == text.data() + text.size()) return i;
  char* stop = nullptr;
  double d = std::strtod(text.c_str(), &stop);
  if (!text.empty() && stop == text.c_str() + text.size()) return d;
  return text;
}

// A top-level cell: scalars stay text (converted by the column type), null is null.
nlohmann::json CellFromYaml(const ConfigNode& node) {
  if (!node.IsDefined() || node.IsNull()) return nullptr;
  if (node.IsScalar()) return node.AsString();
  return NestedFromYaml(node);
}

std::vector<nlohmann::json> ReadRows(const ConfigNode& node,
                                     std::vector<std::string>* columns) {
  std::vector<nlohmann::json> rows;
  if (!node.IsSequence()) {
    node.Error("'" + node.path() + "' must be a list of rows ({column: value, ...})");
    return rows;
  }
  for (const ConfigNode& row : node.Elements()) {
    if (!row.IsMap()) {
      row.Error("a row must be a map of column: value");
      continue;
    }
    nlohmann::json out = nlohmann::json::object();
    for (const auto& [key, value] : row.Entries()) {
      out[key] = CellFromYaml(value);
      if (columns && std::find(columns->begin(), columns->end(), key) == columns->end()) {
        columns->push_back(key);
      }
    }
    rows.push_back(std::move(out));
  }
  return rows;
}

std::vector<std::pair<std::string, std::shared_ptr<arrow::DataType>>> ReadSchema(
    const ConfigNode& node) {
  std::vector<std::pair<std::string, std::shared_ptr<arrow::DataType>>> out;
  if (!node.IsMap()) {
    node.Error("'" + node.path() + "' must be a map of column: type (e.g. {id: int64})");
    return out;
  }
  for (const auto& [name, type_node] : node.Entries()) {
    std::string text = type_node.AsString();
    auto type = ParseTypeName(text);
    if (!type.ok()) {
      type_node.Error("column '" + name + "': " + type.status().message());
      continue;
    }
    out.emplace_back(name, *type);
  }
  return out;
}

// A stage given by name or by 0-based index; nullopt after recording an error.
std::optional<size_t> ReadStage(const ConfigNode& node, const PipelineShape& pipeline) {
  std::string text = node.AsString();
  for (size_t i = 0; i < pipeline.transformers.size(); ++i) {
    if (pipeline.transformers[i] == text) return i;
  }
  size_t index = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), index);
  if (ec == std::errc() && end == text.data() + text.size()) {
    if (index < pipeline.transformers.size()) return index;
    node.Error("stage index " + text + " is out of range: the pipeline has " +
               std::to_string(pipeline.transformers.size()) + " transformer(s)");
    return std::nullopt;
  }
  std::string list;
  for (const auto& t : pipeline.transformers) list += (list.empty() ? "" : ", ") + t;
  auto hint = ClosestMatch(text, pipeline.transformers);
  node.Error("no transformer '" + text + "' in " + pipeline.file +
             " (transformers: " + (list.empty() ? "none" : list) + ")" +
             (hint ? "; did you mean '" + *hint + "'?" : ""));
  return std::nullopt;
}

void ReadStages(const ConfigNode& node, const PipelineShape& pipeline, TestCase* c) {
  c->first_stage = 0;
  c->end_stage = pipeline.transformers.size();
  if (!node.IsDefined() || node.IsNull()) return;
  if (node.IsScalar() && node.AsString() == "all") return;
  if (node.IsScalar() && node.AsString() == "none") {
    c->end_stage = 0;
    return;
  }
  if (node.IsScalar()) {
    if (auto s = ReadStage(node, pipeline)) {
      c->first_stage = *s;
      c->end_stage = *s + 1;
    }
    return;
  }
  std::vector<ConfigNode> range = node.Elements();
  if (!node.IsSequence() || range.size() != 2) {
    node.Error(
        "'stages' must be all, none, one transformer (name or index) or a range "
        "[from, to]");
    return;
  }
  auto from = ReadStage(range[0], pipeline);
  auto to = ReadStage(range[1], pipeline);
  if (from && to) {
    if (*from > *to) {
      node.Error("stage range [from, to] is reversed: '" + range[0].AsString() +
                 "' comes after '" + range[1].AsString() + "' in the pipeline");
      return;
    }
    c->first_stage = *from;
    c->end_stage = *to + 1;
  }
}

CaseInput ReadInput(const ConfigNode& node, const std::string& test_path) {
  CaseInput input;
  input.location = node.location();
  if (!node.IsMap()) {
    node.Error("'input' must be a map with one of rows, json or file");
    return input;
  }
  int sources = node.Has("rows") + node.Has("json") + node.Has("file");
  if (sources != 1) {
    node.Error("'input' needs exactly one of rows, json or file");
  }
  if (node.Has("rows")) input.rows = ReadRows(node.Get("rows"), nullptr);
  if (auto json = node.GetOptionalString("json")) {
    auto parsed = nlohmann::json::parse(*json, nullptr, /*allow_exceptions=*/false);
    if (parsed.is_discarded() || !parsed.is_array() ||
        !std::all_of(parsed.begin(), parsed.end(),
                     [](const nlohmann::json& r) { return r.is_object(); })) {
      node.Get("json").Error("'input.json' must be a JSON array of row objects");
    } else {
      input.rows = std::vector<nlohmann::json>(parsed.begin(), parsed.end());
    }
  }
  if (auto file = node.GetOptionalString("file")) {
    input.file = ResolveAgainst(test_path, *file);
    std::error_code ec;
    if (!fs::is_regular_file(*input.file, ec)) {
      node.Get("file").Error("fixture file not found: " + *input.file);
    }
  }
  if (node.Has("schema")) input.schema = ReadSchema(node.Get("schema"));
  input.batch_rows = node.GetInt("batch_rows", 0, 1, int64_t{1} << 24);
  node.CheckNoUnknownKeys();
  return input;
}

CaseExpectation ReadExpectation(const ConfigNode& node, bool through_loader) {
  CaseExpectation expect;
  expect.ordered = !through_loader;
  if (!node.IsMap()) {
    node.Error("'expect' must be a map (rows, ordered, schema, row_count, ...)");
    return expect;
  }
  if (node.Has("rows")) expect.rows = ReadRows(node.Get("rows"), &expect.row_columns);
  expect.ordered = node.GetBool("ordered", expect.ordered);
  if (node.Has("schema")) expect.schema = ReadSchema(node.Get("schema"));
  if (node.Has("row_count")) expect.row_count = node.GetInt("row_count", 0, 0);
  if (node.Has("dropped")) expect.dropped = node.GetInt("dropped", 0, 0);
  if (node.Has("quarantined")) expect.quarantined = node.GetInt("quarantined", 0, 0);
  ConfigNode rules = node.Get("rule_counts");
  if (rules.IsDefined() && !rules.IsNull()) {
    if (!rules.IsMap()) {
      rules.Error("'rule_counts' must be a map of rule: rows");
    } else {
      for (const auto& [rule, count] : rules.Entries()) {
        expect.rule_counts[rule] = count.AsInt();
      }
    }
  }
  expect.error = node.GetOptionalString("error");
  if (!expect.rows && !expect.schema && !expect.row_count && !expect.dropped &&
      !expect.quarantined && expect.rule_counts.empty() && !expect.error) {
    node.Error(
        "'expect' needs at least one of rows, schema, row_count, rule_counts, dropped, "
        "quarantined or error");
  }
  if (expect.error && (expect.rows || expect.schema || expect.row_count)) {
    node.Get("error").Error(
        "'expect.error' cannot be combined with rows, schema or row_count: a failing "
        "case has no output");
  }
  node.CheckNoUnknownKeys();
  return expect;
}

TestCase ReadCase(const ConfigNode& node, const std::string& test_path,
                  const PipelineShape& pipeline) {
  TestCase c;
  c.location = node.location();
  if (!node.IsMap()) {
    node.Error("a test case must be a map with name, input and expect");
    return c;
  }
  c.name = node.RequireString("name");
  c.through_loader = node.GetBool("through_loader", false);
  if (c.through_loader && node.Has("stages")) {
    node.Get("stages").Error("'through_loader: true' runs every stage; remove 'stages'");
  }
  ReadStages(node.Get("stages"), pipeline, &c);
  if (auto loader = node.GetOptionalString("loader")) {
    auto it = std::find(pipeline.loaders.begin(), pipeline.loaders.end(), *loader);
    if (it == pipeline.loaders.end()) {
      auto hint = ClosestMatch(*loader, pipeline.loaders);
      node.Get("loader").Error("no loader '" + *loader + "' in " + pipeline.file +
                               (hint ? "; did you mean '" + *hint + "'?" : ""));
    } else {
      c.loader = static_cast<size_t>(it - pipeline.loaders.begin());
    }
    if (!c.through_loader) {
      node.Get("loader").Error("'loader' only applies with 'through_loader: true'");
    }
  }
  c.run_instance = node.GetString("run_instance", "");
  c.input = ReadInput(node.Require("input"), test_path);
  ConfigNode expect = node.Require("expect");
  if (expect.IsDefined()) c.expect = ReadExpectation(expect, c.through_loader);
  node.CheckNoUnknownKeys();
  return c;
}

}  // namespace

std::optional<std::string> DeclaredPipeline(const std::string& test_path,
                                            Diagnostics* diagnostics) {
  auto root = ParseFile(test_path, diagnostics);
  if (!root || !root->IsMap() || !root->Has("pipeline")) return std::nullopt;
  ConfigNode pipeline = root->Get("pipeline");
  if (!pipeline.IsScalar()) {
    pipeline.Error(
        "'pipeline' must be the path of the pipeline file this test file tests");
    return std::nullopt;
  }
  return ResolveAgainst(test_path, pipeline.AsString());
}

TestFile ParseTestFile(const std::string& test_path, const PipelineShape& pipeline,
                       Diagnostics* diagnostics) {
  TestFile file;
  file.path = test_path;
  file.pipeline_path = pipeline.file;
  auto root = ParseFile(test_path, diagnostics);
  if (!root) return file;
  ConfigNode cases = *root;
  if (root->IsMap()) {
    root->Get("pipeline");  // read by DeclaredPipeline()
    cases = root->Require("cases");
    root->CheckNoUnknownKeys();
  } else if (!root->IsSequence()) {
    root->Error(
        "a test file must be a map with 'cases' (and optionally 'pipeline'), or a "
        "list of cases");
    return file;
  }
  if (!cases.IsDefined()) return file;
  std::set<std::string> names;
  for (const ConfigNode& node : cases.Elements()) {
    TestCase c = ReadCase(node, test_path, pipeline);
    if (!c.name.empty() && !names.insert(c.name).second) {
      node.Get("name").Error("duplicate case name '" + c.name + "'");
    }
    file.cases.push_back(std::move(c));
  }
  if (cases.IsSequence() && file.cases.empty()) cases.Error("'cases' is empty");
  return file;
}

}  // namespace jetflow::pipetest
