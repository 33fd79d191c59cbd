// Registration of the built-in transformers (called from RegisterBuiltinComponents);
// each is documented in its own header and in docs/transforms.md.
#pragma once

#include "jetflow/core/registry.h"

namespace jetflow {

/// `type: cast` (CastTransformer).
void RegisterCastTransformer(ComponentRegistry& registry);
/// `type: constant` (ConstantTransformer).
void RegisterConstantTransformer(ComponentRegistry& registry);
/// `type: dedupe` (DedupeTransformer).
void RegisterDedupeTransformer(ComponentRegistry& registry);
/// `type: derive` (DeriveTransformer).
void RegisterDeriveTransformer(ComponentRegistry& registry);
/// `type: filter` (FilterTransformer).
void RegisterFilterTransformer(ComponentRegistry& registry);
/// `type: metadata` (MetadataTransformer).
void RegisterMetadataTransformer(ComponentRegistry& registry);
/// `type: select` (SelectTransformer).
void RegisterSelectTransformer(ComponentRegistry& registry);
/// `type: validate` (ValidateTransformer).
void RegisterValidateTransformer(ComponentRegistry& registry);

}  // namespace jetflow
