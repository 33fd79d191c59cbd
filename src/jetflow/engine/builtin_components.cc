#include "jetflow/engine/builtin_components.h"

#include "jetflow/sinks/parquet/parquet_loader.h"
#include "jetflow/sources/clickhouse/clickhouse_consumer.h"
#include "jetflow/sources/postgres/postgres_consumer.h"
#include "jetflow/sources/register_sources.h"
#include "jetflow/transforms/register_transforms.h"

namespace jetflow {

void RegisterBuiltinComponents(ComponentRegistry& registry) {
  RegisterGenerateConsumer(registry);
  RegisterFileConsumer(registry);
  RegisterSqliteConsumer(registry);
  RegisterPostgresConsumer(registry);
  RegisterClickHouseConsumer(registry);
  RegisterSelectTransformer(registry);
  RegisterConstantTransformer(registry);
  RegisterCastTransformer(registry);
  RegisterDeriveTransformer(registry);
  RegisterFilterTransformer(registry);
  RegisterMetadataTransformer(registry);
  RegisterDedupeTransformer(registry);
  RegisterValidateTransformer(registry);
  RegisterParquetLoader(registry);
}

}  // namespace jetflow
