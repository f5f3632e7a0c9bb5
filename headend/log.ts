/**
 * A small leveled logger: one line per message, `time level [scope] message`.
 * Workers post their lines to the main thread, which owns stdout.
 */

export const LogLevel = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 } as const;
export type LogLevelName = keyof typeof LogLevel;

export interface Logger {
  debug(msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
  child(scope: string): Logger;
  readonly level: LogLevelName;
}

export function isLogLevel(s: string): s is LogLevelName {
  return Object.prototype.hasOwnProperty.call(LogLevel, s);
}

export function createLogger(level: LogLevelName, write: (line: string) => void = (l) => process.stdout.write(l + '\n'), scope = ''): Logger {
  const min = LogLevel[level];
  const emit = (lvl: LogLevelName, msg: string): void => {
    if (LogLevel[lvl] < min) return;
    write(`${new Date().toISOString()} ${lvl.padEnd(5)} ${scope ? `[${scope}] ` : ''}${msg}`);
  };
  return {
    level,
    debug: (m) => emit('debug', m),
    info: (m) => emit('info', m),
    warn: (m) => emit('warn', m),
    error: (m) => emit('error', m),
    child: (s) => createLogger(level, write, scope ? `${scope}/${s}` : s),
  };
}
