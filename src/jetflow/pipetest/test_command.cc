#include "jetflow/pipetest/test_command.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "jetflow/config/pipeline_config.h"
#include "jetflow/pipetest/pipeline_test_runner.h"
#include "jetflow/pipetest/test_case.h"
#include "jetflow/pipetest/test_report.h"

namespace jetflow::pipetest {

namespace {

namespace fs = std::filesystem;

bool IsYaml(const fs::path& p) {
  return p.extension() == ".yaml" || p.extension() == ".yml";
}

bool IsTestFileName(const fs::path& p) {
  std::string name = p.filename().string();
  return name.ends_with(".test.yaml") || name.ends_with(".test.yml");
}

enum class Kind { kPipeline, kTestFile, kOther };

Kind Classify(const fs::path& p) {
  if (IsTestFileName(p)) return Kind::kTestFile;
  try {
    YAML::Node root = YAML::LoadFile(p.string());
    if (root.IsSequence() || (root.IsMap() && root["cases"])) return Kind::kTestFile;
    if (root.IsMap() && root["consumer"]) return Kind::kPipeline;
    return Kind::kOther;
  } catch (const YAML::Exception&) {
    return Kind::kPipeline;  // unreadable: loading it as a pipeline reports where
  }
}

std::vector<fs::path> YamlFilesIn(const fs::path& dir) {
  std::vector<fs::path> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (entry.is_regular_file() && IsYaml(entry.path())) out.push_back(entry.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<fs::path> PipelinesIn(const fs::path& dir) {
  std::vector<fs::path> out;
  for (const auto& p : YamlFilesIn(dir)) {
    if (!IsTestFileName(p) && Classify(p) == Kind::kPipeline) out.push_back(p);
  }
  return out;
}

bool SameFile(const fs::path& a, const fs::path& b) {
  std::error_code ec;
  return fs::equivalent(a, b, ec);
}

struct Job {
  std::string test_file;
  std::string pipeline;
};

class Discovery {
 public:
  std::vector<Job> jobs;
  std::vector<FileError> errors;

  void AddPath(const std::string& arg) {
    fs::path p(arg);
    std::error_code ec;
    if (fs::is_directory(p, ec)) {
      for (const auto& pipeline : PipelinesIn(p)) AddPipeline(pipeline);
    } else if (!fs::is_regular_file(p, ec)) {
      Error(arg, arg + ": error: no such file or directory");
    } else if (Classify(p) == Kind::kTestFile) {
      AddTestFile(p);
    } else {
      AddPipeline(p);
    }
  }

 private:
  void Error(const std::string& file, const std::string& message) {
    for (const auto& e : errors) {
      if (e.file == file) return;
    }
    errors.push_back({file, message});
  }

  void Add(const fs::path& test_file, const fs::path& pipeline) {
    for (const auto& j : jobs) {
      if (SameFile(j.test_file, test_file)) return;
    }
    jobs.push_back(
        {test_file.lexically_normal().string(), pipeline.lexically_normal().string()});
  }

  // The `pipeline:` of a test file; "" if it has none; nullopt after an error.
  std::optional<std::string> Declared(const fs::path& test_file) {
    Diagnostics diagnostics;
    auto declared = DeclaredPipeline(test_file.string(), &diagnostics);
    if (diagnostics.has_errors()) {
      Error(test_file.string(), diagnostics.ToStatus().message());
      return std::nullopt;
    }
    return declared.value_or("");
  }

  void AddPipeline(const fs::path& pipeline) {
    fs::path dir = pipeline.parent_path();
    std::string stem = pipeline.stem().string();
    for (const char* ext : {".test.yaml", ".test.yml"}) {
      fs::path candidate = dir / (stem + ext);
      std::error_code ec;
      if (fs::is_regular_file(candidate, ec)) Add(candidate, pipeline);
    }
    fs::path tests = dir / "tests";
    std::error_code ec;
    if (!fs::is_directory(tests, ec)) return;
    std::optional<std::vector<fs::path>> siblings;
    for (const auto& test_file : YamlFilesIn(tests)) {
      auto declared = Declared(test_file);
      if (!declared) continue;
      if (!declared->empty()) {
        if (SameFile(*declared, pipeline)) Add(test_file, pipeline);
        continue;
      }
      if (!siblings) siblings = PipelinesIn(dir);
      if (siblings->size() == 1) {
        Add(test_file, pipeline);
      } else {
        Error(test_file.string(),
              test_file.string() +
                  ": error: cannot tell which pipeline this test file tests (" +
                  dir.string() + " holds several); add 'pipeline: ../" +
                  pipeline.filename().string() + "'");
      }
    }
  }

  void AddTestFile(const fs::path& test_file) {
    auto declared = Declared(test_file);
    if (!declared) return;
    if (!declared->empty()) {
      Add(test_file, *declared);
      return;
    }
    std::string name = test_file.filename().string();
    if (IsTestFileName(test_file)) {
      std::string stem = name.substr(0, name.rfind(".test."));
      for (const char* ext : {".yaml", ".yml"}) {
        fs::path candidate = test_file.parent_path() / (stem + ext);
        std::error_code ec;
        if (fs::is_regular_file(candidate, ec)) {
          Add(test_file, candidate);
          return;
        }
      }
    } else if (test_file.parent_path().filename() == "tests") {
      auto pipelines = PipelinesIn(test_file.parent_path().parent_path());
      if (pipelines.size() == 1) {
        Add(test_file, pipelines[0]);
        return;
      }
    }
    Error(test_file.string(), test_file.string() +
                                  ": error: cannot tell which pipeline this test file "
                                  "tests; add 'pipeline: <path of the pipeline file>'");
  }
};

std::string Indent(const std::string& text, const std::string& pad) {
  std::string out = pad;
  for (char c : text) {
    out += c;
    if (c == '\n') out += pad;
  }
  return out;
}

}  // namespace

int RunTestCommand(const TestCommandOptions& options, const ComponentRegistry& registry) {
  Discovery discovery;
  std::vector<std::string> paths = options.paths;
  if (paths.empty()) paths.push_back(".");
  for (const auto& p : paths) discovery.AddPath(p);

  // Engine logs (through_loader runs) would drown the report; keep warnings and errors.
  auto level = spdlog::get_level();
  if (level < spdlog::level::warn) spdlog::set_level(spdlog::level::warn);

  std::vector<CaseResult> results;
  std::vector<FileError>& errors = discovery.errors;
  for (const Job& job : discovery.jobs) {
    auto loaded = LoadPipelineFile(job.pipeline, registry);
    if (!loaded.ok()) {
      errors.push_back({job.test_file, "pipeline " + job.pipeline + " is invalid:\n" +
                                           loaded.status().message()});
      continue;
    }
    PipelineShape shape;
    shape.file = job.pipeline;
    for (const auto& t : loaded->pipeline.transformers)
      shape.transformers.push_back(t.name);
    for (const auto& l : loaded->pipeline.loaders) shape.loaders.push_back(l.name);
    Diagnostics diagnostics;
    TestFile file = ParseTestFile(job.test_file, shape, &diagnostics);
    if (diagnostics.has_errors()) {
      errors.push_back({job.test_file, diagnostics.ToStatus().message()});
      continue;
    }
    for (const TestCase& c : file.cases) {
      if (options.filter && c.name.find(*options.filter) == std::string::npos) continue;
      CaseResult r = RunTestCase(file, c, registry);
      if (!options.json) {
        fmt::print("{}  {} :: {} ({:.0f} ms)\n", r.passed ? "PASS" : "FAIL", r.file,
                   r.name, r.seconds * 1000);
        if (!r.passed) {
          fmt::print("{}\n",
                     Indent("at " + r.location.ToString() + "\n" + r.message, "      "));
        }
        std::fflush(stdout);
      }
      results.push_back(std::move(r));
    }
  }
  spdlog::set_level(level);

  int passed = 0;
  int failed = 0;
  double seconds = 0;
  for (const auto& r : results) {
    (r.passed ? passed : failed) += 1;
    seconds += r.seconds;
  }
  for (const auto& e : errors) fmt::print(stderr, "{}\n", e.message);
  bool none = results.empty() && errors.empty();
  if (none) {
    fmt::print(stderr,
               "error: no test cases found{} (looked for <pipeline>.test.yaml and "
               "tests/*.yaml next to each pipeline)\n",
               options.filter ? " matching --filter '" + *options.filter + "'" : "");
  }

  if (options.json) {
    nlohmann::json cases = nlohmann::json::array();
    for (const auto& r : results) {
      cases.push_back({{"file", r.file},
                       {"name", r.name},
                       {"line", r.location.line},
                       {"status", r.passed ? "passed" : "failed"},
                       {"seconds", r.seconds},
                       {"message", r.message}});
    }
    nlohmann::json invalid = nlohmann::json::array();
    for (const auto& e : errors)
      invalid.push_back({{"file", e.file}, {"message", e.message}});
    fmt::print("{}\n",
               nlohmann::json{{"passed", passed},
                              {"failed", failed},
                              {"invalid_files", invalid},
                              {"cases", cases}}
                   .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  } else {
    fmt::print(
        "{} passed, {} failed{} ({:.2f} s)\n", passed, failed,
        errors.empty() ? "" : fmt::format(", {} invalid test file(s)", errors.size()),
        seconds);
  }

  if (options.junit_file) {
    std::ofstream out(*options.junit_file, std::ios::binary | std::ios::trunc);
    out << JUnitXml(results, errors);
    out.close();
    if (!out) {
      fmt::print(stderr, "error: cannot write JUnit XML to {}\n", *options.junit_file);
      return 2;
    }
  }
  if (!errors.empty() || none) return 2;
  return failed > 0 ? 1 : 0;
}

}  // namespace jetflow::pipetest
