#include "jetflow/builtins/builtin_components.h"

#include "jetflow/sinks/parquet/parquet_loader.h"
#include "jetflow/sources/clickhouse/clickhouse_consumer.h"
#include "jetflow/sources/postgres/postgres_consumer.h"
#include "jetflow/sources/register_sources.h"
#include "jetflow/state/sqlite/sqlite_state_store_config.h"
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
  // Quarantines and other side outputs are Parquet datasets with the loader's defaults.
  registry.SetSideOutputLoader(
      [](const std::string& name, const std::string& path,
         const std::string& run_key) -> arrow::Result<std::unique_ptr<Loader>> {
        ParquetLoader::Options options;
        options.name = name;
        options.path = path;
        options.run_key = run_key;
        ARROW_ASSIGN_OR_RAISE(auto loader, ParquetLoader::Make(std::move(options)));
        return std::unique_ptr<Loader>(std::move(loader));
      });
  RegisterSqliteStateStore(registry);
}

}  // namespace jetflow
