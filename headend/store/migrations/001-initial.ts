/**
 * Schema version 1. The SQL lives in a .ts module, not a .sql file: tsc
 * copies only what it compiles into dist/, and the built headend must carry
 * its migrations.
 *
 * Once released, a migration is never edited: a change is a new numbered
 * file (002-…) listed in migrations/index.ts.
 *
 * Conventions: STRICT tables (SQLite ≥ 3.37) so a wrong type is an error,
 * not a silent conversion; times are integer milliseconds since the Unix
 * epoch (`…_ms`); JSON columns are checked with json_valid().
 */
export const sql = /* sql */ `
-- Store-wide counters. 'channel_version' hands out channel versions: every
-- save of any channel takes the next value, so a (number, version) pair
-- names one state of one channel forever, even across a reorder that gives
-- the number to another channel, or a delete and re-create.
CREATE TABLE counters (
  name  TEXT PRIMARY KEY,
  value INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
INSERT INTO counters (name, value) VALUES ('channel_version', 0);

-- One row per channel. The columns are what the store queries or constrains;
-- the rest of the ChannelConfig (tvgId, multicast, transport, failover, …)
-- is the JSON in config. number has no range CHECK here: reorder parks
-- channels on negative numbers inside its transaction (db.ts checks 1–9999).
CREATE TABLE channels (
  id            INTEGER PRIMARY KEY,
  number        INTEGER NOT NULL UNIQUE,
  name          TEXT    NOT NULL,
  guide_group   TEXT    NOT NULL,
  enabled       INTEGER NOT NULL CHECK (enabled IN (0, 1)),
  -- Order of the channel in an exported channels.yaml (the imported file's
  -- order, new channels last); the lineup itself is ordered by number.
  position      INTEGER NOT NULL,
  version       INTEGER NOT NULL,
  created_at_ms INTEGER NOT NULL,
  updated_at_ms INTEGER NOT NULL,
  config        TEXT    NOT NULL CHECK (json_valid(config))
) STRICT;

-- A channel's inputs in order of preference: position 0 is the primary.
CREATE TABLE inputs (
  channel_id INTEGER NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
  position   INTEGER NOT NULL CHECK (position >= 0),
  config     TEXT    NOT NULL CHECK (json_valid(config)),
  PRIMARY KEY (channel_id, position)
) STRICT, WITHOUT ROWID;

CREATE TABLE users (
  id                   INTEGER PRIMARY KEY,
  username             TEXT    NOT NULL UNIQUE COLLATE NOCASE,
  role                 TEXT    NOT NULL CHECK (role IN ('admin', 'operator', 'viewer')),
  -- scrypt$N$r$p$salt$hash (base64): never leaves users.ts.
  password_hash        TEXT    NOT NULL,
  must_change_password INTEGER NOT NULL DEFAULT 0 CHECK (must_change_password IN (0, 1)),
  failed_logins        INTEGER NOT NULL DEFAULT 0,
  locked_until_ms      INTEGER,
  last_login_ms        INTEGER,
  created_at_ms        INTEGER NOT NULL,
  updated_at_ms        INTEGER NOT NULL
) STRICT;

-- Login sessions. The client holds a random 32-byte token; only its SHA-256
-- is stored, so a copy of the database opens no session.
CREATE TABLE sessions (
  id            INTEGER PRIMARY KEY,
  token_sha256  BLOB    NOT NULL UNIQUE CHECK (length(token_sha256) = 32),
  user_id       INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  created_at_ms INTEGER NOT NULL,
  expires_at_ms INTEGER NOT NULL,
  last_seen_ms  INTEGER NOT NULL
) STRICT;
CREATE INDEX sessions_by_user ON sessions (user_id);
CREATE INDEX sessions_by_expiry ON sessions (expires_at_ms);

-- Who changed what. username is text, not a foreign key: the log outlives
-- deleted users.
CREATE TABLE audit (
  id       INTEGER PRIMARY KEY,
  at_ms    INTEGER NOT NULL,
  username TEXT,
  action   TEXT    NOT NULL,
  target   TEXT,
  detail   TEXT    CHECK (detail IS NULL OR json_valid(detail))
) STRICT;

-- The latest report of every STB agent …
CREATE TABLE stbs (
  agent_id      TEXT    PRIMARY KEY,
  label         TEXT,
  ip            TEXT,
  channel       INTEGER,
  report        TEXT    NOT NULL CHECK (json_valid(report)),
  reports       INTEGER NOT NULL,
  first_seen_ms INTEGER NOT NULL,
  last_seen_ms  INTEGER NOT NULL
) STRICT;
CREATE INDEX stbs_by_last_seen ON stbs (last_seen_ms);

-- … and its recent ones, trimmed to the newest N per agent on every insert.
CREATE TABLE stb_history (
  id       INTEGER PRIMARY KEY,
  agent_id TEXT    NOT NULL REFERENCES stbs (agent_id) ON DELETE CASCADE,
  at_ms    INTEGER NOT NULL,
  channel  INTEGER,
  report   TEXT    NOT NULL CHECK (json_valid(report))
) STRICT;
CREATE INDEX stb_history_by_agent ON stb_history (agent_id, id);
`;
