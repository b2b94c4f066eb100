/** Client-side log levels, from quietest to loudest. */
export type LogLevel = 'silent' | 'error' | 'warn' | 'info' | 'debug';

const ORDER: Record<LogLevel, number> = { silent: 0, error: 1, warn: 2, info: 3, debug: 4 };

export interface Log {
  error(...args: unknown[]): void;
  warn(...args: unknown[]): void;
  info(...args: unknown[]): void;
  debug(...args: unknown[]): void;
}

/** Routes the core's logs to the console at or below `level`, prefixed with a scope. */
export function createLog(scope: string, level: LogLevel = 'warn'): Log {
  const at = ORDER[level] ?? ORDER.warn;
  const prefix = `[av-elements ${scope}]`;
  return {
    error: (...a) => at >= 1 && console.error(prefix, ...a),
    warn: (...a) => at >= 2 && console.warn(prefix, ...a),
    info: (...a) => at >= 3 && console.info(prefix, ...a),
    debug: (...a) => at >= 4 && console.debug(prefix, ...a),
  };
}
