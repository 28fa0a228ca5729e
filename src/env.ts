import type { Backends, CookieJar } from './types.js'

/**
 * The one seam between the store and the browser. Every global the store uses is reached through
 * here, lazily (nothing at import: SSR and Node import the package safely), and guarded: a
 * sandboxed frame throws `SecurityError` on `document.cookie`, Firefox with cookies blocked on
 * `new BroadcastChannel`, some browsers on merely reading `indexedDB`. Callers get `null` or a
 * no-op instead, and say so in `store.status`.
 */
export interface Env {
  /** The cookie jar: `document.cookie`, `backends.cookies`, or null (no document, cookies disabled). */
  cookies(): CookieJar | null
  /**
   * The Cookie Store API, when the jar is the page's own and the API exists: it answers from the
   * browser's cookie store itself, where `document.cookie` may answer from a content process's copy
   * (Firefox, WebKit) that lags behind other tabs' writes.
   */
  cookieStore(): CookieStore | undefined
  indexedDB(): IDBFactory | null
  sessionStorage(): Storage | null
  /** Web Locks, or undefined where missing (insecure origins, old browsers) or refusing (see `locksRefused`). */
  locks(): LockManager | undefined
  /** Web Locks answered SecurityError (third-party and opaque-origin frames): from now on there are none. */
  locksRefused(): void
  /** A BroadcastChannel, or undefined where missing or forbidden. */
  channel(name: string): BroadcastChannel | undefined
  /** Listens to an event of the window, the document or the Cookie Store; returns a stop function. */
  listen(target: EventSource, type: string, fn: (event: Event) => void): () => void
  /** The page's URL, where there is one (workers have `location` too). */
  href(): string | undefined
}

/** Where page events come from. */
export type EventSource = 'window' | 'document' | 'cookieStore'

const global = globalThis as unknown as Record<string, unknown>

/** Reads a global, or null where reading it throws (storage blocked) or it is missing. */
function safely<T>(read: () => T | undefined): T | null {
  try {
    return read() ?? null
  } catch {
    return null
  }
}

function pageCookies(): CookieJar | null {
  if (typeof document === 'undefined' || safely(() => navigator.cookieEnabled) === false) return null
  return {
    read: () => document.cookie,
    write: (line) => { document.cookie = line },
  }
}

/** Whether a Cookie Store `change` event names a cookie `concerns` accepts (read without copying its lists: every cookie write of every tab fires one). */
export const namesCookie = (event: Event, concerns: (name: string) => boolean): boolean =>
  [(event as CookieChangeEvent).changed, (event as CookieChangeEvent).deleted].some((list) => list?.some((c) => c.name !== undefined && concerns(c.name)))

/** The page's (or worker's) URL, where there is one. */
export const currentHref = (): string | undefined => safely(() => (global.location as Location | undefined)?.href) ?? undefined

/**
 * Resolves in a task of its own: a message the page posts to itself, not a 0 ms timer, because a
 * hidden tab's timers are throttled (Firefox: to 1 s; Chromium: 1 s, then once a minute) and a
 * cookie burst holds the cross-tab lock until this resolves.
 */
export function nextTask(): Promise<void> {
  return new Promise((resolve) => {
    if (typeof MessageChannel !== 'function') return void setTimeout(resolve, 0)
    const { port1, port2 } = new MessageChannel()
    port1.onmessage = () => {
      port1.close()
      resolve()
    }
    port2.postMessage(null)
  })
}

/** Lets Node exit while a channel or timer is still open; browsers have no `unref` and ignore this. */
export function unref<T>(handle: T): T {
  (handle as { unref?: () => void } | undefined)?.unref?.()
  return handle
}

/**
 * The environment of a store: the page's globals, or the replacements in `backends` (tests,
 * server-side rendering). `undefined` in `backends` means "the page's", `null` "not here".
 */
export function createEnv(backends: Backends): Env {
  let jar: CookieJar | null | undefined
  let refused = false
  return {
    // Looked up at first use: navigator.cookieEnabled alone costs ~0.1 ms of a cold start in Chromium.
    cookies: () => (jar ??= backends.cookies === undefined ? pageCookies() : backends.cookies),
    cookieStore: () => (backends.cookies === undefined ? safely(() => global.cookieStore as CookieStore | undefined) ?? undefined : undefined),
    indexedDB: () => (backends.indexedDB === undefined ? safely(() => global.indexedDB as IDBFactory | undefined) : backends.indexedDB),
    sessionStorage: () => (backends.sessionStorage === undefined ? safely(() => global.sessionStorage as Storage | undefined) : backends.sessionStorage),
    locks: () => (refused ? undefined : safely(() => (typeof navigator.locks?.request === 'function' ? navigator.locks : undefined)) ?? undefined),
    locksRefused: () => { refused = true },
    channel: (name) => safely(() => (typeof BroadcastChannel === 'function' ? unref(new BroadcastChannel(name)) : undefined)) ?? undefined,
    listen(target, type, fn) {
      const source = safely(() => global[target] as EventTarget | undefined)
      if (typeof source?.addEventListener !== 'function') return () => {}
      source.addEventListener(type, fn)
      return () => source.removeEventListener(type, fn)
    },
    href: currentHref,
  }
}

/**
 * Whether a session answer whose request started at `at` is older than one whose request started
 * at `than` (session/sync.ts tick): answers arrive out of order, and the older one must not undo
 * the newer. A clock that went back by over a second (`than` "in the future") orders nothing.
 */
export const olderThan = (at: number, than: number): boolean => at < than && than <= Date.now() + 1000
