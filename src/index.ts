export { createStore } from './store.js'
export { VisitStoreError, type ErrorCode } from './errors.js'
export type { SessionAnswer, SessionChange, SessionEvents, SessionOptions, SessionSnapshot, SessionSource, SessionState, StoreSession } from './session.js'
export type { StandardSchemaV1, StandardResult } from './validation.js'
export type {
  Backends, KeyCommon, CookieOptions, CookieValueType, DeclaredKey, InvalidValueEvent, KeyOptions, KeysConfig, Lifetime, PersistentClientKey,
  PersistentCookieKey, Placement, SessionClientKey, SessionCookieKey, StoreEvents, StoreKey, StoreOptions, StoreStatus,
  SyncKey, TabKey, Tier, VisitStore, WatchInfo,
} from './types.js'
