#include "countdown_consumer.h"

#include <arrow/api.h>
#include <fmt/format.h>

#include <algorithm>
#include <charconv>

#include "clamp_transformer.h"

namespace example {

namespace {

std::shared_ptr<arrow::Schema> Schema() {
  return arrow::schema({arrow::field("n", arrow::int64(), /*nullable=*/false)});
}

class CountdownReader : public jetflow::PartitionReader {
 public:
  CountdownReader(int64_t first, int64_t end, int64_t from, int64_t batch_rows)
      : next_(first), end_(end), from_(from), batch_rows_(batch_rows) {}

  arrow::Result<std::shared_ptr<arrow::RecordBatch>> Next() override {
    if (next_ >= end_) return nullptr;
    int64_t rows = std::min(batch_rows_, end_ - next_);
    arrow::Int64Builder builder;
    ARROW_RETURN_NOT_OK(builder.Reserve(rows));
    for (int64_t i = 0; i < rows; ++i) builder.UnsafeAppend(from_ - (next_ + i));
    next_ += rows;
    ARROW_ASSIGN_OR_RAISE(auto array, builder.Finish());
    return arrow::RecordBatch::Make(Schema(), rows, {array});
  }

 private:
  int64_t next_;
  int64_t end_;
  int64_t from_;
  int64_t batch_rows_;
};

}  // namespace

arrow::Result<CountdownConsumer::Options> CountdownConsumer::ParseOptions(
    const jetflow::ConfigNode& node, const jetflow::ComponentContext& context) {
  Options options;
  options.from = node.GetInt("from", options.from, 0, int64_t{1} << 40);
  options.partitions = node.GetInt("partitions", options.partitions, 1, 10000);
  options.batch_rows = context.batch_rows;
  node.CheckNoUnknownKeys();
  ARROW_RETURN_NOT_OK(node.diagnostics()->ToStatus());
  return options;
}

arrow::Result<std::shared_ptr<arrow::Schema>> CountdownConsumer::InferSchema() {
  return Schema();
}

arrow::Result<std::vector<jetflow::PartitionSpec>> CountdownConsumer::PlanPartitions(
    const jetflow::RunInstance&) {
  std::vector<jetflow::PartitionSpec> out;
  for (int64_t k = 0; k < options_.partitions; ++k) {
    int64_t first = k * options_.from / options_.partitions;
    int64_t end = (k + 1) * options_.from / options_.partitions;
    out.push_back({fmt::format("p{:05d}", k), fmt::format("rows [{}, {})", first, end),
                   end - first});
  }
  return out;
}

arrow::Result<std::unique_ptr<jetflow::PartitionReader>> CountdownConsumer::OpenPartition(
    const jetflow::PartitionContext& context) {
  const std::string& id = context.partition.id;
  int64_t k = -1;
  if (id.size() > 1 && id[0] == 'p') {
    auto [end, ec] = std::from_chars(id.data() + 1, id.data() + id.size(), k);
    if (ec != std::errc() || end != id.data() + id.size()) k = -1;
  }
  if (k < 0 || k >= options_.partitions) {
    return arrow::Status::Invalid("countdown: no partition '", id, "'");
  }
  return std::make_unique<CountdownReader>(k * options_.from / options_.partitions,
                                           (k + 1) * options_.from / options_.partitions,
                                           options_.from, options_.batch_rows);
}

void RegisterExampleStages(jetflow::ComponentRegistry& registry) {
  registry.RegisterConsumer(
      "countdown",
      [](const jetflow::ConfigNode& options, const jetflow::ComponentContext& context)
          -> arrow::Result<std::unique_ptr<jetflow::Consumer>> {
        ARROW_ASSIGN_OR_RAISE(auto parsed,
                              CountdownConsumer::ParseOptions(options, context));
        return std::make_unique<CountdownConsumer>(parsed);
      });
  registry.RegisterTransformer(
      "clamp",
      [](const jetflow::ConfigNode& options, const jetflow::ComponentContext&)
          -> arrow::Result<std::unique_ptr<jetflow::Transformer>> {
        ARROW_ASSIGN_OR_RAISE(auto parsed, ClampTransformer::ParseOptions(options));
        return std::make_unique<ClampTransformer>(parsed);
      });
}

}  // namespace example
