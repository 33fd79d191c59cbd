#include "jetflow/sources/file/file_consumer.h"

#include <arrow/api.h>
#include <arrow/compute/cast.h>
#include <arrow/csv/api.h>
#include <arrow/io/api.h>
#include <arrow/json/api.h>
#include <arrow/util/compression.h>
#include <fnmatch.h>
#include <parquet/arrow/reader.h>
#include <parquet/file_reader.h>
#include <parquet/metadata.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>
#include <string_view>
#include <system_error>

#include "jetflow/core/error.h"
#include "jetflow/sources/partition_split.h"
#include "jetflow/sources/register_sources.h"
#include "jetflow/sources/source_options.h"

namespace jetflow {

namespace {

namespace fs = std::filesystem;
using Format = FileConsumer::Format;
using FileEntry = FileConsumer::FileEntry;

const char* FormatName(Format format) {
  switch (format) {
    case Format::kCsv:
      return "csv";
    case Format::kJsonLines:
      return "jsonl";
    case Format::kParquet:
      return "parquet";
  }
  return "?";
}

// The format FormatName() names, if any.
std::optional<Format> FormatNamed(std::string_view name) {
  for (Format format : {Format::kCsv, Format::kJsonLines, Format::kParquet}) {
    if (name == FormatName(format)) return format;
  }
  return std::nullopt;
}

// Compression of a csv/jsonl file, from its last extension.
arrow::Compression::type CompressionOf(const std::string& path) {
  const std::string ext = fs::path(path).extension().string();
  if (ext == ".gz") return arrow::Compression::GZIP;
  if (ext == ".zst") return arrow::Compression::ZSTD;
  return arrow::Compression::UNCOMPRESSED;
}

// The format an extension stands for ("x.csv.gz" -> csv), if any.
std::optional<Format> FormatFromExtension(const std::string& path) {
  fs::path p(path);
  if (CompressionOf(path) != arrow::Compression::UNCOMPRESSED) p = p.stem();
  std::string ext = p.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (ext == ".csv" || ext == ".tsv" || ext == ".txt") return Format::kCsv;
  if (ext == ".jsonl" || ext == ".ndjson" || ext == ".json") return Format::kJsonLines;
  if (ext == ".parquet" || ext == ".pq") {
    if (CompressionOf(path) != arrow::Compression::UNCOMPRESSED) return std::nullopt;
    return Format::kParquet;
  }
  return std::nullopt;
}

bool HasGlob(const std::string& text) {
  return text.find_first_of("*?[") != std::string::npos;
}

// Hidden or metadata files (".x", "_SUCCESS") in any component of `relative`.
bool IsHidden(const fs::path& relative) {
  for (const auto& part : relative) {
    const std::string name = part.string();
    if (!name.empty() && (name[0] == '.' || name[0] == '_')) return true;
  }
  return false;
}

// "f_" + the relative path without its data-format extensions (a directory named
// "part=f_orders.csv" would look like a file to glob-based tools), other characters
// than [A-Za-z0-9._-] replaced by '_'.
std::string SanitizeId(std::string relative) {
  auto strip = [&](std::initializer_list<std::string_view> suffixes) {
    for (std::string_view suffix : suffixes) {
      if (relative.size() > suffix.size() && relative.ends_with(suffix)) {
        relative.resize(relative.size() - suffix.size());
        return;
      }
    }
  };
  strip({".gz", ".zst", ".zstd"});
  strip({".csv", ".tsv", ".jsonl", ".ndjson", ".json", ".parquet", ".pq"});
  std::string id = "f_";
  for (char c : relative) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                    (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
    id.push_back(ok ? c : '_');
  }
  return id;
}

// Lists the files `pattern` names: (relative path, absolute path) pairs, sorted, and the
// base folder relative paths are taken from.
arrow::Status ListFiles(const std::string& pattern, std::optional<Format> format,
                        std::vector<FileEntry>* files) {
  std::error_code ec;
  std::vector<std::pair<std::string, std::string>> found;  // relative, full
  bool from_directory = false;
  if (!HasGlob(pattern)) {
    if (fs::is_directory(pattern, ec)) {
      from_directory = true;
      for (auto it = fs::recursive_directory_iterator(
               pattern, fs::directory_options::skip_permission_denied, ec);
           !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
        if (!it->is_regular_file(ec)) continue;
        fs::path relative = it->path().lexically_relative(pattern);
        if (IsHidden(relative)) continue;
        found.emplace_back(relative.generic_string(), it->path().string());
      }
      if (ec) {
        return arrow::Status::IOError("cannot list directory: ", ec.message(), " (path ",
                                      pattern, ")");
      }
    } else if (fs::is_regular_file(pattern, ec)) {
      found.emplace_back(fs::path(pattern).filename().string(), pattern);
    }
  } else {
    // The base folder: the leading components without glob characters.
    fs::path base;
    fs::path rest;
    bool in_pattern = false;
    for (const auto& part : fs::path(pattern)) {
      if (!in_pattern && HasGlob(part.string())) in_pattern = true;
      (in_pattern ? rest : base) /= part;
    }
    if (base.empty()) base = ".";
    const std::string rest_pattern = rest.generic_string();
    const int depth = static_cast<int>(std::distance(rest.begin(), rest.end()));
    if (fs::is_directory(base, ec)) {
      for (auto it = fs::recursive_directory_iterator(
               base, fs::directory_options::skip_permission_denied, ec);
           !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
        if (it.depth() + 1 >= depth) it.disable_recursion_pending();
        if (!it->is_regular_file(ec)) continue;
        const std::string relative = it->path().lexically_relative(base).generic_string();
        if (fnmatch(rest_pattern.c_str(), relative.c_str(), FNM_PATHNAME | FNM_PERIOD) ==
            0) {
          found.emplace_back(relative, it->path().string());
        }
      }
      if (ec) {
        return arrow::Status::IOError("cannot list directory: ", ec.message(), " (path ",
                                      base.string(), ")");
      }
    }
  }
  std::sort(found.begin(), found.end());

  std::set<std::string> ids;
  std::optional<Format> seen_format;
  for (const auto& [relative, full] : found) {
    std::optional<Format> file_format = FormatFromExtension(full);
    if (format) {
      // In a directory, skip files of other formats (README, _SUCCESS, ...).
      if (from_directory && file_format != format) continue;
      file_format = format;
    } else if (!file_format) {
      if (from_directory) continue;
      return arrow::Status::Invalid(
          "cannot tell the file format from the extension; set 'format' to csv, jsonl or "
          "parquet (file ",
          full, ")");
    }
    if (seen_format && *seen_format != *file_format) {
      return arrow::Status::Invalid(
          "files of different formats match the path; set 'format' or narrow the path (",
          FormatName(*seen_format), " and ", FormatName(*file_format), ", file ", full,
          ")");
    }
    seen_format = file_format;
    std::string id = SanitizeId(relative);
    for (int n = 2; !ids.insert(id).second; ++n)
      id = SanitizeId(relative) + "-" + std::to_string(n);
    files->push_back({full, relative, id, *file_format});
  }
  if (files->empty()) {
    return arrow::Status::Invalid("no input file matches the path '", pattern, "'");
  }
  return arrow::Status::OK();
}

int64_t BlockSize(const FileConsumer::Options& options) {
  if (options.block_size > 0) return options.block_size;
  return std::clamp<int64_t>(options.batch_rows * 128, int64_t{1} << 20,
                             int64_t{16} << 20);
}

// ---------------------------------------------------------------------------------------
// Opening one file with Arrow's streaming readers.

// Keeps the decompression codec alive as long as the stream that uses it.
struct OpenedStream {
  std::unique_ptr<arrow::util::Codec> codec;
  std::shared_ptr<arrow::io::InputStream> stream;
};

arrow::Result<OpenedStream> OpenStream(const std::string& path) {
  OpenedStream out;
  ARROW_ASSIGN_OR_RAISE(auto file, arrow::io::ReadableFile::Open(path));
  out.stream = file;
  const arrow::Compression::type compression = CompressionOf(path);
  if (compression != arrow::Compression::UNCOMPRESSED) {
    ARROW_ASSIGN_OR_RAISE(out.codec, arrow::util::Codec::Create(compression));
    ARROW_ASSIGN_OR_RAISE(out.stream,
                          arrow::io::CompressedInputStream::Make(out.codec.get(), file));
  }
  return out;
}

arrow::Result<std::shared_ptr<arrow::RecordBatchReader>> OpenCsv(
    const FileEntry& file, const FileConsumer::Options& options,
    const std::shared_ptr<arrow::Schema>& types, OpenedStream* stream) {
  ARROW_ASSIGN_OR_RAISE(*stream, OpenStream(file.path));
  auto read = arrow::csv::ReadOptions::Defaults();
  read.use_threads = false;
  read.block_size = static_cast<int32_t>(BlockSize(options));
  read.autogenerate_column_names = !options.header;
  auto parse = arrow::csv::ParseOptions::Defaults();
  const bool tsv = fs::path(file.path).extension() == ".tsv" ||
                   fs::path(file.path).stem().extension() == ".tsv";
  parse.delimiter = options.delimiter.value_or(tsv ? '\t' : ',');
  parse.quoting = options.quote.has_value();
  if (options.quote) parse.quote_char = *options.quote;
  auto convert = arrow::csv::ConvertOptions::Defaults();
  convert.strings_can_be_null = true;
  convert.quoted_strings_can_be_null = false;
  if (options.null_values) convert.null_values = *options.null_values;
  if (types != nullptr) {
    for (const auto& field : types->fields())
      convert.column_types[field->name()] = field->type();
  } else {
    for (const auto& [name, type] : options.column_types)
      convert.column_types[name] = type;
  }
  ARROW_ASSIGN_OR_RAISE(auto reader, arrow::csv::StreamingReader::Make(
                                         arrow::io::default_io_context(), stream->stream,
                                         read, parse, convert));
  return reader;
}

arrow::Result<std::shared_ptr<arrow::RecordBatchReader>> OpenJson(
    const FileEntry& file, const FileConsumer::Options& options,
    const std::shared_ptr<arrow::Schema>& types, OpenedStream* stream) {
  ARROW_ASSIGN_OR_RAISE(*stream, OpenStream(file.path));
  auto read = arrow::json::ReadOptions::Defaults();
  read.use_threads = false;
  read.block_size = static_cast<int32_t>(BlockSize(options));
  auto parse = arrow::json::ParseOptions::Defaults();
  if (types != nullptr) {
    parse.explicit_schema = types;
    parse.unexpected_field_behavior = arrow::json::UnexpectedFieldBehavior::Error;
  }
  ARROW_ASSIGN_OR_RAISE(auto reader,
                        arrow::json::StreamingReader::Make(stream->stream, read, parse));
  return reader;
}

arrow::Result<std::unique_ptr<parquet::arrow::FileReader>> OpenParquet(
    const FileEntry& file, int64_t batch_rows) {
  parquet::arrow::FileReaderBuilder builder;
  ARROW_RETURN_NOT_OK(builder.OpenFile(file.path));
  parquet::ArrowReaderProperties properties;
  properties.set_batch_size(batch_rows);
  properties.set_use_threads(false);
  builder.properties(properties);
  return builder.Build();
}

// Whether the JSON reader converts values to `type` itself; other overrides are read as
// strings (dates) or as inferred, then cast.
bool JsonConvertsTo(const arrow::DataType& type) {
  return arrow::is_integer(type.id()) || arrow::is_floating(type.id()) ||
         type.id() == arrow::Type::BOOL || arrow::is_decimal(type.id()) ||
         type.id() == arrow::Type::TIMESTAMP;
}

std::shared_ptr<arrow::Schema> AllNullable(const arrow::Schema& schema) {
  arrow::FieldVector fields;
  for (const auto& field : schema.fields()) {
    fields.push_back(arrow::field(field->name(), field->type(), /*nullable=*/true));
  }
  return arrow::schema(std::move(fields));
}

// Columns whose names differ from the expected ones, described for an error message.
// The caller adds the file to the message.
arrow::Status CheckColumnNames(const arrow::Schema& expected,
                               const arrow::Schema& actual) {
  const int n = std::max(expected.num_fields(), actual.num_fields());
  for (int i = 0; i < n; ++i) {
    const std::string want = i < expected.num_fields() ? expected.field(i)->name() : "";
    const std::string got = i < actual.num_fields() ? actual.field(i)->name() : "";
    if (want == got) continue;
    if (want.empty()) {
      return arrow::Status::Invalid("file has a column the first file lacks: column '",
                                    got, "' (position ", i + 1, ")");
    }
    if (got.empty()) {
      return arrow::Status::Invalid("file lacks a column of the first file: column '",
                                    want, "' (position ", i + 1, ")");
    }
    return arrow::Status::Invalid("file columns differ from the first file's: expected '",
                                  want, "', found '", got, "' (position ", i + 1, ")");
  }
  return arrow::Status::OK();
}

// ---------------------------------------------------------------------------------------
// Reading one file.

class FileReader : public PartitionReader {
 public:
  FileReader(FileEntry file, std::shared_ptr<arrow::Schema> schema, int64_t batch_rows)
      : file_(std::move(file)), schema_(std::move(schema)), batch_rows_(batch_rows) {}

  arrow::Status Open(const FileConsumer::Options& options,
                     const std::shared_ptr<arrow::Schema>& read_schema,
                     const std::set<std::string>& overridden) {
    switch (file_.format) {
      case Format::kCsv: {
        ARROW_ASSIGN_OR_RAISE(reader_, OpenCsv(file_, options, schema_, &stream_));
        return CheckColumnNames(*schema_, *reader_->schema());
      }
      case Format::kJsonLines: {
        arrow::FieldVector fields;
        for (int i = 0; i < schema_->num_fields(); ++i) {
          const auto& target = schema_->field(i);
          auto type = read_schema->field(i)->type();
          if (overridden.count(target->name())) {
            if (JsonConvertsTo(*target->type())) {
              type = target->type();
            } else if (arrow::is_temporal(target->type()->id())) {
              type = arrow::utf8();  // dates as text, then cast
            }
          }
          fields.push_back(arrow::field(target->name(), type));
        }
        ARROW_ASSIGN_OR_RAISE(reader_,
                              OpenJson(file_, options, arrow::schema(fields), &stream_));
        return arrow::Status::OK();
      }
      case Format::kParquet: {
        ARROW_ASSIGN_OR_RAISE(parquet_, OpenParquet(file_, batch_rows_));
        std::shared_ptr<arrow::Schema> file_schema;
        ARROW_RETURN_NOT_OK(parquet_->GetSchema(&file_schema));
        ARROW_RETURN_NOT_OK(CheckColumnNames(*schema_, *file_schema));
        for (int i = 0; i < schema_->num_fields(); ++i) {
          const auto& name = schema_->field(i)->name();
          const auto& expected = read_schema->field(i)->type();
          const auto& actual = file_schema->field(i)->type();
          if (!overridden.count(name) && !expected->Equals(*actual)) {
            return arrow::Status::Invalid(
                "file column type differs from the first file's: column '", name, "' is ",
                actual->ToString(), ", expected ", expected->ToString(),
                "; override it in 'columns'");
          }
        }
        ARROW_ASSIGN_OR_RAISE(reader_, parquet_->GetRecordBatchReader());
        return arrow::Status::OK();
      }
    }
    return arrow::Status::OK();
  }

  arrow::Result<std::shared_ptr<arrow::RecordBatch>> Next() override {
    if (pending_ == nullptr || pending_offset_ >= pending_->num_rows()) {
      std::shared_ptr<arrow::RecordBatch> batch;
      // Skip empty batches (a block holding only a header, an empty row group).
      do {
        JETFLOW_RETURN_NOT_OK_CTX(reader_->ReadNext(&batch), "file " + file_.path);
        if (batch == nullptr) return nullptr;
      } while (batch->num_rows() == 0);
      auto conformed = Conform(std::move(batch));
      JETFLOW_RETURN_NOT_OK_CTX(conformed.status(), "file " + file_.path);
      pending_ = std::move(conformed).ValueUnsafe();
      pending_offset_ = 0;
    }
    if (pending_offset_ == 0 && pending_->num_rows() <= batch_rows_) {
      pending_offset_ = pending_->num_rows();
      rows_read_ += pending_->num_rows();
      return pending_;
    }
    auto slice = pending_->Slice(pending_offset_, batch_rows_);
    pending_offset_ += slice->num_rows();
    rows_read_ += slice->num_rows();
    return slice;
  }

 private:
  // Casts columns the reader could not produce in the output type, and gives the batch
  // exactly the output schema. The caller adds the file to errors.
  arrow::Result<std::shared_ptr<arrow::RecordBatch>> Conform(
      std::shared_ptr<arrow::RecordBatch> batch) {
    if (batch->num_columns() != schema_->num_fields()) {
      ARROW_RETURN_NOT_OK(CheckColumnNames(*schema_, *batch->schema()));
    }
    std::vector<std::shared_ptr<arrow::Array>> columns = batch->columns();
    for (int i = 0; i < schema_->num_fields(); ++i) {
      const auto& target = schema_->field(i)->type();
      if (columns[i]->type()->Equals(*target)) continue;
      auto cast = arrow::compute::Cast(*columns[i], target);
      if (!cast.ok()) {
        return arrow::Status::Invalid(
            "cannot convert a value of the file to the column type: ",
            cast.status().message(), " (column '", schema_->field(i)->name(), "', ",
            columns[i]->type()->ToString(), " to ", target->ToString(), ", rows [",
            rows_read_ + 1, ", ", rows_read_ + batch->num_rows() + 1, ") of the file)");
      }
      columns[i] = *cast;
    }
    return arrow::RecordBatch::Make(schema_, batch->num_rows(), std::move(columns));
  }

  FileEntry file_;
  std::shared_ptr<arrow::Schema> schema_;
  int64_t batch_rows_;
  OpenedStream stream_;
  std::unique_ptr<parquet::arrow::FileReader> parquet_;
  std::shared_ptr<arrow::RecordBatchReader> reader_;
  std::shared_ptr<arrow::RecordBatch> pending_;
  int64_t pending_offset_ = 0;
  int64_t rows_read_ = 0;
};

std::optional<char> SingleChar(const ConfigNode& node, const std::string& key,
                               bool allow_empty) {
  const std::string text = node.GetString(key, "");
  if (text.size() == 1) return text[0];
  if (text == "\\t") return '\t';
  if (!(allow_empty && (text.empty() || text == "none"))) {
    node.Get(key).Error("'" + key + "' must be a single character" +
                        (allow_empty ? std::string(" or none") : std::string()) +
                        ", got '" + text + "'");
  }
  return std::nullopt;
}

}  // namespace

arrow::Result<FileConsumer::Options> FileConsumer::ParseOptions(
    const ConfigNode& node, const ComponentContext& context) {
  const size_t errors_before = sources::ErrorCount(*node.diagnostics());
  Options options;
  const std::string path = node.RequireString("path");
  if (!path.empty()) {
    options.path = context.ResolvePath(path);
    if (options.path.find("://") != std::string::npos) {
      node.Get("path").Error("'path' must be a local file, directory or glob, got '" +
                             path + "'");
    }
  }
  const std::string format = node.GetEnum("format", "", {"csv", "jsonl", "parquet"});
  if (format == "csv") options.format = Format::kCsv;
  if (format == "jsonl") options.format = Format::kJsonLines;
  if (format == "parquet") options.format = Format::kParquet;
  if (node.Has("delimiter")) options.delimiter = SingleChar(node, "delimiter", false);
  options.header = node.GetBool("header", true);
  if (node.Has("quote")) options.quote = SingleChar(node, "quote", true);
  if (node.Has("null_values")) options.null_values = node.GetStringList("null_values");
  ConfigNode columns = node.Get("columns");
  if (!columns.IsNull()) options.column_types = sources::ParseColumnTypes(columns);
  options.batch_rows = sources::ParseBatchRows(node, context);
  options.block_size = node.GetBytes("block_size", 0);
  if (options.block_size < 0 || options.block_size > (int64_t{1} << 30)) {
    node.Get("block_size").Error("'block_size' must be between 1 byte and 1GiB");
  }
  const bool parquet_only =
      options.format == Format::kParquet ||
      (!options.format && FormatFromExtension(options.path) == Format::kParquet);
  if (parquet_only) {
    for (const char* key : {"delimiter", "header", "quote", "null_values"}) {
      if (!node.Has(key)) continue;
      std::string message = "'";  // built step by step: GCC 12 -O3 warns on "'" + string
      message += key;
      message += "' applies only to csv";
      node.Get(key).Error(std::move(message));
    }
  }
  ARROW_RETURN_NOT_OK(sources::FinishOptions(node, errors_before));
  return options;
}

arrow::Result<std::unique_ptr<FileConsumer>> FileConsumer::Make(Options options) {
  if (options.path.empty()) return arrow::Status::Invalid("file: 'path' is required");
  if (options.batch_rows < 1) {
    return arrow::Status::Invalid("batch_rows must be >= 1, got ", options.batch_rows);
  }
  std::set<std::string> names;
  for (const auto& [name, type] : options.column_types) {
    if (!names.insert(name).second) {
      return arrow::Status::Invalid("column '", name, "' is overridden twice");
    }
  }
  return std::unique_ptr<FileConsumer>(new FileConsumer(std::move(options)));
}

arrow::Status FileConsumer::PlanLocked() {
  if (planned_) return arrow::Status::OK();
  std::vector<FileEntry> files;
  ARROW_RETURN_NOT_OK(ListFiles(options_.path, options_.format, &files));
  const FileEntry& first = files.front();

  // The first file's schema, as its reader infers it.
  std::shared_ptr<arrow::Schema> inferred;
  switch (first.format) {
    case Format::kCsv: {
      OpenedStream stream;
      auto reader = OpenCsv(first, options_, nullptr, &stream);
      JETFLOW_RETURN_NOT_OK_CTX(reader.status(), "file " + first.path);
      inferred = (*reader)->schema();
      break;
    }
    case Format::kJsonLines: {
      OpenedStream stream;
      auto reader = OpenJson(first, options_, nullptr, &stream);
      JETFLOW_RETURN_NOT_OK_CTX(reader.status(), "file " + first.path);
      inferred = (*reader)->schema();
      break;
    }
    case Format::kParquet: {
      auto reader = OpenParquet(first, options_.batch_rows);
      JETFLOW_RETURN_NOT_OK_CTX(reader.status(), "file " + first.path);
      JETFLOW_RETURN_NOT_OK_CTX((*reader)->GetSchema(&inferred), "file " + first.path);
      break;
    }
  }
  // Columns without any value in the inference block: strings, not Arrow's null type.
  arrow::FieldVector read_fields;
  for (const auto& field : inferred->fields()) {
    read_fields.push_back(arrow::field(
        field->name(),
        field->type()->id() == arrow::Type::NA ? arrow::utf8() : field->type()));
  }
  auto read_schema = AllNullable(*arrow::schema(read_fields));
  arrow::FieldVector fields = read_schema->fields();
  for (const auto& [name, type] : options_.column_types) {
    const int index = read_schema->GetFieldIndex(name);
    if (index < 0) {
      return arrow::Status::Invalid(
          "'columns' overrides a column the file does not have: '", name, "' (file ",
          first.path, ", columns: ", read_schema->ToString(), ")");
    }
    fields[static_cast<size_t>(index)] = arrow::field(name, type);
  }
  files_ = std::move(files);
  read_schema_ = std::move(read_schema);
  schema_ = arrow::schema(std::move(fields));
  planned_ = true;
  return arrow::Status::OK();
}

arrow::Result<std::shared_ptr<arrow::Schema>> FileConsumer::InferSchema() {
  std::lock_guard<std::mutex> lock(mutex_);
  ARROW_RETURN_NOT_OK(PlanLocked());
  return schema_;
}

arrow::Result<std::vector<PartitionSpec>> FileConsumer::PlanPartitions(
    const RunInstance&) {
  std::lock_guard<std::mutex> lock(mutex_);
  ARROW_RETURN_NOT_OK(PlanLocked());
  std::vector<PartitionSpec> partitions;
  for (const FileEntry& file : files_) {
    PartitionSpec spec{
        file.id, file.path, -1,
        sources::SplitText({{"path", file.path}, {"format", FormatName(file.format)}})};
    if (file.format == Format::kParquet) {
      auto reader = OpenParquet(file, options_.batch_rows);
      JETFLOW_RETURN_NOT_OK_CTX(reader.status(), "file " + file.path);
      spec.expected_rows = (*reader)->parquet_reader()->metadata()->num_rows();
    }
    partitions.push_back(std::move(spec));
  }
  return partitions;
}

arrow::Result<std::unique_ptr<PartitionReader>> FileConsumer::OpenPartition(
    const PartitionContext& context) {
  ARROW_ASSIGN_OR_RAISE(auto split,
                        sources::SplitReader::Parse(context.partition, "file"));
  FileEntry file;
  file.id = context.partition.id;
  ARROW_ASSIGN_OR_RAISE(file.path, split.String("path"));
  ARROW_ASSIGN_OR_RAISE(std::string format, split.String("format"));
  std::optional<Format> parsed_format = FormatNamed(format);
  if (!parsed_format) return split.Malformed("unknown format '" + format + "'");
  file.format = *parsed_format;
  {
    // The schema every file is read with (from the first file of the pattern).
    std::lock_guard<std::mutex> lock(mutex_);
    ARROW_RETURN_NOT_OK(PlanLocked());
  }
  std::set<std::string> overridden;
  for (const auto& [name, type] : options_.column_types) overridden.insert(name);
  auto reader = std::make_unique<FileReader>(file, schema_, options_.batch_rows);
  JETFLOW_RETURN_NOT_OK_CTX(reader->Open(options_, read_schema_, overridden),
                            "file " + file.path);
  return reader;
}

void RegisterFileConsumer(ComponentRegistry& registry) {
  registry.RegisterConsumer(
      "file",
      [](const ConfigNode& node,
         const ComponentContext& context) -> arrow::Result<std::unique_ptr<Consumer>> {
        ARROW_ASSIGN_OR_RAISE(auto options, FileConsumer::ParseOptions(node, context));
        ARROW_ASSIGN_OR_RAISE(auto consumer, FileConsumer::Make(std::move(options)));
        return std::unique_ptr<Consumer>(std::move(consumer));
      });
}

}  // namespace jetflow
