/** Server SDK: `createServer(options)` is what the `av-server` CLI runs. */
export { createServer, type AvServer, type ServerOptions } from './app.js';
export { createLogger, type Logger } from './log.js';
export type * from '../components/core/room-protocol.js';
