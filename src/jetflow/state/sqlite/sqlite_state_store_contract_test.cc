// The StateStore contract suite (state_store_contract_test.h) on the SQLite store.
#include "jetflow/state/sqlite/sqlite_state_store.h"
#include "jetflow/state/state_store_contract_test.h"

namespace jetflow {
namespace {

arrow::Result<std::unique_ptr<StateStore>> OpenSqlite(const std::string& dir,
                                                      TestClock clock) {
  SqliteStateStoreOptions options;
  options.clock = std::move(clock);
  ARROW_ASSIGN_OR_RAISE(auto store, SqliteStateStore::Open(dir + "/state.db", options));
  return std::unique_ptr<StateStore>(std::move(store));
}

INSTANTIATE_TEST_SUITE_P(Sqlite, StateStoreContractTest,
                         ::testing::Values(StateStoreFactoryForTest{"sqlite",
                                                                    OpenSqlite}));

}  // namespace
}  // namespace jetflow
