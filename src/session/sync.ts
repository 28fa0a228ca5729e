import { createEmitter, type Emitter } from '../emitter.js'
import { olderThan, unref } from '../env.js'
import { VisitStoreError } from '../errors.js'
import { checkSessionOptions, invalid } from '../options.js'
import type { SessionController, SessionHost, SessionSyncImpl } from '../session-host.js'
import type { SessionEvents, SessionSnapshot, SessionSync, SessionSyncOptions, StoreSession } from '../types.js'
import { deleteSession, NONE, sourceOf, syncFailed, Unavailable, withTimeout, type Ask } from './sources.js'

const UNKNOWN: SessionSnapshot = { tag: null, state: 'unknown', expiresAt: undefined }
/** The request-rate floor: at most one automatic request per 5 s per tab, whatever the answers say. */
const MIN_GAP = 5000
const MAX_TIMER = 2 ** 31 - 1
/** What counts as a user being there (visibility alone does not: an open tab is not a user). */
const ACTIVITY = ['pointerdown', 'keydown', 'touchstart', 'wheel']

/**
 * Whether an answer to a request started at `at` is older than the one applied (a slow check asked
 * before a login, answered after the login's refresh): it would switch back and purge the new
 * session's data.
 */
const stale = (sync: Sync, at: number) => olderThan(at, sync.appliedAt)

/**
 * Now, for ordering requests (stale()): with a fraction of a millisecond of this tab's own, so that
 * two tabs' requests of one millisecond still have an order both tabs agree on (else each would
 * take the other's answer as the later one, and they would end on different sessions).
 */
const tick = (sync: Sync) => (sync.tick = Math.max(Date.now() + sync.own, sync.tick + 1e-3))

/**
 * A server-session sync for `createStore({ session })`: where the store learns the session's tag,
 * and how often. Session-scoped data is then bound to the server session and purged in every
 * tier and tab when it ends or changes (logout, login, rotation, expiry).
 * @example
 * import { sessionSync } from 'visitstore/session'
 * const store = createStore({ name: 'shop', keys, session: sessionSync({ endpoint: '/session', keepOnLogin: true }) })
 */
export function sessionSync(options: SessionSyncOptions): SessionSync {
  const checked = checkSessionOptions(options)
  const sync: SessionSyncImpl = { kind: 'visitstore-session-sync', attach: (host) => createSync(checked, host) }
  return sync
}

/** Everything one store's session sync knows. */
interface Sync {
  o: SessionSyncOptions
  host: SessionHost
  ask: Ask | undefined
  events: Emitter<SessionEvents>
  interval: number
  timeout: number
  timers: Map<string, ReturnType<typeof setTimeout>>
  stops: (() => void)[]
  /** The request under way (the last one asked for). */
  request?: AbortController
  current: SessionSnapshot
  /** When the last automatic or explicit request started, and when an answer last arrived. */
  askedAt: number
  answeredAt: number
  /** When the request whose answer is `current` started (here or in the tab that announced it). */
  appliedAt: number
  /** When this tab's last request started, on a clock that never repeats (requests of one millisecond keep their order). */
  tick: number
  /** This tab's fraction of a millisecond (tick). */
  own: number
  /** User activity since the last answer. */
  active: boolean
  failures: number
  /** The source cannot work in this page: status stays 'unavailable'. */
  unavailable: boolean
  closed: boolean
  /** The tag whose `end` fired, and the session whose `expiring` did: each fires once. */
  ended: string
  expiring: string
}

function createSync(o: SessionSyncOptions, host: SessionHost): SessionController {
  if ('cookie' in o && host.ownsCookie(o.cookie)) {
    throw invalid(`sessionSync: the store would write the cookie ${o.cookie}, which is the server's session cookie (cookie source). Rename the key or the store.`)
  }
  const sync: Sync = {
    o, host, ask: sourceOf(o, host), events: createEmitter(), interval: o.interval ?? 60_000, timeout: o.timeout ?? 10_000,
    timers: new Map(), stops: [], current: UNKNOWN, askedAt: -Infinity, answeredAt: 0, appliedAt: 0, tick: 0, own: Math.random(), active: false, failures: 0,
    unavailable: false, closed: false, ended: '', expiring: '',
  }
  const started = start(sync).catch((err: unknown) => host.report(err as VisitStoreError))
  return {
    session: storeSession(sync, started),
    started,
    tag: () => sync.current.tag,
    receive(message, covered) {
      if (sync.ask) heard(sync)
      if (!message.force && stale(sync, message.at ?? Infinity)) return
      apply(sync, message.snapshot, 'remote', { force: message.force, elsewhere: message.purged, at: message.at, applied: !message.noJar, covered }).catch((err: unknown) => host.report(err instanceof VisitStoreError ? err
        : new VisitStoreError('STORAGE_UNAVAILABLE', 'Applying a session change announced by another tab failed.', { cause: err })))
    },
    close() {
      sync.closed = true
      // A request under way fails at once: the calls waiting for the first answer then see the store closed.
      sync.request?.abort(syncFailed('the store was closed'))
      for (const t of sync.timers.values()) clearTimeout(t)
      for (const stop of sync.stops.splice(0)) stop()
      sync.events.clear()
    },
  }
}

function at(sync: Sync, name: string, when: number, fn: () => void): void {
  clearTimeout(sync.timers.get(name))
  const delay = Math.max(0, when - Date.now())
  // setTimeout overflows past 2^31-1 ms (24.8 days): wake up early and plan again.
  if (!sync.closed) sync.timers.set(name, unref(setTimeout(delay > MAX_TIMER ? () => at(sync, name, when, fn) : fn, Math.min(delay, MAX_TIMER))))
}

const status = (sync: Sync, state: 'ok' | 'failing') => sync.host.status(sync.unavailable ? 'unavailable' : state)

function fireEnd(sync: Sync, ended: SessionSnapshot): void {
  if (ended.tag === null || sync.ended === ended.tag) return
  sync.ended = ended.tag
  sync.events.emit('end', { ...ended })
}

/** A login: from no session or an anonymous one to another session. Only then may `keepOnLogin` move data. */
const isLogin = (previous: SessionSnapshot, next: SessionSnapshot) =>
  next.tag !== null && previous.tag !== next.tag && (previous.state === 'none' || previous.state === 'anonymous' || (previous.state === 'unknown' && previous.tag === null))

/** Whether switching from the current state to `next` moves the data (keepOnLogin at a login) instead of purging it. */
const moves = (sync: Sync, next: SessionSnapshot, force: boolean) => !force && sync.o.keepOnLogin === true && isLogin(sync.current, next)

/**
 * Switches to `next` first (reads and writes from here on use its tag), then purges; resolves to
 * the keys purged. Another tab's news: `elsewhere`, the keys it purged; `applied`, whether it
 * applied the change to the shared data; `covered`, whether it covers this tab's writes on their way.
 */
async function apply(sync: Sync, next: SessionSnapshot, source: 'local' | 'remote',
  { force = false, elsewhere = [], at = tick(sync), applied = source === 'remote', covered = true }: { force?: boolean, elsewhere?: readonly string[], at?: number, applied?: boolean, covered?: boolean } = {}): Promise<string[]> {
  const previous = sync.current
  const changed = previous.tag !== next.tag || previous.state !== next.state
  const keep = moves(sync, next, force)
  sync.current = next
  sync.appliedAt = at
  // This tab's requests from now on are newer than the answer applied, whatever the clock says.
  sync.tick = Math.max(sync.tick, at)
  scheduleExpiry(sync)
  if (!changed && !force) return []
  const purged = await sync.host.apply({ previous, next, keep, force, remote: applied, covered, at })
  sync.host.purged([...new Set([...purged, ...elsewhere])], source)
  if (previous.tag !== null && next.tag === null) fireEnd(sync, previous)
  if (changed) sync.events.emit('change', { previous: { ...previous }, current: { ...next }, source })
  return purged
}

/**
 * Applies what this tab learned and tells the other tabs (they then need not ask). A move (a login
 * with keepOnLogin) is told before it runs: the other tabs switch and move with this one, their
 * reads and writes waiting for it, instead of taking the moving records for another session's.
 */
async function adopt(sync: Sync, next: SessionSnapshot, force = false, at = tick(sync)): Promise<void> {
  const early = moves(sync, next, force)
  const tell = (purged: string[]) => sync.host.post({ t: 's', snapshot: next, purged, force, at })
  if (early) tell([])
  const purged = await apply(sync, next, 'local', { force, at })
  if (!early) tell(purged)
}

/** Asks the source. `explicit` (refresh()): failures reject instead of being reported. */
async function check(sync: Sync, explicit: boolean): Promise<void> {
  if (!sync.ask || sync.closed) return
  sync.askedAt = Date.now()
  const asked = tick(sync)
  let next: SessionSnapshot
  try {
    next = await withTimeout(sync.ask, sync.timeout, sync.request = new AbortController())
  } catch (err) {
    sync.failures++
    if (err instanceof Unavailable) sync.unavailable = true
    status(sync, 'failing')
    const error = err instanceof VisitStoreError ? err : syncFailed(err instanceof Error ? err.message : String(err), err)
    // Back-off: 5 s, 10 s, 20 s… up to the interval (at least a minute).
    at(sync, 'poll', Date.now() + Math.min(MIN_GAP * 2 ** (sync.failures - 1), Math.max(sync.interval, 60_000)), () => wanted(sync, sync.answeredAt === 0))
    if (explicit) throw error
    return sync.host.report(error)
  }
  heard(sync)
  status(sync, 'ok')
  if (stale(sync, asked)) return
  try {
    await adopt(sync, next, false, asked)
  } catch (err) {
    if (explicit) throw err
    sync.host.report(err instanceof VisitStoreError ? err : new VisitStoreError('STORAGE_UNAVAILABLE', 'Purging the data of an ended session failed; it is purged at the next start.', { cause: err }))
  }
}

/** An answer arrived (here or from another tab): the user must be active again before the next poll. */
function heard(sync: Sync): void {
  sync.failures = 0
  sync.answeredAt = Date.now()
  sync.active = false
  if (sync.interval > 0) at(sync, 'poll', sync.answeredAt + sync.interval, () => wanted(sync, false))
}

/**
 * An automatic check wants to happen: only after user activity since the last answer (or with
 * keepAlive, or when `must`), and never sooner than MIN_GAP after the previous request.
 */
function wanted(sync: Sync, must: boolean): void {
  if (!must && !sync.active && !sync.o.keepAlive) return
  const earliest = sync.askedAt + MIN_GAP
  if (Date.now() < earliest) return at(sync, 'poll', earliest, () => wanted(sync, must))
  void check(sync, false)
}

function scheduleExpiry(sync: Sync): void {
  for (const name of ['expiring', 'expired']) clearTimeout(sync.timers.get(name))
  const { expiresAt, tag } = sync.current
  if (expiresAt === undefined || tag === null || expiresAt <= Date.now()) return
  const id = `${tag}@${expiresAt}`
  at(sync, 'expiring', expiresAt - (sync.o.expiringBefore ?? 60_000), () => {
    if (sync.expiring !== id && sync.current.tag === tag) sync.events.emit('expiring', { ...sync.current })
    sync.expiring = id
  })
  // At the end, ask before saying so: a rolling session the user kept alive has moved its end.
  // Within the request-rate floor like every automatic request.
  const expired = () => {
    const earliest = sync.askedAt + MIN_GAP
    if (Date.now() < earliest) return at(sync, 'expired', earliest, expired)
    const before = sync.current
    void check(sync, false).then(() => {
      if (sync.current === before || sync.failures) fireEnd(sync, before)
    })
  }
  at(sync, 'expired', expiresAt + 1000, expired)
}

async function start(sync: Sync): Promise<void> {
  await null
  const { host } = sync
  if (/;jsessionid=/i.test(host.env.href() ?? '')) {
    sync.unavailable = true
    status(sync, 'failing')
    host.report(new VisitStoreError('SESSION_SYNC_FAILED', 'The session ID travels in this page\'s URL (";jsessionid="): the browser does not send it ' +
      'with session requests, and links and Referer headers leak it. Track sessions by cookie only (Java: <tracking-mode>COOKIE</tracking-mode> in web.xml).'))
  }
  const saved = await host.load().catch((err: unknown) => {
    // Starting from 'unknown' is safe (nothing is purged until the source answers); say why.
    host.report(new VisitStoreError('STORAGE_UNAVAILABLE', 'The last known session state could not be read; starting from "unknown" until the source answers.', { cause: err }))
  })
  if (saved && sync.current === UNKNOWN) {
    sync.current = saved
    scheduleExpiry(sync)
  }
  if (!sync.ask) return status(sync, 'ok')
  const active = () => {
    sync.active = true
    if (sync.interval > 0 && Date.now() - sync.answeredAt >= sync.interval) wanted(sync, false)
  }
  for (const type of ACTIVITY) sync.stops.push(host.env.listen('window', type, active))
  sync.stops.push(host.env.listen('document', 'visibilitychange', () => wanted(sync, false)), host.env.listen('window', 'online', () => wanted(sync, false)))
  await check(sync, false)
}

/** `store.session`. */
function storeSession(sync: Sync, started: Promise<void>): StoreSession {
  const { o } = sync
  return {
    get tag() { return sync.current.tag },
    get state() { return sync.current.state },
    get expiresAt() { return sync.current.expiresAt },
    on: sync.events.on,
    async refresh() {
      await started
      await check(sync, true)
    },
    async end(opts = {}) {
      // The DELETE is sent in the call (a logout page that navigates away at once: it is a keepalive
      // request, which outlives the page), and the purge does not wait for it: a logout purge never
      // waits for a server. Its failure is answered once the purge is done.
      const deleted = opts.server && 'endpoint' in o ? deleteSession(o.endpoint, o.credentials ?? 'same-origin', sync.timeout) : undefined
      deleted?.catch(() => {})
      await adopt(sync, NONE, true)
      if (!opts.server) return
      if (!deleted) throw invalid('session.end({ server: true }) needs the endpoint source: sessionSync({ endpoint }).')
      await deleted
    },
    async fetch(input, init) {
      const asked = tick(sync)
      const response = await fetch(input, { credentials: 'same-origin', ...init })
      const value = 'header' in o ? response.headers.get(o.header) : null
      if (value !== null && !stale(sync, asked) && ((value || null) !== sync.current.tag || sync.current.state === 'unknown')) {
        heard(sync)
        status(sync, 'ok')
        await adopt(sync, value === '' ? NONE : { tag: value, state: 'active', expiresAt: undefined }, false, asked)
      }
      return response
    },
  }
}
