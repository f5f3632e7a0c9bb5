/**
 * Every schema migration, in order. A migration's version is its file's
 * number; db.ts applies those above the database's `PRAGMA user_version`,
 * each in its own transaction.
 */
import { sql as initial } from './001-initial.js';
import { sql as logos } from './002-logos.js';
import { sql as epg } from './003-epg.js';

export interface Migration {
  /** 1, 2, 3 …: the user_version the database has once this migration is applied. */
  version: number;
  /** The file's name, for messages. */
  name: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = Object.freeze([
  { version: 1, name: '001-initial', sql: initial },
  { version: 2, name: '002-logos', sql: logos },
  { version: 3, name: '003-epg', sql: epg },
]);

/** The schema version this code writes and understands. */
export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1].version;
