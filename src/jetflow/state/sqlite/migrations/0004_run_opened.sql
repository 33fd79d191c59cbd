-- when the run's output was prepared (runs.opened_at): workers that join wait for it
ALTER TABLE runs ADD COLUMN opened_at TEXT;

-- Runs recorded before the column existed were prepared when they started.
UPDATE runs SET opened_at = started_at;
