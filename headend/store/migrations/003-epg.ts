/**
 * Schema version 3: the programme guide (issue 6 §4), imported from XMLTV
 * (core/epg/xmltv.ts, headend/store/epg.ts).
 *
 * Keyed by the channel's XMLTV id (the lineup's tvgId), not by a channel
 * row: the guide belongs to the feed, several channels may share one id, and
 * a channel renumbered or re-created with the same tvgId finds its guide.
 *
 * Generations: an import writes its programmes under a new generation
 * number while readers still see the current one (epg_current), then makes
 * it current for every channel it replaced in one transaction of a few
 * hundred rows. Copying the rows in that transaction instead was measured
 * at ~1.2 s for a 100 MB feed (100 k programmes), all of it blocking the main
 * thread. Superseded generations are deleted afterwards, a batch at a time
 * (epg_garbage lists them, so a headend killed half-way finishes the job at
 * the next import).
 *
 * The parsed programmes are staged in a TEMP table (epg.ts), not here: a
 * staging table in the main file would send every row through the WAL once
 * more, and a headend killed mid-import would leave it full.
 */
export const sql = /* sql */ `
-- Hands out generations: every import attempt takes the next value.
INSERT INTO counters (name, value) VALUES ('epg_generation', 0);

-- One row per programme and generation. Within a generation a channel's
-- programmes never overlap (the import keeps the earlier-starting one) and
-- none lasts more than 24 h: so "what is on at T" is the last start ≤ T, and
-- a range query reads the primary key from (from − 24 h) only.
CREATE TABLE epg_programmes (
  tvg_id         TEXT    NOT NULL,
  gen            INTEGER NOT NULL,
  start_ms       INTEGER NOT NULL,
  stop_ms        INTEGER NOT NULL,
  title          TEXT    NOT NULL,
  sub_title      TEXT,
  description    TEXT,
  -- JSON array of strings, in the file's order.
  categories     TEXT    NOT NULL DEFAULT '[]' CHECK (json_valid(categories)),
  episode        TEXT,
  -- xmltv.dtd episode-num system of episode: 'onscreen' (what to show) or 'xmltv_ns'.
  episode_system TEXT    CHECK (episode_system IN ('onscreen', 'xmltv_ns')),
  icon           TEXT,
  PRIMARY KEY (tvg_id, gen, start_ms),
  CHECK (stop_ms > start_ms AND stop_ms - start_ms <= 86400000),
  CHECK ((episode IS NULL) = (episode_system IS NULL))
) STRICT, WITHOUT ROWID;

-- The generation readers see, per channel. A channel without a row has no guide.
CREATE TABLE epg_current (
  tvg_id TEXT PRIMARY KEY,
  gen    INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

-- Generations whose rows are to be deleted: superseded ones, and those of
-- imports that failed or were killed.
CREATE TABLE epg_garbage (
  tvg_id TEXT    NOT NULL,
  gen    INTEGER NOT NULL,
  PRIMARY KEY (tvg_id, gen)
) STRICT, WITHOUT ROWID;

-- The <channel> elements of the feed for channels of the lineup: the feed's
-- name and icon, shown beside the lineup's in the admin UI.
CREATE TABLE epg_channels (
  tvg_id        TEXT PRIMARY KEY,
  display_name  TEXT,
  icon          TEXT,
  updated_at_ms INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

-- The last successful import: its report (JSON), when, from where, and its
-- generation (the guide's cache stamp).
CREATE TABLE epg_import (
  id             INTEGER PRIMARY KEY CHECK (id = 1),
  generation     INTEGER NOT NULL,
  finished_at_ms INTEGER NOT NULL,
  source         TEXT    NOT NULL,
  report         TEXT    NOT NULL CHECK (json_valid(report))
) STRICT;

-- Settings of the guide's source (the URL refreshed on a schedule), as JSON values.
CREATE TABLE epg_settings (
  key   TEXT PRIMARY KEY CHECK (key IN ('url', 'refreshHours')),
  value TEXT NOT NULL CHECK (json_valid(value))
) STRICT, WITHOUT ROWID;
`;
