import { exclusive, hasLocks, unref } from './cross-tab.js'
import { VisitStoreError } from './errors.js'
import { createEmitter } from './events.js'
import { ownOptions } from './placement.js'

/**
 * Where the store learns the server session's tag. The raw session ID stays HttpOnly on the
 * server; the browser sees only a tag derived from it.
 * @example { endpoint: '/session' } // GET → { "tag": "…", "expiresAt": 1767225600000 }
 */
export type SessionSource =
  | { endpoint: string, credentials?: RequestCredentials }
  | { cookie: string }
  | { header: string }
  | { read: () => Promise<SessionAnswer | null> }

/**
 * The `session` option of `createStore`: a source, plus how to sync with it.
 * @example session: { endpoint: '/session', keepOnLogin: true }
 */
export type SessionOptions = SessionSource & {
  /** Move data made with no session, or in an anonymous one, to the new session at login instead of purging it. */
  keepOnLogin?: boolean
  /** Milliseconds between checks (one tab at a time). Default 60000; 0 turns the interval off. */
  interval?: number
  /** Milliseconds before `expiresAt` at which `expiring` fires. Default 60000. */
  expiringBefore?: number
}

/**
 * What a session source answers; the endpoint's JSON wire format.
 * @example { tag: 'k3J…', expiresAt: 1767225600000, anonymous: false }
 */
export interface SessionAnswer {
  tag: string | null
  expiresAt?: number
  anonymous?: boolean
}

/** The store's view of the server session. `'unknown'`: not asked successfully yet. */
export type SessionState = 'unknown' | 'none' | 'anonymous' | 'active'

/**
 * A point-in-time view of the server session.
 * @example { tag: 'k3J…', state: 'active', expiresAt: 1767225600000 }
 */
export interface SessionSnapshot {
  tag: string | null
  state: SessionState
  expiresAt: number | undefined
}

/** Payload of the session's `change` event. `source: 'remote'` when another tab saw the change first. */
export interface SessionChange {
  previous: SessionSnapshot
  current: SessionSnapshot
  source: 'local' | 'remote'
}

/** Events of `store.session`. */
export interface SessionEvents {
  change: SessionChange
  expiring: SessionSnapshot
  end: SessionSnapshot
}

/**
 * `store.session`: the server session as the store sees it, kept in sync across tabs.
 * @example store.session.on('change', ({ current }) => console.log(current.state))
 */
export interface StoreSession {
  /** The session tag, or null when there is no session. */
  readonly tag: string | null
  readonly state: SessionState
  /** When the session ends (ms since epoch), if the source said. */
  readonly expiresAt: number | undefined
  /** Listens to `change`, `expiring` and `end`; returns an unsubscribe function. @example store.session.on('end', showSignIn) */
  on<E extends keyof SessionEvents>(event: E, cb: (payload: SessionEvents[E]) => void): () => void
  /** Asks the source now; resolves once the new state and any purge are applied. Rejects with `SESSION_SYNC_FAILED` and changes nothing when the source fails. @example await store.session.refresh() */
  refresh(): Promise<void>
  /** Ends the session here and in every tab (purging session data); `{ server: true }` also sends `DELETE <endpoint>`. @example await store.session.end({ server: true }) */
  end(options?: { server?: boolean }): Promise<void>
  /** `fetch` that also reads the session tag header (with the `header` source). @example const res = await store.session.fetch('/api/cart') */
  fetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response>
}

/** What the session sync needs from the store. */
export interface SessionHooks {
  /** The last state this origin saw (persisted by the store), to start from before the first answer. */
  load(): Promise<SessionSnapshot | undefined>
  /**
   * Applies a change: purge (or, with `keep`, move) session data and persist `next`. `force`
   * (from `end()`) purges even data already stamped with `next`'s tag. Resolves to the keys purged;
   * `purged` are those another tab already purged, for this tab's watchers.
   */
  apply(change: { previous: SessionSnapshot, next: SessionSnapshot, keep: boolean, force: boolean, source: 'local' | 'remote', purged: readonly string[] }): Promise<string[]>
  /** Tells the other tabs. */
  broadcast(next: SessionSnapshot, purged: string[], force: boolean): void
  /** Reports a failure that is not the answer to a call. */
  report(error: VisitStoreError): void
  /** Reads a cookie readable by script (the `cookie` source). */
  readCookie(name: string): string | undefined
}

/** The session sync's controls for the store. */
export interface SessionSync {
  readonly session: StoreSession
  /** Resolves after the first answer (or failure) is applied; reads of session data wait for it. */
  readonly started: Promise<void>
  /** Whether session records must carry the tag (a `session` option was given). */
  readonly enabled: boolean
  /** Applies a state another tab announced. */
  receive(next: SessionSnapshot, purged: readonly string[], force: boolean): Promise<void>
  close(): void
}

const UNKNOWN: SessionSnapshot = { tag: null, state: 'unknown', expiresAt: undefined }
const NONE: SessionSnapshot = { tag: null, state: 'none', expiresAt: undefined }
const MAX_TIMER = 2 ** 31 - 1
const MAX_BACKOFF = 60_000

function syncFailed(why: string, cause?: unknown): VisitStoreError {
  return new VisitStoreError('SESSION_SYNC_FAILED',
    `The server session could not be checked: ${why}. The last known session is kept and nothing was purged; ` +
    'the store retries with back-off.', cause === undefined ? undefined : { cause })
}

/** Validates a source's answer (the endpoint's JSON); anything else is a sync failure. */
export function parseAnswer(body: unknown): SessionSnapshot {
  if (typeof body !== 'object' || body === null) throw syncFailed('the answer is not a JSON object')
  const { tag, expiresAt, anonymous } = body as Record<string, unknown>
  if (tag !== null && (typeof tag !== 'string' || tag === '')) throw syncFailed('"tag" must be a non-empty string or null')
  if (expiresAt !== undefined && (typeof expiresAt !== 'number' || !Number.isFinite(expiresAt))) throw syncFailed('"expiresAt" must be milliseconds since the epoch')
  if (anonymous !== undefined && typeof anonymous !== 'boolean') throw syncFailed('"anonymous" must be true or false')
  if (tag === null) return NONE
  return { tag, state: anonymous ? 'anonymous' : 'active', expiresAt }
}

/**
 * The tag of a script-readable session cookie (PHP's PHPSESSID): a SHA-256 of the ID. The ID
 * itself is a credential and goes nowhere else: not stored, not in events or errors.
 */
async function tagOfSessionId(id: string): Promise<string> {
  if (typeof crypto === 'undefined' || !crypto.subtle) throw syncFailed('the cookie source needs crypto.subtle, which browsers give only to secure contexts (https or localhost)')
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(`visitstore-session:${id}`))
  let binary = ''
  for (const b of new Uint8Array(digest)) binary += String.fromCharCode(b)
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
}

/** A login: from no session or an anonymous one to another session. Only then may `keepOnLogin` move data. */
function isLogin(previous: SessionSnapshot, next: SessionSnapshot): boolean {
  return next.tag !== null && previous.tag !== next.tag && (previous.state === 'none' || previous.state === 'anonymous' || (previous.state === 'unknown' && previous.tag === null))
}

function checkSessionOptions(options: SessionOptions): void {
  const bad = (why: string) => new VisitStoreError('INVALID_OPTIONS', `session: ${why}`)
  const sources = ['endpoint', 'cookie', 'header', 'read'].filter((k) => k in options)
  if (sources.length !== 1) throw bad('give exactly one source: { endpoint }, { cookie }, { header } or { read }.')
  const o = options as Record<string, unknown>
  if ('read' in options ? typeof o.read !== 'function' : typeof o[sources[0] as string] !== 'string' || o[sources[0] as string] === '') {
    throw bad(`${sources[0]} must be ${'read' in options ? 'a function' : 'a non-empty string'}.`)
  }
  for (const k of ['interval', 'expiringBefore']) {
    const v = o[k]
    if (v !== undefined && (typeof v !== 'number' || !Number.isFinite(v) || v < 0)) throw bad(`${k} must be a number of milliseconds ≥ 0.`)
  }
}

/**
 * Creates the session sync. Without options the store has no server session: `state` stays
 * `'unknown'`, session data lives for the browser session, and `end()` purges it locally.
 */
export function createSessionSync(name: string, sessionOptions: SessionOptions | undefined, hooks: SessionHooks): SessionSync {
  const options = sessionOptions === undefined ? undefined : ownOptions(sessionOptions) as SessionOptions
  if (options !== undefined) checkSessionOptions(options)
  const events = createEmitter<SessionEvents>()
  const lockName = `visitstore:${name}:session`
  const interval = options?.interval ?? 60_000
  const expiringBefore = options?.expiringBefore ?? 60_000
  let current: SessionSnapshot = UNKNOWN
  let answers = 0
  let failures = 0
  let closed = false
  let endedTag: string | null = null
  let pollTimer: ReturnType<typeof setTimeout> | undefined
  const expiryTimers: ReturnType<typeof setTimeout>[] = []
  const stops: (() => void)[] = []

  async function ask(): Promise<SessionSnapshot> {
    if (!options) return current
    if ('endpoint' in options) {
      let response: Response
      try {
        response = await fetch(options.endpoint, { credentials: options.credentials ?? 'same-origin', headers: { accept: 'application/json' }, cache: 'no-store' })
      } catch (err) {
        throw syncFailed(`GET ${options.endpoint} did not reach the server`, err)
      }
      if (response.status !== 200) throw syncFailed(`GET ${options.endpoint} answered ${response.status}`)
      let body: unknown
      try {
        body = await response.json()
      } catch (err) {
        throw syncFailed(`GET ${options.endpoint} did not answer JSON`, err)
      }
      return parseAnswer(body)
    }
    if ('cookie' in options) {
      const id = hooks.readCookie(options.cookie)
      return id ? { tag: await tagOfSessionId(id), state: 'active', expiresAt: undefined } : NONE
    }
    if ('read' in options) {
      let answer: SessionAnswer | null
      try {
        answer = await options.read()
      } catch (err) {
        throw syncFailed('session.read() threw', err)
      }
      return answer === null ? NONE : parseAnswer(answer)
    }
    return current // header: the state arrives with responses to session.fetch
  }

  function scheduleExpiry(): void {
    for (const t of expiryTimers.splice(0)) clearTimeout(t)
    const { expiresAt, tag } = current
    if (expiresAt === undefined || tag === null || closed) return
    const at = (when: number, fire: () => void) => {
      const delay = when - Date.now()
      if (delay <= 0) return fire()
      // setTimeout overflows past 2^31-1 ms (24.8 days): wake up early and re-plan.
      expiryTimers.push(unref(setTimeout(delay > MAX_TIMER ? scheduleExpiry : fire, Math.min(delay, MAX_TIMER))))
    }
    if (expiresAt - expiringBefore > Date.now()) at(expiresAt - expiringBefore, () => events.emit('expiring', { ...current }))
    at(expiresAt, () => {
      fireEnd(current)
      void check(false)
    })
  }

  function fireEnd(ended: SessionSnapshot): void {
    if (ended.tag === null || endedTag === ended.tag) return
    endedTag = ended.tag
    events.emit('end', { ...ended })
  }

  async function apply(next: SessionSnapshot, source: 'local' | 'remote', force = false, purgedElsewhere: readonly string[] = []): Promise<string[]> {
    const previous = current
    const changed = previous.tag !== next.tag || previous.state !== next.state
    // Switch first: reads and writes from here on use the new tag, so none lands under the old one.
    current = next
    if (previous.expiresAt !== next.expiresAt || changed) scheduleExpiry()
    if (!changed && !force) return []
    const keep = !force && options?.keepOnLogin === true && isLogin(previous, next)
    const purged = await hooks.apply({ previous, next, keep, force, source, purged: purgedElsewhere })
    if (previous.tag !== null && next.tag === null) fireEnd(previous)
    if (changed) events.emit('change', { previous: { ...previous }, current: { ...next }, source })
    return purged
  }

  /** Applies a state this tab learned, then tells the other tabs (with what it purged); call it holding the lock. */
  async function adopt(next: SessionSnapshot, force = false): Promise<void> {
    answers++
    hooks.broadcast(next, await apply(next, 'local', force), force)
  }

  /**
   * Asks the source, one tab at a time: a tab that waited for the lock while another asked uses
   * that tab's answer (already applied through the channel) instead of asking again.
   */
  async function askAndApply(): Promise<void> {
    const seen = answers
    await exclusive(lockName, async () => {
      if (answers !== seen || closed) return
      await adopt(await ask())
    })
  }

  function schedulePoll(delay: number): void {
    clearTimeout(pollTimer)
    if (closed || delay <= 0 || !options || 'header' in options) return
    pollTimer = unref(setTimeout(() => {
      // Without Web Locks every tab would ask; let only visible tabs do it then.
      if (!hasLocks() && typeof document !== 'undefined' && document.visibilityState === 'hidden') schedulePoll(interval)
      else void check(false)
    }, delay))
  }

  async function check(rethrow: boolean): Promise<void> {
    try {
      await askAndApply()
      failures = 0
      schedulePoll(interval)
    } catch (err) {
      failures++
      const error = err instanceof VisitStoreError ? err : syncFailed('the purge after a session change failed', err)
      schedulePoll(Math.min(1000 * 2 ** (failures - 1), interval > 0 ? Math.max(interval, 1000) : MAX_BACKOFF, MAX_BACKOFF))
      if (rethrow) throw error
      hooks.report(error)
    }
  }

  function listen(target: EventTarget | undefined, type: string, fn: () => void) {
    if (!target) return
    target.addEventListener(type, fn)
    stops.push(() => target.removeEventListener(type, fn))
  }

  const started = (async () => {
    await null
    const saved = await hooks.load().catch((err: unknown) => {
      // Starting from 'unknown' is safe (nothing is purged until the source answers); say why.
      hooks.report(new VisitStoreError('STORAGE_UNAVAILABLE', 'The last known session state could not be read; starting from "unknown" until the source answers.', { cause: err }))
      return undefined
    })
    if (saved && current === UNKNOWN) {
      current = saved
      scheduleExpiry()
    }
    if (!options || 'header' in options) return
    listen(typeof document === 'undefined' ? undefined : document, 'visibilitychange', () => {
      if (document.visibilityState === 'visible') void check(false)
    })
    listen(typeof window === 'undefined' ? undefined : window, 'online', () => void check(false))
    await check(false)
  })()

  async function fetchWithTag(input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
    const response = await fetch(input, { credentials: 'same-origin', ...init })
    if (options && 'header' in options && response.headers.has(options.header)) {
      const value = response.headers.get(options.header) ?? ''
      const next: SessionSnapshot = value === '' ? NONE : { tag: value, state: 'active', expiresAt: undefined }
      if (next.tag !== current.tag) {
        await exclusive(lockName, () => adopt(next))
      }
    }
    return response
  }

  const session: StoreSession = {
    get tag() { return current.tag },
    get state() { return current.state },
    get expiresAt() { return current.expiresAt },
    on: events.on,
    async refresh() {
      await started
      await check(true)
    },
    async end(opts = {}) {
      await started
      await exclusive(lockName, () => adopt(NONE, true))
      if (opts.server) {
        if (!options || !('endpoint' in options)) throw new VisitStoreError('INVALID_OPTIONS', 'session.end({ server: true }) needs the endpoint source: session: { endpoint }.')
        const response = await fetch(options.endpoint, { method: 'DELETE', credentials: options.credentials ?? 'same-origin' }).catch((err: unknown) => {
          throw syncFailed(`DELETE ${options.endpoint} did not reach the server`, err)
        })
        if (!response.ok) throw syncFailed(`DELETE ${options.endpoint} answered ${response.status}; the session may still be alive on the server`)
      }
    },
    fetch: fetchWithTag,
  }

  return {
    session,
    started,
    enabled: options !== undefined,
    async receive(next, purged, force) {
      answers++
      await apply(next, 'remote', force, purged)
      if (!options || 'header' in options) return
      failures = 0
      schedulePoll(interval)
    },
    close() {
      closed = true
      clearTimeout(pollTimer)
      for (const t of expiryTimers.splice(0)) clearTimeout(t)
      for (const stop of stops.splice(0)) stop()
      events.clear()
    },
  }
}
