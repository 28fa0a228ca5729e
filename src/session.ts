// visitstore/session: the server-session sync, imported on its own so that a store without one
// does not carry its code.
export { sessionSync } from './session/sync.js'
export { VisitStoreError } from './errors.js'
export type { SessionAnswer, SessionChange, SessionEvents, SessionSnapshot, SessionSource, SessionState, SessionSync, SessionSyncOptions, StoreSession } from './types.js'
