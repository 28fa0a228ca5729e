import { storageError } from '../errors.js'
import { declaredAs } from '../keys.js'
import { COMMIT_KEY } from '../names.js'
import type { StoredRecord } from '../records.js'
import type { ClientTier } from '../tiers/client.js'
import type { CookieWrite } from '../tiers/cookie.js'
import type { Lifetime } from '../types.js'
import { unref } from '../env.js'
import { report, writeInSection, type StoreContext } from './context.js'

// A batch across cookies and IndexedDB must be all or nothing after a crash too. Order:
// 1. the IndexedDB part and a journal entry (the batch's cookie values, and the values they
//    replace) commit in one transaction: from here on the batch has happened;
// 2. the cookies are written, with the commit mark `<name>_$c` = the entry's number last.
// A page gone between 1 and 2 (navigation, a closed tab) leaves the cookies behind; so does a
// killed browser, which persists cookie writes late (Chromium every 30 s) and in order. At the
// next start the journal entries after the mark are replayed, per cookie: a cookie still showing
// a value of that batch chain (lost writes) is brought to the batch's; a cookie holding anything
// else was written after the batch by someone else, and is left alone.
// The mark only goes up, so it must not pass a batch whose cookies were never written: a tab gone
// between its commit and its cookies, while another tab's later batch writes its mark. So a batch
// first writes, the same way, the cookies of the entries between the mark and its own number.
// And a batch that finds the mark already past its number (a later batch got the lock first) leaves
// the later batches' keys to them: batches take effect in their commit order in both tiers.

const JOURNAL = '$j:'
/**
 * [durable, probe, at]: the newest commit mark known to be on the browser's disk, and a mark
 * written to the jar at `at` that becomes durable DURABLE_MS later. A mark cookie someone removed
 * (the user, a `Clear-Site-Data: "cookies"` response, a consent tool) must not make the journal
 * write again batches whose cookies were written, which would bring back cookies removed on
 * purpose or put an older value over a later write; but a killed browser loses its last cookie
 * writes, mark included, and those batches must be replayed. A write is on disk DURABLE_MS after
 * it was made if the browser lived on: a note made that much later proves it. A note is made only
 * after the replay of the page that makes it, which writes again whatever the last run lost.
 */
const WRITTEN = '$j'
/** Chromium writes its cookie store every 30 s; Firefox and WebKit within moments (a SIGKILL still loses the last writes: browser rc). */
const DURABLE_MS = 35_000
type Written = [durable: number, probe: number, at: number]
/** In an entry of a clear(): [CLEAR, the lifetime cleared ('' for all), null]; its other items are the cookies it removed. */
const CLEAR = '$clear'
const SEQ = '$seq'
/** Journal entries kept: a browser killed with more cross-tier batches than this unpersisted cannot be replayed in full. */
const KEEP = 1000
const entryKey = (id: number) => JOURNAL + id.toString(36).padStart(8, '0')

/** A cross-tier batch: its cookie writes and its IndexedDB part. */
export interface BatchParts { cookies: CookieWrite[], puts: StoredRecord[], dels: string[] }

/** One journal entry's cookies: [key, value written (null: removed), value replaced]. */
type JournalCookies = [key: string, value: string | null, replaced: string | null][]

/**
 * Commits a batch across cookies and IndexedDB (see above). `puts`/`dels` are the IndexedDB part.
 * A cookie the browser then refuses undoes the IndexedDB part exactly, and the batch rejects.
 * `live()`: the parts again, less what a session purge since the call took back (store/write.ts
 * dropPurged), asked right before each part is handed on.
 */
export async function commitAcrossTiers(ctx: StoreContext, { cookies, puts, dels }: BatchParts, live: () => BatchParts): Promise<void> {
  // Checked first, so that a cookie over the limit or the budget writes nothing anywhere.
  const { replaced, mark } = await ctx.cookies.section(() => {
    ctx.cookies.check(cookies)
    return { replaced: new Map(cookies.map((w) => [w.key, ctx.cookies.current(w.key) ?? null])), mark: markOf(ctx) }
  })
  ;({ cookies, puts, dels } = live())
  const entry: JournalCookies = cookies.map((w) => [w.key, w.encoded ?? null, replaced.get(w.key) ?? null])
  const { id, previous, earlier } = await commitRecords(ctx.client, puts, dels, entry, mark).catch((err: unknown) => {
    throw storageError(err, `setMany("${[...cookies.map((w) => w.key), ...puts.map((r) => r.p), ...dels].join('", "')}") in IndexedDB`)
  })
  try {
    await writeInOrder(ctx, id, earlier, cookies, () => live().cookies)
  } catch (err) {
    await undoRecords(ctx.client, [...puts.map((r) => r.p), ...dels], puts.length, previous, id)
      .catch((undoErr: unknown) => report(ctx, undoErr, 'Undoing the IndexedDB part of a failed batch failed; its values may be visible without its cookies.'))
    throw err
  }
}

/**
 * The cookie part of journal entry `id`, `own()` (asked inside the section), in commit order:
 * later entries whose cookies were written first (the mark passed this one while it waited for
 * the lock) win the keys they wrote, or cleared, as they won them in IndexedDB: their entries are
 * read (outside the lock) and their keys left alone, else the end state would mix two batches.
 * Resolves to the writes of `own()` made.
 */
async function writeInOrder(ctx: StoreContext, id: number, earlier: readonly { id: number, v: JournalCookies }[], skip: readonly CookieWrite[], own: () => CookieWrite[]): Promise<CookieWrite[]> {
  const later = new Set<string>()
  const clears = new Set<string>()
  const left = (key: string) => later.has(key) || [...clears].some((lifetime) => covered(ctx, lifetime, key))
  let written: CookieWrite[] = []
  let mark = 0
  for (let seen = id; ;) {
    const ahead = await ctx.cookies.section(() => {
      const now = markOf(ctx)
      if (now > seen) return now
      // Earlier entries not yet under the mark: gone, or still waiting for this lock (then they
      // write the same values again). Their writes are the replay's, minus the keys this one writes.
      let marked: CookieWrite[] = [{ key: COMMIT_KEY, encoded: Math.max(now, id).toString(36) }]
      try {
        ctx.cookies.write(catchUp(ctx, earlier.filter((e) => e.id > now), skip))
      } catch (err) {
        marked = []
        report(ctx, err, 'An earlier batch\'s cookies could not be written; the next start replays it.')
      }
      written = own().filter((w) => !left(w.key))
      writeInSection(ctx, [...written, ...marked])
      if (marked.length) mark = Math.max(now, id)
      return 0
    })
    if (!ahead) {
      noteWritten(ctx, mark)
      return written
    }
    // Unreadable (or pruned) entries leave their keys to this one: a mix, but nothing lost.
    const entries = (await ctx.client.range(entryKey(seen + 1), entryKey(ahead + 1)).catch(() => [])) as { v: JournalCookies }[]
    for (const { v } of entries) {
      for (const [key, value] of v) {
        if (key === CLEAR) clears.add(value ?? '')
        else later.add(key)
      }
    }
    seen = ahead
  }
}

/** Whether a clear of `lifetime` ('' for all, as its entry holds it) covers the cookie of `key`. */
const covered = (ctx: StoreContext, lifetime: string, key: string) => declaredAs(ctx.keys, key, 'cookie', (lifetime || undefined) as Lifetime | undefined)

/**
 * `clear()` of cookies and IndexedDB records as a journal entry, in commit order with the
 * cross-tier batches of every tab: the records of `ranges` go in the entry's transaction, the
 * cookies the clear covers after it. A batch committed before it ends wholly cleared (its cookie
 * writes still to come leave those keys), one committed after stays whole; a clear cut off between
 * the two tiers is finished by the next batch or start. Resolves to the cookie keys removed.
 */
export async function clearAcrossTiers(ctx: StoreContext, lifetime: string, ranges: readonly [string, string | undefined][]): Promise<string[]> {
  const covers = (key: string) => covered(ctx, lifetime, key)
  const { entry, mark } = await ctx.cookies.section(() => ({
    entry: [[CLEAR, lifetime, null], ...ctx.cookies.keys().filter(covers).map((key): JournalCookies[number] => [key, null, ctx.cookies.current(key) ?? null])] as JournalCookies,
    mark: markOf(ctx),
  }))
  const { id, earlier } = await commitRecords(ctx.client, [], [], entry, mark, ranges).catch((err: unknown) => {
    throw storageError(err, 'clear() in IndexedDB')
  })
  const removed = await writeInOrder(ctx, id, earlier, [], () => ctx.cookies.keys().filter(covers).map((key) => ({ key, encoded: undefined })))
  return removed.map((w) => w.key)
}

/** The commit mark: the number of the newest batch whose cookies, and all earlier ones', were written. */
const markOf = (ctx: StoreContext) => markIn(ctx.cookies.current(COMMIT_KEY))
/** A mark cookie's value (or an entry's number) as a number; 0 for none. */
const markIn = (raw: string | undefined) => parseInt(raw ?? '', 36) || 0
const idOf = (entry: { p: string }) => markIn(entry.p.slice(JOURNAL.length))

/**
 * The IndexedDB part and the journal entry in one transaction; the records replaced come back for
 * an undo, and the entries between `mark` and this one (at most KEEP) for catching up.
 */
function commitRecords(client: ClientTier, puts: StoredRecord[], dels: string[], entry: JournalCookies, mark: number, ranges: readonly [string, string | undefined][] = []) {
  type Committed = { id: number, previous: unknown[], earlier: { id: number, v: JournalCookies }[] }
  return client.run<Committed>('readwrite', (tx, done) => tx.get(SEQ, (seq) => tx.get(WRITTEN, (was) => {
    const id = ((seq as { v?: number } | undefined)?.v ?? 0) + 1
    const earlier: Committed['earlier'] = []
    // Entries up to a mark once written had their cookies written: a mark cookie removed since does not bring them back.
    for (let n = Math.max(mark, writtenOf(was)[0], id - KEEP) + 1; n < id; n++) tx.get(entryKey(n), (raw) => { if (raw) earlier.push({ id: n, v: (raw as { v: JournalCookies }).v }) })
    const keys = [...puts.map((r) => r.p), ...dels]
    const previous = new Array<unknown>(keys.length)
    // Requests run in order: each get sees the record before this batch's put or delete.
    keys.forEach((key, i) => tx.get(key, (raw) => { previous[i] = raw }))
    for (const [from, to] of ranges) tx.deleteRange(from, to)
    for (const record of puts) tx.put({ ...record, j: id })
    for (const key of dels) tx.delete(key)
    tx.put({ p: SEQ, v: id })
    tx.put({ p: entryKey(id), v: entry })
    tx.delete(entryKey(id - KEEP))
    done({ id, previous, earlier })
  })))
}

const writtenOf = (raw: unknown): Written => (raw as { v?: Written } | undefined)?.v ?? [0, 0, 0]
/** When the probe this tab knows of was written, while it waits: its timer is armed. */
const probes = new WeakMap<StoreContext, number>()

/**
 * Notes in IndexedDB (WRITTEN), in the background, that mark `mark` (0: none) was just written to
 * the jar: it becomes the probe if there is none; a probe written DURABLE_MS ago becomes durable.
 * While a probe waits, a timer notes again then, with the mark the jar holds, and notes before
 * that are skipped (they would change nothing). A note lost only means more to replay.
 */
function noteWritten(ctx: StoreContext, mark: number): void {
  const since = probes.get(ctx)
  if (ctx.client.mode !== 'indexeddb' || (since !== undefined && Date.now() >= since && Date.now() - since < DURABLE_MS)) return
  ctx.client.run<number>('readwrite', (tx, done) => tx.get(WRITTEN, (raw) => {
    let [durable, probe, at] = writtenOf(raw)
    const now = Date.now()
    // A clock that went back proves nothing: the probe starts again.
    if (probe && (now - at >= DURABLE_MS || now < at)) {
      if (now >= at) durable = Math.max(durable, probe)
      probe = 0
    }
    if (!probe && mark > durable) [probe, at] = [mark, now]
    tx.put({ p: WRITTEN, v: [durable, probe, at] })
    done(probe && at)
  })).then((at) => {
    const armed = probes.has(ctx)
    if (!at) return probes.delete(ctx)
    probes.set(ctx, at)
    if (!armed) {
      unref(setTimeout(() => {
        probes.delete(ctx)
        if (!ctx.closed) noteWritten(ctx, markNow(ctx))
      }, DURABLE_MS + 1000))
    }
  }, () => {})
}

/** The mark in the jar now (outside a section); 0 when unreadable. */
function markNow(ctx: StoreContext): number {
  try {
    return markIn(ctx.cookies.read(COMMIT_KEY))
  } catch {
    return 0
  }
}

/** Puts back what the batch replaced, where the record is still the batch's: another tab's write since stays. */
function undoRecords(client: ClientTier, keys: string[], put: number, previous: unknown[], id: number): Promise<void> {
  return client.run('readwrite', (tx, done) => {
    keys.forEach((key, i) => tx.get(key, (raw) => {
      if (i < put ? (raw as StoredRecord | undefined)?.j !== id : raw !== undefined) return
      if (previous[i] === undefined) tx.delete(key)
      else tx.put(previous[i] as StoredRecord)
    }))
    tx.delete(entryKey(id))
    done(undefined)
  })
}

/**
 * Replays the journal at start-up (see above). `fresh`: this tab began the browser session, so
 * the commit mark it read came from disk: entries up to it are durable and are pruned, and the
 * session cookies of the entries after it ended with the browser session they were written in.
 */
export async function replayJournal(ctx: StoreContext, fresh: boolean): Promise<void> {
  if (!ctx.cookies.available || ctx.client.mode !== 'indexeddb') return
  const entries = await ctx.client.range(WRITTEN, '$j;')
  if (!entries.some((e) => e.p !== WRITTEN)) return
  const [mark] = await catchUpAll(ctx, entries, fresh, () => 0)
  if (fresh && mark > 0) await ctx.client.deleteRange(JOURNAL, entryKey(mark + 1))
}

/**
 * Runs `purge`, a removal of session cookies, in a cookie section that first writes the cookies
 * of every batch committed before it (a tab gone halfway) and moves the mark past them: theirs go
 * with the purge, as if written and then purged, and no replay brings one back in a later session.
 */
export async function purgeInOrder(ctx: StoreContext, purge: () => string[]): Promise<string[]> {
  const journaled = ctx.client.mode === 'indexeddb' && ctx.keys.specs.some((s) => s.tier === 'indexeddb')
  // Where the journal cannot be read, the purge runs alone (a later replay may then write those cookies).
  const entries = journaled ? await ctx.client.range(WRITTEN, '$j;').catch(() => []) : []
  return (await catchUpAll(ctx, entries, false, purge))[1]
}

/**
 * In a cookie section: the cookie writes of the journal entries (`records`: WRITTEN and the
 * entries) after the mark (the jar's, or the durable one if higher: catchUp), the mark moved to
 * the newest, then `then`. Resolves to the mark found and what `then` gave. `ended`: the browser
 * session of the entries ended (a restart), and their session cookies with it: those are not written.
 */
async function catchUpAll<T>(ctx: StoreContext, records: { p: string }[], ended: boolean, then: () => T): Promise<[mark: number, T]> {
  const alive = (key: string) => !ended || key === CLEAR || ctx.keys.find(key)?.lifetime !== 'session'
  const [durable, probe] = writtenOf(records.find((e) => e.p === WRITTEN))
  const [mark, jar, value] = await ctx.cookies.section(() => {
    const mark = Math.max(markOf(ctx), durable)
    const pending = (records as { p: string, v: JournalCookies }[])
      .filter((e) => e.p !== WRITTEN && idOf(e) > mark)
      .map((e) => ({ p: e.p, v: e.v.filter(([key]) => alive(key)) }))
    const newest = pending.at(-1)
    // A killed WebKitGTK can lose a cookie outright: its cookie database replaces a cookie with a
    // DELETE and then an INSERT, outside a transaction. After a browser restart, a cookie of the
    // newest batch, the one being written when the browser died, that is missing is taken as lost.
    // catchUp gets its writes once more, each as replacing a missing cookie: missing joins their chains.
    const torn = ended && newest ? [{ v: newest.v.map(([key, value]): JournalCookies[number] => [key, value, null]) }] : []
    let wrote = 0
    try {
      if (newest) {
        wrote = idOf(newest)
        ctx.cookies.write([...catchUp(ctx, [...pending, ...torn]), { key: COMMIT_KEY, encoded: wrote.toString(36) }])
      }
    } catch (err) {
      // The mark stays: the next start tries again. A purge still runs.
      wrote = 0
      report(ctx, err, 'Replaying the journal of an interrupted batch failed; it is retried at the next start.')
    }
    return [mark, wrote || markOf(ctx), then()] as const
  })
  // A probe waiting (a batch of the last seconds, maybe of another page) is proved, or timed, from here too.
  if (jar > mark || probe) noteWritten(ctx, jar)
  return [mark, value]
}

/**
 * The cookie writes that bring entries whose cookies may be missing (oldest first) to their
 * values: a cookie still showing a value of their chain (written or replaced by them) gets the
 * last one; a cookie holding anything else was written since by someone else, and is left alone.
 * Keys `skip` writes are left to it. Runs inside a cookie section.
 */
function catchUp(ctx: StoreContext, entries: readonly { v: JournalCookies }[], skip: readonly CookieWrite[] = []): CookieWrite[] {
  const chain = new Map<string, Set<string | null>>()
  const last = new Map<string, string | null>()
  for (const { v } of entries) {
    for (const [key, value, replaced] of v) {
      if (key === CLEAR) {
        // A clear: what the entries before it wrote of the cookies it covers goes too (the ones it
        // found in the jar are its own items).
        for (const [k, values] of chain) {
          if (!covered(ctx, value ?? '', k)) continue
          values.add(null)
          last.set(k, null)
        }
        continue
      }
      const seen = chain.get(key) ?? new Set()
      chain.set(key, seen.add(value).add(replaced))
      last.set(key, value)
    }
  }
  const writes: CookieWrite[] = []
  for (const [key, value] of last) {
    const spec = ctx.keys.find(key)
    const now = ctx.cookies.current(key) ?? null
    if (spec?.tier === 'cookie' && now !== value && chain.get(key)?.has(now) && !skip.some((w) => w.key === key)) writes.push({ key, encoded: value ?? undefined, spec })
  }
  return writes
}
