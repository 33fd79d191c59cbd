#include "jetflow/transforms/dedupe_transformer.h"

#include <arrow/api.h>
#include <arrow/compute/api.h>
#include <arrow/util/byte_size.h>

#include <algorithm>
#include <cmath>
#include <unordered_map>
#include <unordered_set>

namespace jetflow {

namespace {

constexpr int64_t kKeyOverhead = 40;  // hash-table node and string header, roughly

/// One row's order_by value, comparable across batches.
struct OrderValue {
  bool valid = false;
  int64_t integer = 0;
  double real = 0;
  std::string text;
};

enum class OrderKind { kNone, kInteger, kReal, kText };

OrderKind OrderKindOf(const arrow::DataType& type) {
  if (arrow::is_integer(type.id()) || arrow::is_temporal(type.id()) ||
      type.id() == arrow::Type::BOOL) {
    return OrderKind::kInteger;
  }
  if (arrow::is_floating(type.id())) return OrderKind::kReal;
  if (arrow::is_base_binary_like(type.id())) return OrderKind::kText;
  return OrderKind::kNone;
}

int Compare(OrderKind kind, const OrderValue& a, const OrderValue& b) {
  if (a.valid != b.valid) return a.valid ? 1 : -1;  // callers handle nulls first
  switch (kind) {
    case OrderKind::kInteger:
      return a.integer < b.integer ? -1 : a.integer > b.integer;
    case OrderKind::kReal:
      return a.real < b.real ? -1 : a.real > b.real;
    case OrderKind::kText:
      return a.text.compare(b.text);
    case OrderKind::kNone:
      return 0;
  }
  return 0;
}

class DedupePartition : public PartitionTransform {
 public:
  DedupePartition(const DedupeTransformer::Options& options, const RowKeyEncoder& keys,
                  int order_index, std::shared_ptr<arrow::Schema> schema)
      : options_(options),
        keys_(keys),
        order_index_(order_index),
        order_kind_(order_index >= 0 ? OrderKindOf(*schema->field(order_index)->type())
                                     : OrderKind::kNone),
        schema_(std::move(schema)),
        streaming_(!options.keep_last && order_index < 0) {}

  arrow::Result<std::shared_ptr<arrow::RecordBatch>> Apply(
      const std::shared_ptr<arrow::RecordBatch>& batch) override {
    rows_in_ += batch->num_rows();
    if (batch->num_rows() == 0) return batch;
    ARROW_ASSIGN_OR_RAISE(auto keys, keys_.Encode(*batch));
    if (streaming_) return ApplyStreaming(batch, std::move(keys));
    ARROW_ASSIGN_OR_RAISE(auto orders, OrderValues(*batch));
    const int32_t batch_index = static_cast<int32_t>(held_.size());
    held_.push_back({batch, 0});
    current_ = batch_index;
    held_bytes_ += arrow::util::TotalBufferSize(*batch);
    for (int64_t row = 0; row < batch->num_rows(); ++row) {
      OrderValue order = orders.empty() ? OrderValue{} : std::move(orders[row]);
      auto [it, inserted] = best_.try_emplace(std::move(keys[row]));
      Winner& best = it->second;
      if (inserted) {
        key_bytes_ += static_cast<int64_t>(it->first.size()) + kKeyOverhead;
      } else if (!Wins(order, best.order)) {
        continue;
      } else {
        Release(best.batch);
      }
      best = Winner{batch_index, row, std::move(order)};
      ++held_[batch_index].winners;
    }
    current_ = -1;
    Release(batch_index, /*only_if_unused=*/true);
    ARROW_RETURN_NOT_OK(CheckMemory());
    return batch->Slice(0, 0);
  }

  arrow::Result<std::vector<std::shared_ptr<arrow::RecordBatch>>> Finish() override {
    std::vector<std::shared_ptr<arrow::RecordBatch>> out;
    if (streaming_) return out;
    std::vector<std::vector<int64_t>> rows(held_.size());
    for (const auto& [key, winner] : best_) rows[winner.batch].push_back(winner.row);
    best_.clear();
    for (size_t b = 0; b < held_.size(); ++b) {
      if (rows[b].empty()) continue;
      std::sort(rows[b].begin(), rows[b].end());
      arrow::Int64Builder indices;
      ARROW_RETURN_NOT_OK(indices.AppendValues(rows[b]));
      ARROW_ASSIGN_OR_RAISE(auto index_array, indices.Finish());
      ARROW_ASSIGN_OR_RAISE(arrow::Datum taken,
                            arrow::compute::Take(held_[b].batch, index_array));
      held_[b].batch.reset();
      rows_out_ += taken.record_batch()->num_rows();
      out.push_back(taken.record_batch());
    }
    held_.clear();
    finished_ = true;
    return out;
  }

  TransformCounters counters() const override {
    TransformCounters counters;
    // Before Finish() held rows are neither written nor dropped yet.
    counters.rows_dropped = streaming_ || finished_ ? rows_in_ - rows_out_ : 0;
    counters.rules.push_back({"duplicates", "drop", counters.rows_dropped});
    return counters;
  }

 private:
  struct Winner {
    int32_t batch = 0;
    int64_t row = 0;
    OrderValue order;
  };
  struct Held {
    std::shared_ptr<arrow::RecordBatch> batch;
    int64_t winners = 0;
  };

  arrow::Result<std::shared_ptr<arrow::RecordBatch>> ApplyStreaming(
      const std::shared_ptr<arrow::RecordBatch>& batch, std::vector<std::string> keys) {
    arrow::BooleanBuilder keep;
    ARROW_RETURN_NOT_OK(keep.Reserve(batch->num_rows()));
    int64_t kept = 0;
    for (auto& key : keys) {
      const int64_t size = static_cast<int64_t>(key.size());
      bool inserted = seen_.insert(std::move(key)).second;
      if (inserted) key_bytes_ += size + kKeyOverhead;
      kept += inserted;
      keep.UnsafeAppend(inserted);
    }
    ARROW_RETURN_NOT_OK(CheckMemory());
    rows_out_ += kept;
    if (kept == batch->num_rows()) return batch;
    ARROW_ASSIGN_OR_RAISE(auto mask, keep.Finish());
    ARROW_ASSIGN_OR_RAISE(arrow::Datum filtered, arrow::compute::Filter(batch, mask));
    return filtered.record_batch();
  }

  /// Whether a row with `candidate` replaces the current winner with `best`.
  bool Wins(const OrderValue& candidate, const OrderValue& best) const {
    if (order_kind_ == OrderKind::kNone) return options_.keep_last;
    if (!candidate.valid) return false;
    if (!best.valid) return true;
    int c = Compare(order_kind_, candidate, best);
    return options_.keep_last ? c >= 0 : c < 0;
  }

  arrow::Result<std::vector<OrderValue>> OrderValues(const arrow::RecordBatch& batch) {
    std::vector<OrderValue> values;
    if (order_index_ < 0) return values;
    const auto& column = batch.column(order_index_);
    values.resize(static_cast<size_t>(batch.num_rows()));
    std::shared_ptr<arrow::Array> converted = column;
    if (order_kind_ == OrderKind::kInteger) {
      ARROW_ASSIGN_OR_RAISE(auto cast,
                            arrow::compute::Cast(*column, arrow::int64(),
                                                 arrow::compute::CastOptions::Unsafe()));
      const auto& ints = static_cast<const arrow::Int64Array&>(*cast);
      for (int64_t i = 0; i < ints.length(); ++i) {
        values[i].valid = ints.IsValid(i);
        values[i].integer = ints.Value(i);
      }
    } else if (order_kind_ == OrderKind::kReal) {
      ARROW_ASSIGN_OR_RAISE(auto cast, arrow::compute::Cast(*column, arrow::float64()));
      const auto& reals = static_cast<const arrow::DoubleArray&>(*cast);
      for (int64_t i = 0; i < reals.length(); ++i) {
        values[i].valid = reals.IsValid(i) && !std::isnan(reals.Value(i));
        values[i].real = reals.Value(i);
      }
    } else {
      ARROW_ASSIGN_OR_RAISE(auto cast,
                            arrow::compute::Cast(*column, arrow::large_binary()));
      const auto& texts = static_cast<const arrow::LargeBinaryArray&>(*cast);
      for (int64_t i = 0; i < texts.length(); ++i) {
        values[i].valid = texts.IsValid(i);
        if (values[i].valid) values[i].text = std::string(texts.GetView(i));
      }
    }
    return values;
  }

  /// One winner of batch `index` lost (or, with only_if_unused, none was ever there):
  /// once a batch holds no winner it is released.
  void Release(int32_t index, bool only_if_unused = false) {
    Held& held = held_[index];
    if (!only_if_unused) --held.winners;
    if (held.winners == 0 && held.batch != nullptr && index != current_) {
      held_bytes_ -= arrow::util::TotalBufferSize(*held.batch);
      held.batch.reset();
    }
  }

  arrow::Status CheckMemory() const {
    if (key_bytes_ + held_bytes_ <= options_.max_bytes) return arrow::Status::OK();
    return arrow::Status::Invalid("dedupe holds ", key_bytes_ + held_bytes_,
                                  " bytes (keys ", key_bytes_, ", rows ", held_bytes_,
                                  "), more than max_bytes (", options_.max_bytes,
                                  "); plan smaller partitions or raise max_bytes");
  }

  const DedupeTransformer::Options& options_;
  const RowKeyEncoder& keys_;
  const int order_index_;
  const OrderKind order_kind_;
  std::shared_ptr<arrow::Schema> schema_;
  const bool streaming_;
  std::unordered_set<std::string> seen_;
  std::unordered_map<std::string, Winner> best_;
  std::vector<Held> held_;
  int64_t key_bytes_ = 0;
  int64_t held_bytes_ = 0;
  int64_t rows_in_ = 0;
  int64_t rows_out_ = 0;
  bool finished_ = false;
  int32_t current_ = -1;  // batch being added by Apply(): not released mid-way
};

}  // namespace

arrow::Result<DedupeTransformer::Options> DedupeTransformer::ParseOptions(
    const ConfigNode& node) {
  Options options;
  node.Require("keys");
  options.keys = node.GetStringList("keys");
  if (node.Has("keys") && options.keys.empty()) {
    node.Get("keys").Error("'" + node.Get("keys").path() + "' names no column");
  }
  options.keep_last = node.GetEnum("keep", "first", {"first", "last"}) == "last";
  options.order_by = node.GetOptionalString("order_by");
  options.max_bytes = node.GetBytes("max_bytes", options.max_bytes);
  node.CheckNoUnknownKeys();
  ARROW_RETURN_NOT_OK(node.diagnostics()->ToStatus());
  return options;
}

arrow::Result<std::shared_ptr<arrow::Schema>> DedupeTransformer::Bind(
    const std::shared_ptr<arrow::Schema>& input) {
  auto keys = RowKeyEncoder::Make(*input, options_.keys);
  if (!keys.ok())
    return arrow::Status::Invalid("dedupe: keys: ", keys.status().message());
  keys_ = std::move(*keys);
  order_index_ = -1;
  if (options_.order_by) {
    order_index_ = input->GetFieldIndex(*options_.order_by);
    if (order_index_ < 0) {
      auto hint = ClosestMatch(*options_.order_by, input->field_names());
      return arrow::Status::Invalid("dedupe: order_by: no column '", *options_.order_by,
                                    "'", hint ? " (did you mean '" + *hint + "'?)" : "");
    }
    if (OrderKindOf(*input->field(order_index_)->type()) == OrderKind::kNone) {
      return arrow::Status::Invalid(
          "dedupe: order_by column '", *options_.order_by, "' of type ",
          input->field(order_index_)->type()->ToString(),
          " cannot be ordered (use an integer, float, date, time, timestamp or string)");
    }
  }
  schema_ = input;
  return input;
}

arrow::Result<std::unique_ptr<PartitionTransform>> DedupeTransformer::Open(
    const PartitionContext&) {
  if (schema_ == nullptr) return arrow::Status::Invalid("dedupe: Open() before Bind()");
  return std::make_unique<DedupePartition>(options_, *keys_, order_index_, schema_);
}

void RegisterDedupeTransformer(ComponentRegistry& registry) {
  registry.RegisterTransformer(
      "dedupe",
      [](const ConfigNode& node,
         const ComponentContext&) -> arrow::Result<std::unique_ptr<Transformer>> {
        ARROW_ASSIGN_OR_RAISE(auto options, DedupeTransformer::ParseOptions(node));
        return std::make_unique<DedupeTransformer>(std::move(options));
      });
}

}  // namespace jetflow
