-- runs, partitions, attempts, watermarks
CREATE TABLE schema_version (
  version     INTEGER PRIMARY KEY,
  description TEXT    NOT NULL,
  applied_at  TEXT    NOT NULL
);

CREATE TABLE runs (
  run_id        INTEGER PRIMARY KEY AUTOINCREMENT,
  pipeline      TEXT    NOT NULL,
  instance      TEXT    NOT NULL,
  status        TEXT    NOT NULL CHECK (status IN ('running', 'succeeded', 'failed')),
  started_at    TEXT    NOT NULL,
  finished_at   TEXT,
  rows_read     INTEGER NOT NULL DEFAULT 0,
  rows_written  INTEGER NOT NULL DEFAULT 0,
  bytes_written INTEGER NOT NULL DEFAULT 0,
  error         TEXT,
  resumes       INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX runs_by_pipeline_instance ON runs (pipeline, instance, run_id);
CREATE INDEX runs_by_pipeline ON runs (pipeline, run_id);

CREATE TABLE partitions (
  run_id           INTEGER NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
  partition_id     TEXT    NOT NULL,
  ordinal          INTEGER NOT NULL,
  description      TEXT    NOT NULL,
  expected_rows    INTEGER,
  status           TEXT    NOT NULL
                   CHECK (status IN ('pending', 'running', 'committed', 'failed')),
  attempts         INTEGER NOT NULL DEFAULT 0,
  rows_read        INTEGER NOT NULL DEFAULT 0,
  rows_written     INTEGER NOT NULL DEFAULT 0,
  rows_dropped     INTEGER NOT NULL DEFAULT 0,
  rows_quarantined INTEGER NOT NULL DEFAULT 0,
  bytes_written    INTEGER NOT NULL DEFAULT 0,
  seconds          REAL    NOT NULL DEFAULT 0,
  error            TEXT,
  manifests_json   TEXT,
  updated_at       TEXT    NOT NULL,
  PRIMARY KEY (run_id, partition_id)
);

CREATE TABLE attempts (
  run_id       INTEGER NOT NULL,
  partition_id TEXT    NOT NULL,
  attempt      INTEGER NOT NULL,
  status       TEXT    NOT NULL
               CHECK (status IN ('running', 'committed', 'failed', 'abandoned')),
  started_at   TEXT    NOT NULL,
  finished_at  TEXT,
  rows_read    INTEGER NOT NULL DEFAULT 0,
  rows_written INTEGER NOT NULL DEFAULT 0,
  error        TEXT,
  PRIMARY KEY (run_id, partition_id, attempt),
  FOREIGN KEY (run_id, partition_id) REFERENCES partitions (run_id, partition_id)
    ON DELETE CASCADE
);

CREATE TABLE watermarks (
  pipeline   TEXT NOT NULL,
  name       TEXT NOT NULL,
  value      TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  PRIMARY KEY (pipeline, name)
);
