-- workers and their leases, partition claims and splits (several processes on one run)
ALTER TABLE runs ADD COLUMN finisher TEXT;

ALTER TABLE partitions ADD COLUMN split TEXT;
ALTER TABLE partitions ADD COLUMN owner TEXT;

ALTER TABLE attempts ADD COLUMN worker TEXT;

CREATE TABLE workers (
  run_id           INTEGER NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
  worker           TEXT    NOT NULL,
  status           TEXT    NOT NULL CHECK (status IN ('active', 'left', 'lost')),
  joined_at        TEXT    NOT NULL,
  renewed_at       TEXT    NOT NULL,
  lease_expires_at TEXT    NOT NULL,
  left_at          TEXT,
  PRIMARY KEY (run_id, worker)
);
