import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

/** JSON logs on stdout; secrets are redacted wherever they might appear. */
export function createLogger(level: LevelWithSilent = 'info'): Logger {
  return pino({
    level,
    base: { name: 'av-server' },
    redact: {
      paths: [
        'password',
        'token',
        'peerToken',
        'resumeToken',
        'resume',
        '*.resumeToken',
        '*.resume',
        '*.password',
        '*.token',
        '*.credential',
        'secret',
      ],
      censor: '[redacted]',
    },
  });
}
