#include "jetflow/core/registry.h"

#include <utility>

namespace jetflow {

std::string ComponentContext::ResolvePath(const std::string& path) const {
  if (path.find("://") != std::string::npos) return path;
  std::filesystem::path p(path);
  if (p.is_absolute() || base_dir.empty()) return p.lexically_normal().string();
  return (base_dir / p).lexically_normal().string();
}

namespace {
template <typename Map>
std::vector<std::string> KeysOf(const Map& map) {
  std::vector<std::string> keys;
  keys.reserve(map.size());
  for (const auto& [key, value] : map) keys.push_back(key);
  return keys;
}
template <typename Map>
const typename Map::mapped_type* FindIn(const Map& map, const std::string& key) {
  auto it = map.find(key);
  return it == map.end() ? nullptr : &it->second;
}
}  // namespace

void ComponentRegistry::RegisterConsumer(const std::string& type,
                                         ConsumerFactory factory) {
  consumers_[type] = std::move(factory);
}
void ComponentRegistry::RegisterTransformer(const std::string& type,
                                            TransformerFactory factory) {
  transformers_[type] = std::move(factory);
}
void ComponentRegistry::RegisterLoader(const std::string& type, LoaderFactory factory) {
  loaders_[type] = std::move(factory);
}
void ComponentRegistry::RegisterStateStore(const std::string& type,
                                           StateStoreFactory factory) {
  state_stores_[type] = std::move(factory);
}
void ComponentRegistry::SetSideOutputLoader(SideOutputLoaderFactory factory) {
  side_output_loader_ = std::move(factory);
}
const ConsumerFactory* ComponentRegistry::FindConsumer(const std::string& type) const {
  return FindIn(consumers_, type);
}
const TransformerFactory* ComponentRegistry::FindTransformer(
    const std::string& type) const {
  return FindIn(transformers_, type);
}
const LoaderFactory* ComponentRegistry::FindLoader(const std::string& type) const {
  return FindIn(loaders_, type);
}
const StateStoreFactory* ComponentRegistry::FindStateStore(
    const std::string& type) const {
  return FindIn(state_stores_, type);
}
std::vector<std::string> ComponentRegistry::ConsumerTypes() const {
  return KeysOf(consumers_);
}
std::vector<std::string> ComponentRegistry::TransformerTypes() const {
  return KeysOf(transformers_);
}
std::vector<std::string> ComponentRegistry::LoaderTypes() const {
  return KeysOf(loaders_);
}
std::vector<std::string> ComponentRegistry::StateStoreTypes() const {
  return KeysOf(state_stores_);
}

}  // namespace jetflow
