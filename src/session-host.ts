import type { VisitStoreError } from './errors.js'
import type { Env } from './env.js'
import type { Names } from './names.js'
import type { SessionSnapshot, SessionSync, StoreSession, StoreStatus, WatchInfo } from './types.js'

// The contract between a store and the session sync it was given (visitstore/session): the store
// knows nothing of sources, polling or expiry, and the sync nothing of tiers and records.

/** A session change for the store to apply to its data. */
export interface SessionApply {
  previous: SessionSnapshot
  next: SessionSnapshot
  /** Move the previous session's data to the next one (keepOnLogin at a login) instead of purging it. */
  keep: boolean
  /** Purge even data already stamped with `next`'s tag (`session.end()`). */
  force: boolean
  /**
   * Another tab applied this change and purged the shared tiers already: purge only what this
   * context keeps to itself (purging again could delete what that tab wrote since). Not so for a
   * change told by a context that cannot remove cookies (`noJar`: a Worker): the pages do it.
   */
  remote: boolean
  /** Whether this tab's writes still on their way fall under it: not another tab's end() this tab is past (store/watch.ts). */
  covered: boolean
  /** When the request whose answer this is started (session/sync.ts tick): a change older than the state saved is not applied. */
  at?: number
}

/** What a store gives its session sync. */
export interface SessionHost {
  names: Names
  env: Env
  /** The last state this origin saw (saved by `apply`), to start from before the first answer. */
  load(): Promise<SessionSnapshot | undefined>
  /** Purges (or moves) session data and saves `next`; resolves to the keys purged. */
  apply(change: SessionApply): Promise<string[]>
  /** Watchers of these keys hear `undefined`: data another tab purged. */
  purged(keys: readonly string[], source: WatchInfo['source']): void
  /** Sends a message to the session syncs of the store's other tabs. */
  post(message: SessionMessage): void
  report(error: VisitStoreError): void
  status(state: StoreStatus['session']): void
  /** Whether a cookie of this name is one the store writes (a session cookie source must not be). */
  ownsCookie(name: string): boolean
  readCookie(name: string): string | undefined
}

/**
 * What tabs' session syncs tell each other: a session state one of them learned, with the keys it
 * purged; `at`, when the request that learnt it started (an answer to an older one is not applied over it).
 * An end() adds the browser-session stamp its tab took and the stamps it ended (`<name>_$x`): a
 * context that cannot read the marker cookie (a Worker) follows by them (store/watch.ts). `noJar`:
 * the sender could not remove the session cookies (a Worker); every tab that can applies the change.
 */
export type SessionMessage = { t: 's', snapshot: SessionSnapshot, purged: string[], force: boolean, at?: number, stamp?: string, ended?: string[], noJar?: boolean }

/** What a session sync gives its store. */
export interface SessionController {
  readonly session: StoreSession
  /** Settles after the first answer or failure (within the request time-out), at once without a sync. */
  readonly started: Promise<void>
  /** The tag session records must carry: a string, or null for no session; undefined when nothing is synced. */
  tag(): string | null | undefined
  /** `covered`: another tab's end() that this tab's writes still on their way fall under (store/watch.ts). */
  receive(message: SessionMessage, covered: boolean): void
  close(): void
}

/** A `SessionSync` as the store uses it. */
export interface SessionSyncImpl extends SessionSync {
  attach(host: SessionHost): SessionController
}
