#include "jetflow/core/value_changes.h"

#include <algorithm>

namespace jetflow {

void AddValueChange(const ValueChangeCount& count,
                    std::vector<ValueChangeCount>* totals) {
  if (count.values == 0) return;
  auto same = std::find_if(totals->begin(), totals->end(),
                           [&](const ValueChangeCount& c) { return c.SameKind(count); });
  if (same == totals->end()) {
    totals->push_back(count);
  } else {
    same->values += count.values;
  }
}

void ValueChanges::Add(const ValueChangeCount& count) {
  std::lock_guard<std::mutex> lock(mutex_);
  AddValueChange(count, &counts_);
}

void ValueChanges::Add(const std::vector<ValueChangeCount>& counts) {
  std::lock_guard<std::mutex> lock(mutex_);
  for (const ValueChangeCount& count : counts) AddValueChange(count, &counts_);
}

std::vector<ValueChangeCount> ValueChanges::Counts() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return counts_;
}

std::string DescribeValueChange(const ValueChangeCount& count) {
  std::string text = std::to_string(count.values) + " " + count.change +
                     (count.values == 1 ? " value" : " values") + " of column " +
                     count.column;
  if (!count.detail.empty()) text += " " + count.detail;
  return text;
}

}  // namespace jetflow
