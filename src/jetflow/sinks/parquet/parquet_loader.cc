#include "jetflow/sinks/parquet/parquet_loader.h"

#include <arrow/filesystem/filesystem.h>
#include <arrow/io/memory.h>
#include <arrow/util/config.h>
#include <parquet/arrow/reader.h>
#include <parquet/arrow/writer.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <ctime>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <utility>

#include "jetflow/core/conform_batch.h"
#include "jetflow/core/error.h"
#include "jetflow/core/manifest.h"
#include "jetflow/core/type_name.h"
#include "jetflow/sinks/parquet/hive_partitioning.h"
#include "jetflow/sinks/parquet/lake_verifier.h"
#include "jetflow/sinks/parquet/parquet_partition_writer.h"
#include "jetflow/sinks/parquet/rename_committer.h"

namespace jetflow {

namespace {

// Fixed, so that re-runs write identical footers. Follows the "<app> version <semver>
// (build <id>)" form that parquet-mr parses before trusting string statistics.
constexpr const char* kCreatedBy =
    "jetflow version 0.1.0 (build parquet-cpp-arrow-" ARROW_VERSION_STRING ")";
constexpr int64_t kMaxEncodeThreads = 256;
// Each open file holds a file descriptor and a buffered row group.
constexpr int64_t kMaxOpenFiles = 65536;

std::string JoinLines(const std::vector<std::string>& lines, const std::string& indent) {
  std::string out;
  for (const auto& line : lines) out += "\n" + indent + line;
  return out;
}

size_t CountErrors(const Diagnostics& diagnostics) {
  return std::count_if(
      diagnostics.entries().begin(), diagnostics.entries().end(),
      [](const Diagnostic& d) { return d.severity == Diagnostic::Severity::kError; });
}

// A Hive key that every reader parses and none hides: letters, digits and underscores,
// not starting with "_" (readers skip such directories) or a digit.
std::optional<std::string> CheckPartitionColumn(const std::string& name) {
  if (name.empty()) return "must not be empty";
  if (name.front() == '_' || std::isdigit(static_cast<unsigned char>(name.front()))) {
    return "must start with a letter (readers skip directories starting with '_')";
  }
  for (char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') {
      return "may contain only letters, digits and '_'";
    }
  }
  return std::nullopt;
}

bool EqualsIgnoringCase(const std::string& a, const std::string& b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// Why partition_by[index] cannot be a directory key. Keys are compared ignoring case:
// Spark and Hive match column names case-insensitively.
std::optional<std::string> PartitionByNameProblem(const std::vector<std::string>& names,
                                                  size_t index,
                                                  const std::string& partition_column) {
  const std::string& name = names[index];
  if (auto problem = CheckPartitionColumn(name)) {
    return "partition_by column '" + name + "' " + *problem +
           " (rename it with a transformer)";
  }
  if (EqualsIgnoringCase(name, partition_column)) {
    return "partition_by column '" + name + "' clashes with partition_column '" +
           partition_column + "': both would be directory keys";
  }
  for (size_t i = 0; i < index; ++i) {
    if (EqualsIgnoringCase(names[i], name)) {
      return "partition_by column '" + name + "' is listed twice";
    }
  }
  return std::nullopt;
}

// A run instance key that one of the loader's own directory keys repeats (ignoring
// case), as one message per clash; none when `run_key` is empty (unknown).
std::vector<std::string> RunKeyClashes(const std::string& run_key,
                                       const std::string& partition_column,
                                       const std::vector<std::string>& partition_by) {
  std::vector<std::string> clashes;
  if (run_key.empty()) return clashes;
  if (EqualsIgnoringCase(run_key, partition_column)) {
    clashes.push_back("the run instance key '" + run_key +
                      "' (run_instance.key) clashes with partition_column '" +
                      partition_column + "': both would be directory keys (" + run_key +
                      "=<instance>/" + partition_column +
                      "=<partition>/); choose another run_instance.key or set the "
                      "loader's partition_column");
  }
  for (const std::string& column : partition_by) {
    if (EqualsIgnoringCase(column, run_key)) {
      clashes.push_back("partition_by column '" + column +
                        "' clashes with the run instance key '" + run_key +
                        "': both would be directory keys; rename the column or the "
                        "run_instance key");
    }
  }
  return clashes;
}

// A directory key of the lake's paths, which readers add as a column.
struct DirectoryKey {
  std::string name;
  std::string what;    // for messages: "the run instance key 'dt' (run_instance.key)"
  std::string remedy;  // besides renaming the column
};

DirectoryKey RunDirectoryKey(const std::string& run_key) {
  return {run_key, "the run instance key '" + run_key + "' (run_instance.key)",
          "choose another run_instance.key"};
}

// The loader's own directory keys: the partition directory key and partition_by.
std::vector<DirectoryKey> LoaderDirectoryKeys(
    const std::string& partition_column, const std::vector<std::string>& partition_by) {
  std::vector<DirectoryKey> keys;
  keys.push_back({partition_column,
                  "the partition directory key '" + partition_column +
                      "' (the loader's partition_column)",
                  "set the loader's partition_column to another name"});
  for (const std::string& column : partition_by) {
    keys.push_back(
        {column, "partition_by column '" + column + "'", "partition by another column"});
  }
  return keys;
}

// Columns of the data files named (ignoring case, as Spark compares them) like one of
// `keys`: readers take a key's value from the path, so Spark and DuckDB would return the
// directory's value instead of the column's, and pyarrow would refuse to merge the two.
// One message per clash, naming the remedy.
std::vector<std::string> ColumnClashes(const arrow::Schema& file_schema,
                                       const std::vector<DirectoryKey>& keys) {
  std::vector<std::string> clashes;
  for (const auto& field : file_schema.fields()) {
    for (const DirectoryKey& key : keys) {
      if (!EqualsIgnoringCase(field->name(), key.name)) continue;
      clashes.push_back(
          "column '" + field->name() + "' is named like " + key.what +
          ", a directory key of the lake (" + key.name +
          "=<value>/): Spark and DuckDB would read the directory's value instead of the "
          "column's; rename the column (a select transformer with rename: {" +
          field->name() + ": <new name>}) or " + key.remedy);
      break;
    }
  }
  return clashes;
}

arrow::Status CheckCompressionLevel(arrow::Compression::type codec, int level) {
  if (!arrow::util::Codec::SupportsCompressionLevel(codec)) {
    return arrow::Status::Invalid("compression ",
                                  arrow::util::Codec::GetCodecAsString(codec),
                                  " takes no compression_level");
  }
  ARROW_ASSIGN_OR_RAISE(int min, arrow::util::Codec::MinimumCompressionLevel(codec));
  ARROW_ASSIGN_OR_RAISE(int max, arrow::util::Codec::MaximumCompressionLevel(codec));
  if (level < min || level > max) {
    return arrow::Status::Invalid(
        "compression_level for ", arrow::util::Codec::GetCodecAsString(codec),
        " must be between ", min, " and ", max, ", got ", level);
  }
  return arrow::Status::OK();
}

std::shared_ptr<arrow::Schema> ParseDeclaredSchema(const ConfigNode& node) {
  if (!node.IsSequence()) {
    node.Error(
        "'" + node.path() +
        "' must be a list of columns like {name: id, type: int64, nullable: false}");
    return nullptr;
  }
  arrow::FieldVector fields;
  std::set<std::string> names;
  for (const ConfigNode& column : node.Elements()) {
    if (!column.IsMap()) {
      column.Error("'" + column.path() + "' must be a map with name, type and nullable");
      continue;
    }
    std::string name = column.RequireString("name");
    ConfigNode type_node = column.Require("type");
    bool nullable = column.GetBool("nullable", true);
    column.CheckNoUnknownKeys();
    std::shared_ptr<arrow::DataType> type;
    if (!type_node.IsNull()) {
      auto parsed = ParseTypeName(type_node.AsString());
      if (parsed.ok()) {
        type = *parsed;
      } else {
        type_node.Error("'" + type_node.path() + "': " + parsed.status().message());
      }
    }
    if (name.empty()) continue;
    if (!names.insert(name).second) {
      column.Get("name").Error("column '" + name + "' is declared twice");
      continue;
    }
    if (type != nullptr) fields.push_back(arrow::field(name, type, nullable));
  }
  return arrow::schema(std::move(fields));
}

std::string UtcNow() {
  auto now = std::chrono::system_clock::now();
  std::time_t seconds = std::chrono::system_clock::to_time_t(now);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char text[32];
  std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

// Writes `schema` to an empty in-memory Parquet file and reads its schema back. The
// written footer is what readers get, so this finds at plan time any type the writer
// rejects or would hand back differently.
arrow::Result<std::shared_ptr<arrow::Schema>> RoundTripSchema(
    const std::shared_ptr<arrow::Schema>& schema,
    const std::shared_ptr<parquet::WriterProperties>& properties,
    const std::shared_ptr<parquet::ArrowWriterProperties>& arrow_properties) {
  ARROW_ASSIGN_OR_RAISE(auto sink, arrow::io::BufferOutputStream::Create());
  ARROW_ASSIGN_OR_RAISE(
      auto writer, parquet::arrow::FileWriter::Open(*schema, arrow::default_memory_pool(),
                                                    sink, properties, arrow_properties));
  ARROW_RETURN_NOT_OK(writer->Close());
  ARROW_ASSIGN_OR_RAISE(auto buffer, sink->Finish());
  ARROW_ASSIGN_OR_RAISE(
      auto reader,
      parquet::arrow::OpenFile(std::make_shared<arrow::io::BufferReader>(buffer),
                               arrow::default_memory_pool()));
  std::shared_ptr<arrow::Schema> back;
  ARROW_RETURN_NOT_OK(reader->GetSchema(&back));
  return back;
}

arrow::Status CheckRoundTrip(
    const std::shared_ptr<arrow::Schema>& schema,
    const std::shared_ptr<parquet::WriterProperties>& properties,
    const std::shared_ptr<parquet::ArrowWriterProperties>& arrow_properties) {
  auto whole = RoundTripSchema(schema, properties, arrow_properties);
  if (whole.ok() && (*whole)->Equals(*schema, /*check_metadata=*/false)) {
    return arrow::Status::OK();
  }
  // Find the columns at fault, one by one.
  std::vector<std::string> problems;
  for (const auto& field : schema->fields()) {
    auto one = RoundTripSchema(arrow::schema({field}), properties, arrow_properties);
    if (!one.ok()) {
      problems.push_back("column '" + field->name() + "': type " +
                         field->type()->ToString() +
                         " cannot be written to Parquet: " + one.status().message());
    } else if (!(*one)->field(0)->Equals(*field, /*check_metadata=*/false)) {
      problems.push_back(
          "column '" + field->name() + "': type " + field->type()->ToString() +
          " would be read back from Parquet as " + (*one)->field(0)->type()->ToString() +
          (field->nullable() == (*one)->field(0)->nullable() ? "" : " (nullability)"));
    }
  }
  if (problems.empty()) {
    return whole.ok() ? arrow::Status::Invalid(
                            "the schema does not round-trip through Parquet: ",
                            (*whole)->ToString())
                      : whole.status();
  }
  return arrow::Status::Invalid("the Parquet writer cannot store the output schema:",
                                JoinLines(problems, "  "));
}

}  // namespace

// ---------------------------------------------------------------------------------------
// Options

arrow::Result<ParquetLoader::Options> ParquetLoader::ParseOptions(
    const ConfigNode& node, const ComponentContext& context) {
  const size_t errors_before = CountErrors(*node.diagnostics());
  Options options;
  if (!context.name.empty()) options.name = context.name;

  std::string path = node.RequireString("path");
  if (!path.empty()) options.path = context.ResolvePath(path);

  options.profile = node.GetEnum("profile", "spark", {"spark", "lossless"}) == "lossless"
                        ? OutputProfile::kLossless
                        : OutputProfile::kSpark;

  const std::string compression =
      node.GetEnum("compression", "zstd", {"zstd", "snappy", "none"});
  options.compression = compression == "snappy" ? arrow::Compression::SNAPPY
                        : compression == "none" ? arrow::Compression::UNCOMPRESSED
                                                : arrow::Compression::ZSTD;
  if (!arrow::util::Codec::IsAvailable(options.compression)) {
    node.Get("compression")
        .Error("compression '" + compression +
               "' is not available in this build of Arrow");
  }
  if (node.Has("compression_level")) {
    if (!arrow::util::Codec::SupportsCompressionLevel(options.compression)) {
      ConfigNode level_node = node.Get("compression_level");
      level_node.Error("'" + level_node.path() + "': compression " + compression +
                       " takes no compression_level");
    } else {
      auto min = arrow::util::Codec::MinimumCompressionLevel(options.compression);
      auto max = arrow::util::Codec::MaximumCompressionLevel(options.compression);
      options.compression_level = static_cast<int>(node.GetInt(
          "compression_level", 0, min.ValueOr(INT32_MIN), max.ValueOr(INT32_MAX)));
    }
  }

  options.row_group_rows = node.GetInt("row_group_rows", options.row_group_rows, 1);
  options.row_group_bytes = node.GetBytes("row_group_bytes", options.row_group_bytes);
  if (options.row_group_bytes < 0) {
    node.Get("row_group_bytes").Error("'row_group_bytes' must not be negative");
  }
  options.max_file_rows = node.GetInt("max_file_rows", 0, 0);
  options.max_file_bytes = node.GetBytes("max_file_bytes", options.max_file_bytes);
  if (options.max_file_bytes < 0) {
    node.Get("max_file_bytes").Error("'max_file_bytes' must not be negative");
  }
  options.dictionary = node.GetBool("dictionary", true);
  options.statistics = node.GetBool("statistics", true);
  options.data_page_version =
      node.GetEnum("data_page_version", "1.0", {"1.0", "2.0"}) == "2.0"
          ? parquet::ParquetDataPageVersion::V2
          : parquet::ParquetDataPageVersion::V1;
  options.encode_threads =
      static_cast<int>(node.GetInt("encode_threads", 1, 1, kMaxEncodeThreads));
  const std::string write_mode =
      node.GetEnum("write_mode", "auto", {"auto", "streaming", "row_groups"});
  options.write_mode = write_mode == "streaming"    ? WriteMode::kStreaming
                       : write_mode == "row_groups" ? WriteMode::kRowGroups
                                                    : WriteMode::kAuto;

  options.fsync = node.GetBool("fsync", true);
  options.adopt_existing = node.GetBool("adopt_existing", false);

  options.partition_column = node.GetString("partition_column", "part");
  if (auto problem = CheckPartitionColumn(options.partition_column)) {
    node.Get("partition_column")
        .Error("'partition_column' " + *problem + ", got '" + options.partition_column +
               "'");
  }
  options.run_key = context.run_key;
  for (const std::string& clash :
       RunKeyClashes(options.run_key, options.partition_column, {})) {
    // Reported where the partition_column is set, or on the loader for the default.
    (node.Has("partition_column") ? node.Get("partition_column") : node).Error(clash);
  }

  ConfigNode partition_by_node = node.Get("partition_by");
  if (!partition_by_node.IsNull()) {
    std::vector<ConfigNode> elements;
    if (partition_by_node.IsScalar()) {
      elements.push_back(partition_by_node);
    } else {
      elements = partition_by_node.Elements();  // records an error if not a list
    }
    for (const ConfigNode& element : elements) {
      options.partition_by.push_back(element.AsString());
    }
    for (size_t i = 0; i < elements.size(); ++i) {
      if (auto problem =
              PartitionByNameProblem(options.partition_by, i, options.partition_column)) {
        elements[i].Error(*problem);
      }
      // A partition_column clash is reported above; this is about the column.
      for (const std::string& clash :
           RunKeyClashes(options.run_key, "", {options.partition_by[i]})) {
        elements[i].Error(clash);
      }
    }
  }
  options.max_open_files = static_cast<int>(
      node.GetInt("max_open_files", options.max_open_files, 1, kMaxOpenFiles));
  if (node.Has("max_open_files") && options.partition_by.empty()) {
    node.Get("max_open_files")
        .Warning("'max_open_files' has no effect without 'partition_by'");
  }

  ConfigNode schema_node = node.Get("schema");
  if (!schema_node.IsNull()) options.schema = ParseDeclaredSchema(schema_node);
  options.extra_columns =
      node.GetEnum("extra_columns", "error", {"error", "drop"}) == "drop"
          ? ExtraColumns::kDrop
          : ExtraColumns::kError;
  if (node.Has("extra_columns") && schema_node.IsNull()) {
    node.Get("extra_columns").Warning("'extra_columns' has no effect without 'schema'");
  }

  node.CheckNoUnknownKeys();

  const auto& entries = node.diagnostics()->entries();
  if (CountErrors(*node.diagnostics()) == errors_before) return options;
  std::vector<std::string> errors;
  size_t seen = 0;
  for (const auto& entry : entries) {
    if (entry.severity != Diagnostic::Severity::kError) continue;
    if (seen++ >= errors_before) errors.push_back(entry.ToString());
  }
  return arrow::Status::Invalid("invalid options for parquet loader '", options.name,
                                "':", JoinLines(errors, "  "));
}

// ---------------------------------------------------------------------------------------
// Loader

namespace {

// The filesystem of `path` (a local path, absolute or relative to the working directory,
// or a URI that arrow::fs::FileSystemFromUriOrPath understands) and, in `root`, the path
// in it.
arrow::Result<std::shared_ptr<arrow::fs::FileSystem>> OpenFilesystem(
    const std::string& path, std::string* root) {
  std::string location = path;
  if (path.find("://") == std::string::npos &&
      !std::filesystem::path(path).is_absolute()) {
    std::error_code error;
    auto absolute = std::filesystem::absolute(path, error);
    if (error) {
      return arrow::Status::IOError("parquet loader: cannot resolve path '", path,
                                    "': ", error.message());
    }
    location = absolute.lexically_normal().string();
  }
  auto filesystem = arrow::fs::FileSystemFromUriOrPath(location, root);
  if (!filesystem.ok()) {
    return arrow::Status::Invalid("parquet loader: cannot open output path '", path,
                                  "': ", filesystem.status().message());
  }
  return filesystem;
}

// How partitions of a lake on `filesystem` become visible. Every filesystem Arrow opens
// today gets the rename protocol: with the local filesystem's fsync and atomic exchange,
// elsewhere moving the old directory aside. On object stores (GCS; S3 is not even loaded)
// Arrow refuses to move a directory, so the first Publish fails there, having published
// nothing; a manifest committer for them (committer.h) will be chosen here.
std::shared_ptr<Committer> ChooseCommitter(
    std::shared_ptr<arrow::fs::FileSystem> filesystem, LakeLayout layout,
    const ParquetLoader::Options& options) {
  RenameCommitter::Options rename;
  rename.fsync = options.fsync;
  rename.adopt_existing = options.adopt_existing;
  return RenameCommitter::Make(std::move(filesystem), std::move(layout), rename);
}

}  // namespace

ParquetLoader::ParquetLoader(Options options,
                             std::shared_ptr<arrow::fs::FileSystem> filesystem,
                             std::shared_ptr<Committer> committer)
    : options_(std::move(options)),
      filesystem_(std::move(filesystem)),
      committer_(std::move(committer)) {}

ParquetLoader::~ParquetLoader() = default;

arrow::Result<std::unique_ptr<ParquetLoader>> ParquetLoader::Make(Options options) {
  std::vector<std::string> problems;
  if (options.path.empty()) problems.push_back("'path' is required");
  if (options.row_group_rows < 1)
    problems.push_back("'row_group_rows' must be at least 1");
  if (options.row_group_bytes < 0)
    problems.push_back("'row_group_bytes' must not be negative");
  if (options.max_file_rows < 0)
    problems.push_back("'max_file_rows' must not be negative");
  if (options.max_file_bytes < 0)
    problems.push_back("'max_file_bytes' must not be negative");
  if (options.encode_threads < 1 || options.encode_threads > kMaxEncodeThreads) {
    problems.push_back("'encode_threads' must be between 1 and " +
                       std::to_string(kMaxEncodeThreads));
  }
  if (auto problem = CheckPartitionColumn(options.partition_column)) {
    problems.push_back("'partition_column' " + *problem);
  }
  for (size_t i = 0; i < options.partition_by.size(); ++i) {
    if (auto problem =
            PartitionByNameProblem(options.partition_by, i, options.partition_column)) {
      problems.push_back(*problem);
    }
  }
  for (std::string& clash :
       RunKeyClashes(options.run_key, options.partition_column, options.partition_by)) {
    problems.push_back(std::move(clash));
  }
  if (options.max_open_files < 1 || options.max_open_files > kMaxOpenFiles) {
    problems.push_back("'max_open_files' must be between 1 and " +
                       std::to_string(kMaxOpenFiles));
  }
  if (!arrow::util::Codec::IsAvailable(options.compression)) {
    problems.push_back("compression " +
                       arrow::util::Codec::GetCodecAsString(options.compression) +
                       " is not available in this build of Arrow");
  } else if (options.compression_level) {
    arrow::Status valid =
        CheckCompressionLevel(options.compression, *options.compression_level);
    if (!valid.ok()) problems.push_back(valid.message());
  }
  if (!problems.empty()) {
    return arrow::Status::Invalid("invalid options for parquet loader '", options.name,
                                  "':", JoinLines(problems, "  "));
  }
  std::shared_ptr<arrow::fs::FileSystem> filesystem = options.filesystem;
  std::string root = options.path;
  if (filesystem == nullptr) {
    ARROW_ASSIGN_OR_RAISE(filesystem, OpenFilesystem(options.path, &root));
  }
  auto committer = ChooseCommitter(
      filesystem, LakeLayout(std::move(root), options.partition_column), options);
  return std::unique_ptr<ParquetLoader>(
      new ParquetLoader(std::move(options), std::move(filesystem), std::move(committer)));
}

arrow::Result<std::shared_ptr<arrow::Schema>> ParquetLoader::BindDeclared(
    const arrow::Schema& input) const {
  const arrow::Schema& declared = *options_.schema;
  std::vector<std::string> problems;
  for (const auto& field : declared.fields()) {
    // A declared type must itself be readable under the profile.
    auto mapped = ApplyOutputProfile(arrow::schema({field}), options_.profile);
    if (!mapped.ok()) {
      problems.push_back(mapped.status().message());
    } else if (!(*mapped)->field(0)->type()->Equals(*field->type())) {
      const std::string safe = (*mapped)->field(0)->type()->ToString();
      problems.push_back("column '" + field->name() + "': declared type " +
                         field->type()->ToString() +
                         " is not Spark-safe (the spark profile writes it as " + safe +
                         "); declare " + safe + " or use profile: lossless");
    }
    auto matches = input.GetAllFieldIndices(field->name());
    if (matches.empty()) {
      problems.push_back("column '" + field->name() +
                         "': declared in schema but missing from the stream");
    } else if (matches.size() > 1) {
      problems.push_back("column '" + field->name() +
                         "': appears more than once in the stream");
    } else if (!CanConform(*input.field(matches[0]), *field->type())) {
      problems.push_back("column '" + field->name() + "': source type " +
                         input.field(matches[0])->type()->ToString() +
                         " cannot be cast to declared " + field->type()->ToString());
    }
  }
  if (options_.extra_columns == ExtraColumns::kError) {
    for (const auto& field : input.fields()) {
      if (declared.GetFieldIndex(field->name()) >= 0) continue;
      problems.push_back(
          "column '" + field->name() +
          "': in the stream but not declared in schema (declare it, or set "
          "extra_columns: drop)");
    }
  }
  if (!problems.empty()) {
    return arrow::Status::Invalid(
        "parquet loader '", options_.name,
        "': the stream does not match the declared schema:", JoinLines(problems, "  "));
  }
  return options_.schema;
}

arrow::Result<std::shared_ptr<arrow::Schema>> ParquetLoader::Bind(
    const std::shared_ptr<arrow::Schema>& input) {
  std::shared_ptr<arrow::Schema> output;
  if (options_.schema != nullptr) {
    ARROW_ASSIGN_OR_RAISE(output, BindDeclared(*input));
  } else {
    auto profiled = ApplyOutputProfile(input, options_.profile);
    if (!profiled.ok()) {
      return arrow::Status::Invalid("parquet loader '", options_.name,
                                    "': the stream cannot be written with profile ",
                                    ToString(options_.profile), ":",
                                    JoinLines({profiled.status().message()}, "  "));
    }
    output = *profiled;
  }

  // partition_by columns live in the directory names, not in the files.
  std::shared_ptr<arrow::Schema> file_schema = output;
  std::shared_ptr<const HivePartitioning> hive;
  if (!options_.partition_by.empty()) {
    auto layout = HivePartitioning::Make(*input, output, options_.partition_by);
    if (!layout.ok()) {
      return arrow::Status::Invalid("parquet loader '", options_.name,
                                    "': ", layout.status().message());
    }
    hive = *std::move(layout);
    file_schema = hive->file_schema();
  }
  std::vector<DirectoryKey> keys =
      LoaderDirectoryKeys(options_.partition_column, options_.partition_by);
  if (!options_.run_key.empty()) {
    keys.insert(keys.begin(), RunDirectoryKey(options_.run_key));
  }
  std::vector<std::string> clashes = ColumnClashes(*file_schema, keys);
  if (!clashes.empty()) {
    return arrow::Status::Invalid(
        "parquet loader '", options_.name,
        "': columns clash with directory keys:", JoinLines(clashes, "  "));
  }

  auto settings = std::make_shared<ParquetWriteSettings>();
  settings->committer = committer_;
  settings->loader_name = options_.name;
  settings->output_schema = output;
  settings->file_schema = file_schema;
  settings->schema_fingerprint = SchemaFingerprint(*file_schema);
  settings->hive = hive;
  settings->max_open_files = options_.max_open_files;
  settings->max_file_rows = options_.max_file_rows;
  settings->max_file_bytes = options_.max_file_bytes;
  settings->row_group_rows = options_.row_group_rows;
  settings->row_group_bytes = options_.row_group_bytes;
  if (options_.profile == OutputProfile::kSpark) {
    // Arrow writes dates and timestamps in the proleptic Gregorian calendar.
    // Spark 3.0-3.5 refuses, by default, dates before 1582-10-15 and timestamps before
    // 1900 from files that do not say which calendar they use; a writer version >= 3.0
    // without "org.apache.spark.legacyDateTime" tells Spark the values are proleptic
    // Gregorian, so it reads them unchanged (Spark 4 assumes this already).
    settings->footer_metadata =
        arrow::key_value_metadata({"org.apache.spark.version"}, {"3.5.0"});
  }

  constexpr int64_t kDefaultDictionaryPageBytes = 1 << 20;  // Arrow's default
  constexpr int64_t kMinDictionaryPageBytes = 64 << 10;
  // Every setting explicit: Arrow C++'s defaults differ from pyarrow's.
  parquet::WriterProperties::Builder builder;
  builder.version(parquet::ParquetVersion::PARQUET_2_6)
      ->compression(options_.compression)
      ->max_row_group_length(options_.row_group_rows)
      ->data_page_version(options_.data_page_version)
      ->created_by(kCreatedBy);
  if (options_.compression_level) builder.compression_level(*options_.compression_level);
  if (options_.dictionary) {
    builder.enable_dictionary();
    if (!options_.partition_by.empty()) {
      // Every open file keeps a dictionary per column that grows up to this limit before
      // falling back to plain encoding; with up to max_open_files files open, shrink it
      // so their sum stays near what four unpartitioned files would hold.
      builder.dictionary_pagesize_limit(
          std::max<int64_t>(kMinDictionaryPageBytes,
                            kDefaultDictionaryPageBytes * 4 / options_.max_open_files));
    }
  } else {
    builder.disable_dictionary();
  }
  if (options_.statistics) {
    builder.enable_statistics();
  } else {
    builder.disable_statistics();
  }
  settings->writer_properties = builder.build();

  parquet::ArrowWriterProperties::Builder arrow_builder;
  arrow_builder.store_schema();  // lets Arrow readers restore the exact written types
  if (options_.profile == OutputProfile::kSpark) {
    // Conformed batches are already in microseconds; this makes the writer refuse, not
    // truncate, anything that slipped through.
    arrow_builder.coerce_timestamps(arrow::TimeUnit::MICRO)
        ->disallow_truncated_timestamps();
  }
  if (options_.encode_threads > 1) {
    ARROW_ASSIGN_OR_RAISE(settings->encode_pool,
                          arrow::internal::ThreadPool::Make(options_.encode_threads));
    arrow_builder.set_use_threads(true)->set_executor(settings->encode_pool.get());
  }
  settings->arrow_properties = arrow_builder.build();

  arrow::Status round_trip = CheckRoundTrip(file_schema, settings->writer_properties,
                                            settings->arrow_properties);
  if (!round_trip.ok()) {
    return arrow::Status::Invalid("parquet loader '", options_.name,
                                  "': ", round_trip.message());
  }
  output_schema_ = output;
  file_schema_ = file_schema;
  settings_ = std::move(settings);
  return output;
}

arrow::Status ParquetLoader::CheckRunInstance(const RunInstance& run) {
  std::vector<std::string> clashes =
      RunKeyClashes(run.key, options_.partition_column, options_.partition_by);
  if (file_schema_ != nullptr) {
    for (std::string& clash : ColumnClashes(*file_schema_, {RunDirectoryKey(run.key)})) {
      clashes.push_back(std::move(clash));
    }
  }
  if (clashes.empty()) return arrow::Status::OK();
  return arrow::Status::Invalid(
      "parquet loader '", options_.name,
      "': ", clashes.size() == 1 ? clashes.front() : JoinLines(clashes, "  "));
}

arrow::Status ParquetLoader::BeginRun(const RunContext& run) {
  ARROW_RETURN_NOT_OK(CheckRunInstance(run.run));
  arrow::Status status = committer_->BeginRun(run.run);
  if (status.ok()) return status;
  return arrow::Status(status.code(),
                       "parquet loader '" + options_.name + "': cannot prepare run '" +
                           run.run.id() + "' in output root '" + options_.path +
                           "': " + status.message(),
                       status.detail());
}

RowGroupEncoding ParquetLoader::RowGroupEncodingFor(const Options& options,
                                                    const PartitionContext& context) {
  switch (options.write_mode) {
    case WriteMode::kStreaming:
      return RowGroupEncoding::kStreaming;
    case WriteMode::kRowGroups:
      return RowGroupEncoding::kWhole;
    case WriteMode::kAuto:
      break;
  }
  const int64_t in_flight = context.partitions_in_flight;
  const bool fits =
      options.row_group_bytes > 0 && context.memory_budget_bytes > 0 &&
      in_flight * options.row_group_bytes <= context.memory_budget_bytes / 2;
  // With partition_by, rows of many files share the row group budget and are flushed
  // early to bound it; a file whose last rows were flushed early ends with an empty row
  // group when streaming, not when held whole: switching mid-run would make the bytes
  // depend on timing.
  return options.encode_threads == 1 && in_flight >= 2 && fits &&
                 options.partition_by.empty()
             ? RowGroupEncoding::kAdaptive
             : RowGroupEncoding::kStreaming;
}

arrow::Result<std::unique_ptr<PartitionWriter>> ParquetLoader::OpenPartition(
    const PartitionContext& context) {
  if (settings_ == nullptr) {
    return arrow::Status::Invalid("parquet loader '", options_.name,
                                  "': OpenPartition before a successful Bind");
  }
  ARROW_RETURN_NOT_OK(CheckRunInstance(context.run));
  const RowGroupEncoding encoding = RowGroupEncodingFor(options_, context);
  spdlog::debug("parquet loader '{}': partition '{}' written in {} mode", options_.name,
                context.partition.id,
                encoding == RowGroupEncoding::kWhole      ? "row_groups"
                : encoding == RowGroupEncoding::kAdaptive ? "adaptive"
                                                          : "streaming");
  ARROW_ASSIGN_OR_RAISE(auto writer,
                        ParquetPartitionWriter::Open(settings_, context, encoding));
  return std::unique_ptr<PartitionWriter>(std::move(writer));
}

arrow::Status ParquetLoader::FinishRun(const RunContext& run,
                                       const std::vector<PartitionManifest>& partitions) {
  if (settings_ == nullptr) {
    return arrow::Status::Invalid("parquet loader '", options_.name,
                                  "': FinishRun before a successful Bind");
  }
  const std::string prefix = "parquet loader '" + options_.name + "': ";
  std::map<std::string, const PartitionManifest*> by_id;
  std::vector<std::string> partition_ids;
  int64_t run_rows = 0;
  for (const auto& manifest : partitions) {
    if (!by_id.emplace(manifest.partition_id, &manifest).second) {
      return arrow::Status::Invalid(prefix, "partition '", manifest.partition_id,
                                    "' appears twice in the run's manifests");
    }
    partition_ids.push_back(manifest.partition_id);
    run_rows += manifest.rows;
  }
  PartitionManifest empty_file;
  if (run_rows == 0) {
    const std::string id = by_id.empty() ? kEmptyRunPartitionId : by_id.begin()->first;
    // Only over published output: a partition that is not is reported below.
    bool published = by_id.empty();
    if (!published) {
      ARROW_ASSIGN_OR_RAISE(published, committer_->IsPublished(run.run, id));
    }
    if (published) {
      ARROW_ASSIGN_OR_RAISE(empty_file, PublishEmptyFile(run, id));
      if (by_id.empty()) partition_ids.push_back(id);
      by_id[id] = &empty_file;
    }
  }

  auto describe = [](const arrow::FieldVector& fields) {
    nlohmann::ordered_json out = nlohmann::ordered_json::array();
    for (const auto& field : fields) {
      out.push_back({{"name", field->name()},
                     {"type", field->type()->ToString()},
                     {"nullable", field->nullable()}});
    }
    return out;
  };
  // The columns of the data files (what schema_fingerprint covers).
  nlohmann::ordered_json columns = describe(settings_->file_schema->fields());
  nlohmann::ordered_json partition_list = nlohmann::ordered_json::array();
  int64_t rows = 0;
  int64_t bytes = 0;
  for (const auto& [id, manifest] : by_id) {  // sorted by partition id
    partition_list.push_back(nlohmann::ordered_json::parse(manifest->ToJson(), nullptr,
                                                           /*allow_exceptions=*/false));
    rows += manifest->rows;
    bytes += manifest->bytes;
  }
  nlohmann::ordered_json json = {{"format", "jetflow.run-manifest/1"},
                                 {"pipeline", run.pipeline},
                                 {"loader", options_.name},
                                 {"instance", run.run.id()},
                                 {"run_id", run.run_id},
                                 {"finished_at", UtcNow()},
                                 {"rows", rows},
                                 {"bytes", bytes},
                                 {"schema_fingerprint", settings_->schema_fingerprint},
                                 {"columns", std::move(columns)}};
  if (settings_->hive != nullptr) {
    // The columns held by the directory names, in directory order.
    json["partition_by"] = describe(settings_->hive->partition_fields());
  }
  json["partitions"] = std::move(partition_list);

  // Checks that every partition is in place, removes stale ones, then writes the run
  // manifest and _SUCCESS.
  arrow::Status status =
      committer_->FinishRun(run.run, partition_ids,
                            json.dump(2, ' ', /*ensure_ascii=*/false,
                                      nlohmann::ordered_json::error_handler_t::replace));
  if (status.ok()) return status;
  return arrow::Status(status.code(), prefix + status.message(), status.detail());
}

arrow::Result<PartitionManifest> ParquetLoader::PublishEmptyFile(
    const RunContext& run, const std::string& partition_id) {
  PartitionContext context;
  context.pipeline = run.pipeline;
  context.run = run.run;
  context.run_id = run.run_id;
  context.partition.id = partition_id;
  // The engine numbers attempts from 1: this one never meets a partition attempt.
  context.attempt = 0;
  const std::string where = "parquet loader '" + options_.name +
                            "': writing the empty file of run instance " + run.run.id() +
                            " into partition '" + partition_id + "'";
  auto writer = ParquetPartitionWriter::Open(settings_, context);
  if (!writer.ok()) return AddContext(writer.status(), where);
  arrow::Status written = (*writer)->WriteEmptyFile();
  arrow::Result<PartitionManifest> manifest =
      written.ok() ? (*writer)->Commit() : arrow::Result<PartitionManifest>(written);
  if (!manifest.ok()) {
    (void)(*writer)->Abort();
    return AddContext(manifest.status(), where);
  }
  return manifest;
}

arrow::Result<std::vector<ManifestDifference>> ParquetLoader::VerifyCommitted(
    const PartitionManifest& manifest, VerifyDepth depth) {
  const LakeVerifier verifier(filesystem_, committer_->layout());
  auto differences = verifier.VerifyPartition(manifest, depth);
  if (differences.ok()) return differences;
  return arrow::Status(differences.status().code(),
                       "parquet loader '" + options_.name +
                           "': cannot verify partition " + manifest.partition_id + ": " +
                           differences.status().message(),
                       differences.status().detail());
}

arrow::Result<PublishedRunCheck> ParquetLoader::VerifyPublished(const RunInstance& run,
                                                                VerifyDepth depth) {
  const LakeVerifier verifier(filesystem_, committer_->layout());
  auto check = verifier.VerifyRun(run, depth);
  if (check.ok()) return check;
  return arrow::Status(check.status().code(),
                       "parquet loader '" + options_.name + "': cannot verify run '" +
                           run.id() + "' in output root '" + options_.path +
                           "': " + check.status().message(),
                       check.status().detail());
}

void RegisterParquetLoader(ComponentRegistry& registry) {
  registry.RegisterLoader(
      "parquet",
      [](const ConfigNode& node,
         const ComponentContext& context) -> arrow::Result<std::unique_ptr<Loader>> {
        ARROW_ASSIGN_OR_RAISE(auto options, ParquetLoader::ParseOptions(node, context));
        ARROW_ASSIGN_OR_RAISE(auto loader, ParquetLoader::Make(std::move(options)));
        return std::unique_ptr<Loader>(std::move(loader));
      });
}

}  // namespace jetflow
