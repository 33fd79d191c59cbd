-- per-rule counts of partitions (partition_rules)
CREATE TABLE partition_rules (
  run_id       INTEGER NOT NULL,
  partition_id TEXT    NOT NULL,
  stage        TEXT    NOT NULL,
  rule         TEXT    NOT NULL,
  action       TEXT    NOT NULL,
  rows         INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (run_id, partition_id, stage, rule),
  FOREIGN KEY (run_id, partition_id) REFERENCES partitions (run_id, partition_id)
    ON DELETE CASCADE
);
