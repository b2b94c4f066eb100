/** Server SDK: `createServer(options)` is what the `av-server` CLI runs. */
export { createServer, type AvServer, type ServerOptions } from './app.js';
export { createToken, verifyToken, type TokenClaims } from './auth.js';
export { createLogger, type Logger } from './log.js';
export type { AppData, JoinRequest, MemberContext, RoomConfig, RoomPolicy, ServerHooks } from './rooms.js';
export { startCoturn, turnCredentials, type LocalCoturn, type TurnConfig } from './turn.js';
export type * from '../components/core/room-protocol.js';
