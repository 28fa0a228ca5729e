import { encodeCookieName } from '../codec.js'
import { nextTask, unref } from '../env.js'
import { storageError, VisitStoreError } from '../errors.js'
import type { KeySpec, KeyTable } from '../keys.js'
import { COMMIT_KEY, ENDED_KEY, MARKER_KEY, STATE_KEY, type Names } from '../names.js'
import { MAX_COOKIE_AGE, type CookieConfig } from '../options.js'
import type { CookieJar, StoreStatus } from '../types.js'

/** RFC 6265bis §5.6: user agents must accept name+value of at least 4096 bytes, and most accept no more. */
export const COOKIE_LIMIT = 4096

/** One cookie to write: the store key, its encoded value (undefined removes it), and its key's rules. */
export interface CookieWrite {
  key: string
  encoded: string | undefined
  spec?: KeySpec | undefined
}

/**
 * The cookie tier: the store's own cookies, read and written synchronously. Writes happen in a
 * section that other tabs' sections wait for (a Web Lock held for a burst of writes, or an
 * IndexedDB transaction where Web Locks are missing), which starts with one fresh read of the
 * jar: budget and undo values come from that view, kept up to date by the writes themselves,
 * instead of a read before and after every write (in Chromium each such read is a synchronous
 * round trip to the network service). A burst ends with one read that catches what the browser
 * dropped silently.
 */
export interface CookieTier {
  /** Whether this page can hold cookies at all. */
  readonly available: boolean
  /** How sections exclude other tabs: `status.locks`. */
  readonly locks: StoreStatus['locks']
  /** The raw value of a store key now; throws `COOKIE_CONFLICT` when two cookies of its name are visible. */
  read(key: string): string | undefined
  /** The raw value of a cookie the store does not own (a script-readable session cookie). */
  readForeign(name: string): string | undefined
  /**
   * The store's cookies (raw values by key) as the browser's cookie store holds them, through the
   * Cookie Store API where there is one: a content process's copy (Firefox, WebKit) can lag, and
   * after two tabs' writes of one cookie cross, keep the value that lost for good.
   */
  authority(): Promise<Map<string, string>>
  /** The store keys that have a cookie now (in a section: in its view): declared keys and families, and the store's own marks. */
  keys(): string[]
  /** Runs `fn` in the cookie section; `current`, `check` and `write` may be called only inside one. */
  section<T>(fn: () => T): Promise<T>
  /** Runs `fn` at once if a burst holds the section now (its lock taken, its view fresh); false when none does. */
  now(fn: () => void): boolean
  /** The raw value of `key` in this section's view. */
  current(key: string): string | undefined
  /** Resolves once the writes made so far reached the browser's cookie store (the end of the current burst). */
  settled(): Promise<void>
  /** Throws what `write` would (sizes, budget, a same-name conflict), writing nothing. */
  check(writes: readonly CookieWrite[]): void
  /** Checks, then writes; all or nothing. */
  write(writes: readonly CookieWrite[]): void
  /** Writes at once, not waiting for the section (an end(): the page may be leaving): in the burst that holds it, else straight to the jar. */
  writeNow(writes: readonly CookieWrite[]): void
}

/** What the tier needs from its store. */
export interface CookieTierOptions {
  jar: () => CookieJar | null
  names: Names
  keys: KeyTable
  config: CookieConfig
  locks: () => LockManager | undefined
  /** Web Locks refused a request (SecurityError). */
  locksRefused: () => void
  /** The Cookie Store API, for a section's view of the jar and its final check (see env.ts). */
  cookieStore: () => CookieStore | undefined
  /**
   * The IndexedDB lock, where Web Locks are missing (undefined when IndexedDB is not usable either):
   * runs `fn` inside a readwrite transaction, with the lock record's value and a way to replace it.
   */
  exclusive: () => (<T>(fn: (value: unknown, save: (value: unknown) => void) => T) => Promise<T>) | undefined
  /** A write the browser dropped after the section's checks passed (found at the end of the burst). */
  dropped(key: string): void
  /** The jar became unreadable (a sandboxed frame), or the lock kind changed. */
  changed(): void
  /** The store was closed: nothing is written on its own from then on. */
  closed(): boolean
}

type Parsed = { all: Map<string, string>, mine: Map<string, string>, twice: Set<string> }

const INTERNAL = [MARKER_KEY, COMMIT_KEY, STATE_KEY, ENDED_KEY]

/**
 * `document.cookie` split as a server and js-cookie's `get()` split it (names URL-decoded, the
 * first of two equal names wins, undecodable names skipped), noting names seen twice: the same
 * name on another path or domain.
 */
export function parseCookies(source: string, prefix: string, owned: (key: string) => boolean): Parsed {
  const parsed: Parsed = { all: new Map(), mine: new Map(), twice: new Set() }
  for (const pair of source ? source.split('; ') : []) {
    const at = pair.indexOf('=')
    let name: string
    try {
      name = decodeURIComponent(at < 0 ? pair : pair.slice(0, at))
    } catch {
      continue
    }
    const key = name.startsWith(prefix) ? name.slice(prefix.length) : undefined
    if (parsed.all.has(name)) {
      if (key !== undefined) parsed.twice.add(key)
      continue
    }
    const raw = at < 0 ? '' : pair.slice(at + 1)
    parsed.all.set(name, raw)
    if (key !== undefined && owned(key)) parsed.mine.set(key, raw)
  }
  return parsed
}

const error = (code: 'COOKIE_CONFLICT' | 'COOKIE_TOO_LARGE' | 'COOKIE_BUDGET_EXCEEDED' | 'STORAGE_UNAVAILABLE', message: string, cause?: unknown) =>
  new VisitStoreError(code, message, cause === undefined ? undefined : { cause })

const unavailable = (cause?: unknown) => error('STORAGE_UNAVAILABLE',
  'cookies are not available here (no document, cookies disabled or blocked, a sandboxed frame, or a server-rendered request). ' +
  'Server-visible values need cookies; check store.status.cookies.', cause)

/**
 * Cookie lines as the store writes them: names encoded once per key, attributes built once per
 * store. The store's own marks are read on every page of the host: Path=/, host-only.
 */
export function cookieLines(o: Pick<CookieTierOptions, 'config'>, prefix: string) {
  const { path, sameSite, domain, secure } = o.config
  const tail = `; SameSite=${sameSite}${secure ? '; Secure' : ''}`
  const base = `; Path=${path}${domain ? `; Domain=${domain}` : ''}${tail}`
  const internal = `; Path=/${tail}`
  const names = new Map<string, string>()
  const name = (key: string): string => {
    let encoded = names.get(key)
    if (encoded === undefined) {
      try {
        names.set(key, (encoded = encodeCookieName(prefix + key)))
      } catch (err) {
        throw new VisitStoreError('NOT_SERIALIZABLE', `set("${key}"): the key cannot be a cookie name (it holds a lone surrogate). Use another key.`, { cause: err })
      }
    }
    return encoded
  }
  /** The attributes that decide whether a browser keeps a cookie at all (one probe each). */
  const attributes = (key: string) => (INTERNAL.includes(key) ? internal : base)
  const line = (w: CookieWrite) => `${name(w.key)}=${w.encoded ?? ''}${attributes(w.key)}${w.encoded === undefined ? '; Expires=Thu, 01 Jan 1970 00:00:00 GMT'
    : w.key === COMMIT_KEY ? `; Max-Age=${MAX_COOKIE_AGE}` : w.spec?.maxAge ? `; Max-Age=${w.spec.maxAge}` : ''}`
  return { name, attributes, line }
}

/** Reads the jar: `look()` through `document.cookie` (parsed again only when its string changed), `authority()` through the Cookie Store API where there is one. */
function createReader(o: CookieTierOptions, prefix: string) {
  const owned = (key: string) => INTERNAL.includes(key) || o.keys.find(key) !== undefined
  const r = { jar: undefined as CookieJar | null | undefined, seen: undefined as string | undefined, parsed: parseCookies('', '', () => false) }
  const jar = () => (r.jar === undefined ? (r.jar = o.jar()) : r.jar)
  const lost = (cause?: unknown) => {
    r.jar = null
    o.changed()
    return unavailable(cause)
  }
  // This tab's writes of the last OWN_MS, key → [its last value (undefined: removed), the values it
  // replaced, when]. WebKit's copy of the jar can show, for a moment, a value of the page's from
  // before it removed the cookie (a late notice of an earlier write): a read right after clear() or
  // delete() would see the cookie back. A copy showing one of those values after a removal reads as
  // missing; the same value set again by someone else in that time, too, for as long. A set is not
  // read over the copy: a write the browser dropped must show (tiers/cookie.ts write, end).
  const own = new Map<string, [last: string | undefined, earlier: Set<string>, at: number]>()
  const hide = (p: Parsed): Parsed => {
    let mine = p.mine
    const now = performance.now()
    for (const [key, [last, earlier, at]] of own) {
      const shown = mine.get(key)
      if (now - at >= OWN_MS) own.delete(key)
      else if (last === undefined && shown !== undefined && earlier.has(shown)) (mine = mine === p.mine ? new Map(mine) : mine).delete(key)
    }
    return mine === p.mine ? p : { ...p, mine }
  }
  const look = (): Parsed => {
    let source = ''
    try {
      source = jar()?.read() ?? ''
    } catch {
      lost() // document.cookie throws SecurityError in a sandboxed frame
    }
    if (source !== r.seen) r.parsed = parseCookies((r.seen = source), prefix, owned)
    return own.size ? hide(r.parsed) : r.parsed
  }
  /** Notes a write of this tab's (see own): `encoded` replaced `was`. */
  const wrote = (key: string, encoded: string | undefined, was: string | undefined) => {
    const at = performance.now()
    const entry = own.get(key)
    const earlier = entry && at - entry[2] < OWN_MS ? entry[1] : new Set<string>()
    // Newest last (a Set keeps insertion order); when full, the oldest go, never the values just replaced.
    for (const value of [was, entry?.[0]]) {
      if (value === undefined) continue
      earlier.delete(value)
      earlier.add(value)
    }
    while (earlier.size > CHAIN) earlier.delete(earlier.values().next().value as string)
    own.set(key, [encoded, earlier, at])
  }
  /** The jar as the browser's cookie store holds it, where a content process's copy may lag (Firefox, WebKit). */
  const authority = async (): Promise<Map<string, string>> => {
    const api = o.cookieStore()
    try {
      if (api) return parseCookies((await api.getAll()).map((c) => `${c.name}=${c.value}`).join('; '), prefix, owned).mine
    } catch {
      // Refused (an opaque origin): document.cookie is all there is.
    }
    return look().mine
  }
  return { jar, lost, look, authority, wrote, parsed: () => r.parsed }
}

/**
 * What the IndexedDB lock keeps of each cookie the last sections wrote: [value, short hashes of
 * the values it replaced, when, the browser-session marker]. A jar showing one of the
 * replaced values lags behind (a content process's copy, Firefox and WebKit): the section takes
 * the value instead. A copy may lag by many writes (another tab wrote a burst while this one was
 * idle), so every value of the chain is kept while writes go on, as a hash (values may be 4 KB).
 * A value outside the chain, an entry older than SHADOW_MS (or dated as far ahead: the clock went
 * back), or one from another browser session (the marker differs: a restart) is a real change (a
 * cookie cleared, a write a killed browser lost) and the jar wins.
 */
type Shadow = Record<string, [value: string | null, replaced: string[], at: number, session: string | undefined]>
const SHADOW_MS = 2000
/** How long this tab reads its last write of a cookie over a copy of the jar that shows an earlier one (createReader). */
const OWN_MS = 1000
/** How many replaced values an entry keeps: the most writes a lagging copy is caught up over. */
const CHAIN = 256

/** Whether a shadow entry written at `at` no longer counts: SHADOW_MS old, or as far ahead (a clock that went back must not keep it for hours). */
const stale = (at: number) => Math.abs(Date.now() - at) >= SHADOW_MS

/** When this page began (ms since the epoch, as Date.now()); Infinity where unknown. */
function pageStart(): number {
  try {
    return typeof performance.timeOrigin === 'number' ? performance.timeOrigin : Infinity
  } catch {
    return Infinity
  }
}

/** A value's short hash (FNV-1a, 32 bits); null (no cookie) has its own. */
function hashOf(value: string | null): string {
  if (value === null) return '-'
  let h = 0x811c9dc5
  for (let i = 0; i < value.length; i++) h = Math.imul(h ^ value.charCodeAt(i), 0x01000193)
  return (h >>> 0).toString(36)
}

/**
 * A section's view of the jar and its end. Under Web Locks the view comes from the browser's
 * cookie store, and the end waits until the store holds the section's writes (or reports them
 * dropped). Under the IndexedDB lock there is no Cookie Store API (insecure origins), so the lock's
 * record carries the shadow: the values the last sections wrote, which a lagging `document.cookie`
 * (WebKit, Firefox) may not show yet.
 */
function createView(o: CookieTierOptions, reader: ReturnType<typeof createReader>, rewrite: (key: string, raw: string | undefined) => void) {
  // bytes: the name+value bytes of `map`'s cookies, kept by the writes (undefined: not counted yet).
  // shadowed: the section runs under the IndexedDB lock (its record's shadow, no Cookie Store API).
  const v = { map: undefined as Map<string, string> | undefined, bytes: undefined as number | undefined, before: new Map<string, string>(), written: new Map<string, string | undefined>(), compared: false, shadowed: false }
  const begin = async (shadow?: Shadow) => {
    v.shadowed = !!shadow
    const map = new Map(shadow ? reader.look().mine : await reader.authority())
    // A content process's copy (Firefox) can miss a value the browser's cookie store holds, and
    // for good: a write made as the page before this one went away. At the first section (then
    // this tier has written nothing the copy could show ahead of the store) the copy is brought to
    // it; later sections do not pay for another document.cookie read (a round trip in Chromium).
    if (!shadow && !v.compared) {
      v.compared = true
      const copy = reader.look()
      for (const key of new Set([...map.keys(), ...copy.mine.keys()])) if (copy.mine.get(key) !== map.get(key) && !copy.twice.has(key)) rewrite(key, map.get(key))
    }
    // The marker first, the other entries are judged against the browser session it names.
    const entries = Object.entries(shadow ?? {}).sort(([a], [b]) => Number(b === MARKER_KEY) - Number(a === MARKER_KEY))
    for (const [key, [value, replaced, at, session]] of entries) {
      const seen = map.get(key) ?? null
      // A copy may not show the marker another tab just agreed on either: written since this page
      // began, it is this browser session's (a browser restarted since has no page that old).
      const sameSession = key === MARKER_KEY ? at >= pageStart() : session === map.get(MARKER_KEY)
      if (!sameSession || stale(at) || seen === value || !Array.isArray(replaced) || !replaced.includes(hashOf(seen))) continue
      if (value === null) map.delete(key)
      else map.set(key, value)
    }
    v.before = new Map(map)
    v.map = map
    v.bytes = undefined
  }
  const end = async (shadow?: Shadow, save?: (next: Shadow) => void) => {
    // A document.cookie read first: in Chromium it waits for this tab's pending writes to reach the
    // network service (they are sent asynchronously, and another tab's writes must not overtake
    // them once the lock is released: that would lose updates). Then, where a content process's copy
    // answers document.cookie (Firefox, WebKit), the browser's cookie store is asked, again if
    // needed, before anything is called dropped.
    // Asking again only helps a write this page's own copy shows and the store does not yet: one
    // the copy does not show either (dropped, or changed since by a script or a response) is
    // settled at once, and the lock is not held for the retries' 75 ms. The retries yield a task,
    // not a timer: a hidden tab's timers are throttled to a second or more, with the lock held.
    if (v.written.size) reader.look()
    const lost: string[] = []
    const until = performance.now() + 75
    for (let tries = 0; v.written.size && tries < 500 && (!tries || performance.now() < until); tries++) {
      if (tries) await nextTask()
      const held = save ? undefined : await reader.authority()
      const local = reader.look().mine
      const now = held ?? local
      for (const [key, expected] of v.written) {
        if (now.get(key) !== expected && local.get(key) === expected) continue
        if (now.get(key) !== expected) lost.push(key)
        v.written.delete(key)
      }
      if (save) break
    }
    if (save) save(nextShadow(shadow ?? {}, v))
    for (const key of [...lost, ...v.written.keys()]) o.dropped(key)
    v.written.clear()
    v.map = undefined
  }
  return { v, begin, end }
}

/** The shadow after a section: its own writes added, entries older than SHADOW_MS dropped. */
function nextShadow(shadow: Shadow, v: { before: Map<string, string>, map?: Map<string, string> | undefined }): Shadow {
  const now = Date.now()
  const session = v.map?.get(MARKER_KEY)
  const next: Shadow = Object.create(null) as Shadow
  for (const [key, entry] of Object.entries(shadow)) if (!stale(entry[2])) next[key] = entry
  const add = (key: string, value: string | null) => {
    const was = v.before.get(key) ?? null
    const last = next[key]
    // The chain goes on while this section started from its last value; otherwise the jar showed a real change.
    const [current, previous] = [hashOf(value), hashOf(was)]
    const chain = last && last[0] === was && last[3] === session && Array.isArray(last[1]) ? last[1].filter((r) => r !== current && r !== previous) : []
    next[key] = [value, [...chain, previous].slice(-CHAIN), now, session]
  }
  for (const [key, value] of v.map ?? []) if (v.before.get(key) !== value) add(key, value)
  for (const key of v.before.keys()) if (!v.map?.has(key)) add(key, null)
  return next
}

/**
 * Without the Cookie Store API (the IndexedDB lock), a Firefox tab's copy can take an older value
 * after a burst of two tabs' writes to one cookie (a late notice of the other tab's earlier write)
 * and keep it for good, while the browser holds the latest. Half a second after this tab's last
 * write, the keys it wrote are brought to the lock's view (whose record names the latest values),
 * under the lock. Returns what a write calls.
 */
function repairs(o: CookieTierOptions, copy: () => Map<string, string>, v: { map?: Map<string, string> | undefined }, run: <T>(fn: () => T) => Promise<T>, rewrite: (key: string, raw: string | undefined) => void) {
  let wrote = new Set<string>()
  let later: ReturnType<typeof setTimeout> | undefined
  return (key: string) => {
    wrote.add(key)
    clearTimeout(later)
    later = unref(setTimeout(() => {
      const keys = wrote
      wrote = new Set()
      if (!o.closed()) {
        run(() => {
          const seen = copy()
          for (const key of keys) if (seen.get(key) !== v.map?.get(key)) rewrite(key, v.map?.get(key))
        }).catch(() => {})
      }
    }, 500))
  }
}

/** Creates the cookie tier for a store. Nothing touches the jar until the first call. */
export function createCookieTier(o: CookieTierOptions): CookieTier {
  const prefix = o.names.cookie('')
  const lines = cookieLines(o, prefix)
  const reader = createReader(o, prefix)
  const rewrite = (key: string, raw: string | undefined) => {
    try {
      const was = reader.look().mine.get(key)
      ;(reader.jar() as CookieJar).write(lines.line({ key, encoded: raw, spec: o.keys.find(key) }))
      reader.wrote(key, raw, was)
    } catch {
      // A help for reads, not a write anyone asked for: a jar that refuses it changes nothing.
    }
  }
  const { v, begin, end } = createView(o, reader, rewrite)
  const section = createSection(o, begin, end)
  const repairLater = repairs(o, () => reader.look().mine, v, section.run, rewrite)
  const probed = new Set<string>()
  const check = (writes: readonly CookieWrite[]) => {
    // In a section the view's total is counted once and kept by put(): a burst of writes costs
    // what it writes, not what the jar holds.
    if (v.map && v.bytes === undefined) v.bytes = viewBytes(v.map, lines.name)
    checkWrites(writes, v.map ?? reader.look().mine, reader.parsed().twice, lines.name, o.config.budget, reader.jar() !== null, v.map && v.bytes)
  }
  const put = (w: CookieWrite, view: Map<string, string>) => {
    try {
      (reader.jar() as CookieJar).write(lines.line(w))
    } catch (err) {
      // A read-only jar (a server-rendered request) says so itself; anything else means no cookies here.
      throw err instanceof VisitStoreError ? err : reader.lost(err)
    }
    if (view === v.map && v.bytes !== undefined) v.bytes += bytesOf(lines.name, w.key, w.encoded) - bytesOf(lines.name, w.key, view.get(w.key))
    reader.wrote(w.key, w.encoded, view.get(w.key))
    if (w.encoded === undefined) view.delete(w.key)
    else view.set(w.key, w.encoded)
    v.written.set(w.key, w.encoded)
    if (v.shadowed) repairLater(w.key)
  }
  return {
    get available() { return reader.jar() !== null },
    get locks() { return section.kind() },
    read(key) {
      const now = reader.look()
      if (now.twice.has(key)) throw conflict(key, prefix)
      return now.mine.get(key)
    },
    readForeign: (name) => reader.look().all.get(name),
    authority: () => reader.authority(),
    keys: () => [...(v.map ?? reader.look().mine).keys()],
    section: (fn) => (reader.jar() ? section.run(fn) : Promise.reject(unavailable())),
    now: (fn) => section.now(fn),
    current: (key) => v.map?.get(key),
    settled: () => section.settled(),
    check,
    writeNow(writes) {
      const all = writes.map((w) => ({ ...w, spec: o.keys.find(w.key) }))
      if (!section.now(() => { for (const w of all) put(w, v.map as Map<string, string>) })) for (const w of all) rewrite(w.key, w.encoded)
    },
    write(writes) {
      const view = v.map as Map<string, string>
      check(writes)
      const unprobed = writes.filter((w) => w.encoded !== undefined && !probed.has(lines.attributes(w.key)))
      // What puts the old values back: only a write with a probe can need it.
      const previous = unprobed.length ? writes.map((w): CookieWrite => ({ ...w, encoded: view.get(w.key) })) : []
      for (const w of writes) put(w, view)
      if (!unprobed.length) return
      // The first write with each attribute set is read back at once: blocked cookies, a
      // third-party frame or a public-suffix Domain drop them all, and the write must say so.
      const now = reader.look().mine
      const dropped = unprobed.find((w) => now.get(w.key) !== w.encoded)
      if (!dropped) return void unprobed.forEach((w) => probed.add(lines.attributes(w.key)))
      for (const w of previous) put(w, view)
      for (const w of writes) v.written.delete(w.key)
      if (INTERNAL.includes(dropped.key)) throw reader.lost()
      throw error('STORAGE_UNAVAILABLE', `set("${dropped.key}"): the browser did not keep the cookie (cookies blocked for this site or frame, or its Domain is not allowed here). The previous value is kept.`)
    },
  }
}

function conflict(key: string, prefix: string): VisitStoreError {
  return error('COOKIE_CONFLICT', `"${key}": two cookies named ${prefix}${key} are visible here (one set for another path or domain, e.g. by the server). ` +
    'visitstore will not guess which is its own. Remove the other one (Set-Cookie with its Path and Domain and Max-Age=0).')
}

/** A cookie's name+value bytes, what counts against the budget; 0 for no cookie. */
const bytesOf = (name: (key: string) => string, key: string, raw: string | undefined): number => (raw === undefined ? 0 : name(key).length + raw.length)

/** The name+value bytes of all of a view's cookies. */
function viewBytes(view: Map<string, string>, name: (key: string) => string): number {
  let total = 0
  for (const [key, raw] of view) total += bytesOf(name, key, raw)
  return total
}

/**
 * Throws when `writes` cannot be written over `view`: a same-name conflict, a cookie over 4096
 * bytes, the budget. `counted`: the view's total when the caller keeps it (else counted here).
 */
export function checkWrites(writes: readonly CookieWrite[], view: Map<string, string>, twice: Set<string>, name: (key: string) => string, budget: number, available: boolean, counted?: number): void {
  if (!available) throw unavailable()
  let total = counted ?? viewBytes(view, name)
  writes.forEach(({ key, encoded }, i) => {
    if (twice.has(key)) throw conflict(key, name(''))
    const bytes = bytesOf(name, key, encoded)
    if (bytes > COOKIE_LIMIT) {
      throw error('COOKIE_TOO_LARGE', `set("${key}"): the cookie would take ${bytes} bytes of name+value; browsers keep at most ${COOKIE_LIMIT}. ` +
        'Store less, or drop serverVisible to keep it in IndexedDB.')
    }
    // The last write of a key wins (no Map: a loop of sets should make little garbage).
    if (!writes.some((w, j) => j > i && w.key === key)) total += bytes - bytesOf(name, key, view.get(key))
  })
  if (total > budget && writes.some((w) => w.encoded !== undefined)) {
    throw error('COOKIE_BUDGET_EXCEEDED', `set("${writes.map((w) => w.key).join('", "')}"): the store's cookies would take ${total} bytes, over its budget of ${budget}. ` +
      'Every cookie travels with every request; delete some, store less, or raise cookie.budget.')
  }
}

/**
 * The cross-tab section around cookie writes. With Web Locks, one lock is held for a burst: the
 * writes made before the next task (a loop of awaited sets) share one acquisition, one fresh view
 * and one check at the end, and the lock is released only once the browser's cookie store holds
 * them. Without Web Locks, each section is an IndexedDB readwrite transaction (serialised across
 * tabs by the browser) around synchronous work, whose record carries the shadow (createView), or,
 * when IndexedDB is not usable either, this tab only.
 */
function createSection(o: CookieTierOptions, begin: (shadow?: Shadow) => Promise<void>, end: (shadow?: Shadow, save?: (next: Shadow) => void) => Promise<void>) {
  const s = { open: false, held: undefined as Promise<void> | undefined, ended: Promise.resolve() }
  const kind = (): StoreStatus['locks'] => (o.locks() ? 'web-locks' : o.exclusive() ? 'indexeddb' : 'none')
  const acquire = (locks: LockManager) => new Promise<void>((granted) => {
    locks.request(o.names.lock('cookies'), async () => {
      await begin()
      let ended = () => {}
      s.ended = new Promise((resolve) => { ended = resolve })
      s.open = true
      granted()
      await nextTask()
      // Callers from here on queue for the next burst; this one's writes are checked first.
      s.open = false
      s.held = undefined
      await end().finally(ended)
    }).catch(() => {
      // Web Locks refuse third-party and opaque-origin frames (SecurityError): take the next kind.
      o.locksRefused()
      o.changed()
      granted()
    })
  })
  /** A section made of synchronous work (begin and end do not wait when given a shadow). */
  const alone = <T>(fn: () => T, shadow: Shadow, save?: (next: Shadow) => void): T => {
    void begin(shadow)
    try {
      return fn()
    } finally {
      void end(shadow, save ?? (() => {}))
    }
  }
  const run = async <T>(fn: () => T): Promise<T> => {
    for (let locks = o.locks(); locks; locks = o.locks()) {
      await (s.held ??= acquire(locks))
      if (s.open) return fn()
    }
    const exclusive = o.exclusive()
    if (!exclusive) return alone(fn, {})
    // fn's own errors (an update's fn, a size check) come back as they are; the lock's are coded.
    // Once fn ran, its cookies are written: a transaction failing after that (saving the shadow)
    // does not make the writes undone, so the section still answers with fn's result.
    const outcome: { error?: unknown, ran?: boolean, value?: T } = {}
    return exclusive((shadow, save) => {
      outcome.value = alone(() => {
        try {
          return fn()
        } catch (error) {
          throw (outcome.error = error)
        }
      }, (shadow ?? {}) as Shadow, save)
      outcome.ran = true
      return outcome.value
    }).catch((err: unknown) => {
      if (outcome.ran) return outcome.value as T
      throw 'error' in outcome ? outcome.error : storageError(err, 'taking the cookie lock (an IndexedDB transaction)')
    })
  }
  /** Runs `fn` at once inside the burst that is open now, if one is; whether it ran. */
  const now = (fn: () => void): boolean => s.open && (fn(), true)
  /** Resolves once the current burst has ended: its writes reached the browser's cookie store (or were reported dropped). */
  const settled = () => s.ended
  return { kind, run, now, settled }
}
