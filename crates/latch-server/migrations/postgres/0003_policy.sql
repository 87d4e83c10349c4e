-- Administrators (latch serve --admin USERNAME marks them). The policy itself lives in the
-- settings table (key 'policy', JSON), so every instance reads the same one. Same in both
-- directories.

ALTER TABLE users ADD COLUMN is_admin BIGINT NOT NULL DEFAULT 0 CHECK (is_admin IN (0, 1));
