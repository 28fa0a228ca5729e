export { createStore } from './store.js'
export { VisitStoreError, type ErrorCode } from './errors.js'
export type { StandardSchemaV1, StandardResult } from './validation.js'
export type {
  AnyKeysConfig, CookieKey, KeysFor, SchemaFor, SchemaOf, StrictKeys,
  Backends, CookieJar, CookieOptions, CookieValueType, DeclaredKey, InvalidValueEvent, KeyCommon, KeyOptions, KeysConfig, Lifetime,
  PersistentClientKey, PersistentCookieKey, Placement, SessionAnswer, SessionChange, SessionClientKey, SessionCookieKey, SessionEvents,
  SessionSnapshot, SessionSource, SessionState, SessionSync, SessionSyncOptions, StoreEvents, StoreKey, StoreOptions, StoreSession,
  StoreStatus, SyncKey, TabKey, Tier, VisitStore, WatchInfo,
} from './types.js'
