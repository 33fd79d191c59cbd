-- The quickstart's source database: a small shop with 200,000 orders.
--
--   sqlite3 shop.db < shop.sql
--
-- Deterministic (no random()): every value is arithmetic on the order id, so every run of
-- this script builds the same database. Orders span June 2024 (UTC). Re-running it
-- replaces the table.
PRAGMA synchronous = OFF;

DROP TABLE IF EXISTS orders;
CREATE TABLE orders (
  id          INTEGER PRIMARY KEY,
  customer_id INTEGER NOT NULL,
  amount      DECIMAL(12,2) NOT NULL,  -- read by jetflow as decimal128(12, 2)
  status      TEXT NOT NULL,
  ordered_at  TIMESTAMP NOT NULL,      -- ISO-8601 text, UTC; read as timestamp[us, UTC]
  note        TEXT                     -- mostly NULL
);

BEGIN;
WITH RECURSIVE seq(n) AS (
  SELECT 1
  UNION ALL
  SELECT n + 1 FROM seq WHERE n < 200000
)
INSERT INTO orders (id, customer_id, amount, status, ordered_at, note)
SELECT
  n,
  1 + (n * 7919) % 5000,
  printf('%d.%02d', 1 + (n * 104729) % 1999, (n * 31) % 100),
  CASE (n * 13) % 20
    WHEN 0 THEN 'cancelled'
    WHEN 1 THEN 'refunded'
    WHEN 2 THEN 'pending'
    WHEN 3 THEN 'pending'
    WHEN 4 THEN 'shipped'
    WHEN 5 THEN 'shipped'
    ELSE 'delivered'
  END,
  -- 2024-06-01T00:00:00Z + a well-spread second of the month
  strftime('%Y-%m-%d %H:%M:%S', 1717200000 + (n * 2654435761) % 2592000, 'unixepoch'),
  CASE
    WHEN n % 50 = 0 THEN 'gift wrap, please'
    WHEN n % 7 = 0 THEN 'leave at the door'
    ELSE NULL
  END
FROM seq;
COMMIT;
