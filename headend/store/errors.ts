/**
 * The store's errors: one table of stable codes (STYLE.md §3, after fastify's
 * `lib/errors.js`), each with the HTTP status the API maps it to and a
 * severity (shaka-player's recoverable / critical).
 *
 * `critical` errors come from opening the database (the headend cannot start
 * on it); `recoverable` ones are a refused request that leaves the store as
 * it was: the caller reports them and carries on.
 */

export const StoreErrorCode = {
  /** The file cannot be opened, is not a SQLite database, or is corrupt. */
  open: 'ROOMCAST_ERR_STORE_OPEN',
  /** The database was written by a newer headend (its schema version is above ours). */
  schemaTooNew: 'ROOMCAST_ERR_STORE_SCHEMA_TOO_NEW',
  /** A schema migration failed; the database is left at the version before it. */
  migration: 'ROOMCAST_ERR_STORE_MIGRATION',
  /** An argument breaks a store invariant (channel number out of range, no input, bad role …). */
  invalid: 'ROOMCAST_ERR_STORE_INVALID',
  channelNotFound: 'ROOMCAST_ERR_CHANNEL_NOT_FOUND',
  /** Another channel already has this number. */
  channelNumberTaken: 'ROOMCAST_ERR_CHANNEL_NUMBER_TAKEN',
  /** The channel changed since the caller read it (optimistic concurrency). */
  channelVersionConflict: 'ROOMCAST_ERR_CHANNEL_VERSION_CONFLICT',
  userNotFound: 'ROOMCAST_ERR_USER_NOT_FOUND',
  usernameTaken: 'ROOMCAST_ERR_USERNAME_TAKEN',
} as const;
export type StoreErrorCode = (typeof StoreErrorCode)[keyof typeof StoreErrorCode];

export type StoreErrorSeverity = 'recoverable' | 'critical';

const HTTP_STATUS: Record<StoreErrorCode, number> = {
  ROOMCAST_ERR_STORE_OPEN: 500,
  ROOMCAST_ERR_STORE_SCHEMA_TOO_NEW: 500,
  ROOMCAST_ERR_STORE_MIGRATION: 500,
  ROOMCAST_ERR_STORE_INVALID: 400,
  ROOMCAST_ERR_CHANNEL_NOT_FOUND: 404,
  ROOMCAST_ERR_CHANNEL_NUMBER_TAKEN: 409,
  ROOMCAST_ERR_CHANNEL_VERSION_CONFLICT: 409,
  ROOMCAST_ERR_USER_NOT_FOUND: 404,
  ROOMCAST_ERR_USERNAME_TAKEN: 409,
};

export class StoreError extends Error {
  override readonly name: string = 'StoreError';
  /** The HTTP status the API answers with (fastify's error handler reads `statusCode`). */
  readonly statusCode: number;
  readonly severity: StoreErrorSeverity;
  constructor(readonly code: StoreErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.statusCode = HTTP_STATUS[code];
    this.severity = this.statusCode >= 500 ? 'critical' : 'recoverable';
  }
}

/** `create`, `update` (renumbering), `reorder` or `replaceAll` would give two channels one number. */
export class ChannelNumberTakenError extends StoreError {
  override readonly name = 'ChannelNumberTakenError';
  constructor(readonly number: number, detail = '') {
    super(StoreErrorCode.channelNumberTaken, `channel number ${number} is already used${detail}`);
  }
}

/**
 * The caller's expected version is not the stored one: someone else saved
 * the channel in between. `currentVersion` lets the client reload and retry;
 * the API answers 409 so the last write never silently loses the other.
 */
export class ChannelVersionConflictError extends StoreError {
  override readonly name = 'ChannelVersionConflictError';
  constructor(readonly number: number, readonly expectedVersion: number, readonly currentVersion: number) {
    super(
      StoreErrorCode.channelVersionConflict,
      `channel ${number} was changed by someone else: expected version ${expectedVersion}, the stored one is ${currentVersion}`,
    );
  }
}

/** SQLite result codes that mean "this file is not (or no longer) a database we can read". */
export function isCorruptionError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT' || (typeof code === 'string' && code.startsWith('SQLITE_CORRUPT_'));
}

/** better-sqlite3 reports a UNIQUE violation with this extended result code. */
export function isUniqueViolation(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === 'SQLITE_CONSTRAINT_UNIQUE';
}
