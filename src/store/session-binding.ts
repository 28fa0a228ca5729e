import { createEmitter } from '../emitter.js'
import { olderThan } from '../env.js'
import { ENDED_KEY, MARKER_KEY, STATE_KEY } from '../names.js'
import { mover, newStamp, partsOf } from '../records.js'
import type { SessionApply, SessionController, SessionHost } from '../session-host.js'
import type { CookieWrite } from '../tiers/cookie.js'
import type { SessionEvents, SessionSnapshot } from '../types.js'
import { applying, notify, setFlags, writtenSince, type StoreContext } from './context.js'
import { purgeInOrder } from './journal.js'
import { dropLivenessKey } from './maintenance.js'
import { adopt, askPage, clientFor, endedStamps, followEnd, jarStamp, pageScope } from './marker.js'
import { rereadSession } from './watch.js'

// The store's side of the session sync: what a change of server session does to the data. All
// of it is here; the sync itself (visitstore/session) knows nothing of tiers and records.

const SESSION_RECORD = '$session'

/**
 * Applies a change of server session to the data: session records of any other tag are deleted
 * (by the [k, p] index: one range per liveness key), or, at a login with keepOnLogin, moved to
 * the new tag; session cookies are removed unless the tag stayed (a change of state alone, such as
 * an anonymous session signed in under the same tag, is the same session); the new state is saved
 * for the next page load. Resolves to the declared keys purged.
 */
export function applySessionChange(ctx: StoreContext, change: SessionApply): Promise<string[]> {
  // A move, or an end() (which purges the current liveness key too): session reads and writes
  // wait for it, or they would find the data gone, overwrite it, or be deleted by it. Other purges
  // need no wait: what they delete reads as missing already, and what is written meanwhile carries
  // the new tag.
  return change.keep || change.force ? applying(ctx, applyNow(ctx, change)) : applyNow(ctx, change)
}

async function applyNow(ctx: StoreContext, { previous, next, keep, force, remote, covered, at }: SessionApply): Promise<string[]> {
  // With no state known before (nothing saved), the cookies may be of any session: they go.
  const purging = !keep && (force || previous.tag !== next.tag || previous.state === 'unknown')
  // In the call (the sync switched to `next` in it too): writes called before it that are still on
  // their way drop their session part, and the session cookies read as missing until they are
  // removed (context.ts endedCookie). The start-up answer's purge is for the session the last page
  // left, not for what this page wrote while waiting for it; an end() is always counted.
  const mine = purging && covered && (force || ctx.purges.started) ? ++ctx.purges.count : 0
  // This tab's end() takes its session cookies and stamp in the call (endStamp); another tab's
  // took the stamp along, and this tab follows it (marker.ts).
  const { removed: now, stamp, ended } = force && !remote ? endStamp(ctx) : { removed: [] }
  if (force && remote) followEnd(ctx)
  // A move (here, or done by the tab that announced it): writes still on their way follow it.
  const move = mover(1, previous.tag ?? '', next.tag)
  if (keep) ctx.purges.moves.push(move)
  try {
    return await (remote || force ? applyShared() : oneTabAtATime(ctx, applyShared))
  } finally {
    // Its cookies removed (below), or by the other tab that applied it (which tells once it has), or failed (reported).
    ctx.purges.cleared = Math.max(ctx.purges.cleared, mine)
  }

  async function applyShared(): Promise<string[]> {
    await ctx.marker.settled
    if (force && !remote && !ctx.cookies.available && ctx.marker.stamp !== undefined && ctx.marker.scope === 'shared') return await endByPage(ctx, ctx.marker.stamp)
    const client = clientFor(ctx, true)
    const purged: string[] = []
    // A change this tab learnt from its own answer may have been applied by another tab already: the
    // state saved for the next page is `next` (this tab missed the message, or was in the back/forward
    // cache, or started before it). That tab purged; what the new session wrote since must stay.
    const record = remote || force ? undefined : await saved(ctx)
    // The state saved came from a later request than this change's (another tab's, applied while
    // this answer came late, or while this tab waited for it): applying this one would undo it.
    if (olderThan(at ?? Infinity, record?.at ?? -Infinity)) return purged
    const last = record?.v
    const applied = remote || (last?.tag === next.tag && last.state === next.state)
    // Its watchers of session keys then hear the other tab's purge and writes, which nobody told them of.
    if (applied && !remote) rereadSession(ctx)
    // The tab that applied the change purged or moved the shared data. A move runs here as well:
    // what this tab wrote in the old session after it, before hearing of it, goes along.
    const here = !applied || client !== ctx.client
    if (!here && !keep) return purged
    if (here && purging && ctx.cookies.available) {
      // Cookies first: they go to the server with every request. Listed in the section, after the
      // cookies of batches a tab gone halfway left to a replay (store/journal.ts): theirs go too.
      // What this tab wrote since the change stays: it was called after it (older writes drop their
      // session part, store/write.ts). The first answer's purge leaves what this page wrote before it.
      purged.push(...await purgeInOrder(ctx, () => {
        const cookies = sessionCookies(ctx).filter((key) => !writtenSince(ctx, key, mine))
        ctx.cookies.write(cookies.map((key) => ({ key, encoded: undefined })))
        ctx.purges.cleared = Math.max(ctx.purges.cleared, mine)
        return cookies
      }))
    }
    // An end() deletes the records of the stamps it ended, and of those other tabs' end() calls
    // ended: never those of a stamp taken since, here (records written after it, here or by a tab
    // that followed it) or by another tab whose end() ran at the same moment (it could not see
    // this one's). A copy of the cookies that lags names fewer: their records read as missing
    // all the same, and the sweep deletes them. Without a stamp (page scope), everything of the session.
    const gone = stamp && new Set([...ended ?? [], ...endedStamps(ctx)])
    for (const k of await client.livenessKeys()) {
      if (force ? gone && !gone.has(partsOf(k)[0] as string) : partsOf(k)[1] === (next.tag ?? '')) continue
      const to = move(k)
      if (keep && to !== k) await dropLivenessKey(ctx, client, k, to)
      else if (here) purged.push(...await dropLivenessKey(ctx, client, k))
    }
    if (!here) return purged
    // Saved by a tab that removed the session cookies: the next page's first answer then finds the
    // change applied. A Worker's change is applied again by the pages, cookies and all (noJar).
    if (next.state !== 'unknown' && ctx.cookies.available) {
      if (ctx.client.mode === 'indexeddb') await ctx.client.write({ put: [{ p: SESSION_RECORD, v: next, at }], what: () => 'saving the session state' })
      else await ctx.cookies.section(() => ctx.cookies.write([{ key: STATE_KEY, encoded: STATES.indexOf(next.state) + encodeURIComponent(next.tag ?? '') }]))
    }
    return [...new Set([...now, ...purged])].filter((key) => ctx.keys.find(key))
  }
}

/**
 * Runs a change this tab learnt itself (its own answer, a Worker's news) while no other tab of
 * the browser runs one (a Web Lock): two tabs that learn of a logout at the same moment would
 * otherwise both find it not applied yet, and the later one's purge would take the session
 * cookies the earlier one's tab wrote since. The later one finds it saved, and leaves them.
 */
function oneTabAtATime(ctx: StoreContext, fn: () => Promise<string[]>): Promise<string[]> {
  let ran = false
  const run = () => { ran = true; return fn() }
  // Refused (an opaque origin's frame): as without Web Locks, each tab on its own.
  return (ctx.env.locks()?.request(ctx.names.lock('session'), run) as Promise<string[]> | undefined)?.catch((err: unknown) => {
    if (ran) throw err
    return run()
  }) ?? run()
}

/**
 * What an end() does in its call, not waiting for the cookie section (the page may be leaving: a
 * logout that navigates away at once): it removes the session cookies, which go to the server with
 * the next request, and ends the session records' browser-session stamp: the marker cookie gets a
 * new stamp, and `<name>_$x` names the ended ones (the newest few). The records of the old stamp
 * then read as missing at once, in every page that starts after it even if this one leaves before
 * its purge is done (their tag may still be the current one: no session sync, or a server that
 * still has the session), and what a tab that has not heard of the end() writes meanwhile carries
 * the old stamp too. Such a tab finds its stamp named in `$x` and follows (store/marker.ts
 * followEnd). The purge still runs after, and deletes only the records of ended stamps. Returns
 * the session cookies' keys, the new stamp if it took one, and the stamps it ended.
 */
function endStamp(ctx: StoreContext): { removed: string[], stamp?: string, ended?: string[] } {
  if (!ctx.cookies.available) return { removed: [] }
  const removed = sessionCookies(ctx)
  // Before the marker is settled (a logout page whose end() runs at once), the stamp the records
  // of this browser session carry is the one in the jar: this page would have taken it.
  const jar = jarStamp(ctx)
  const old = ctx.marker.stamp ?? jar
  const writes: CookieWrite[] = removed.map((key) => ({ key, encoded: undefined }))
  let stamp: string | undefined
  let ended: string[] | undefined
  if (old !== undefined && ctx.marker.scope === 'shared') {
    stamp = newStamp()
    // The jar's stamp ends too where it is another one: another tab's end() this tab has not
    // heard of yet took it, and what was written under it so far is of the session ending now.
    ended = [...new Set([old, jar ?? old])]
    writes.push({ key: ENDED_KEY, encoded: [...new Set([...ended, ...endedStamps(ctx)])].slice(0, ENDED_KEPT).join('.') }, { key: MARKER_KEY, encoded: stamp })
    adopt(ctx, stamp)
  }
  if (writes.length) ctx.cookies.writeNow(writes)
  return { removed, stamp, ended }
}

/**
 * end() in a context that shares a page's stamp but cannot write cookies (a Worker): a page of
 * the browser session carries it out (store/marker.ts endAsked), purge included, and this context
 * follows the new stamp its message names; session reads and writes here wait for it. With no page
 * answering, the end() rejects, and session data is kept in this context only from then on.
 */
async function endByPage(ctx: StoreContext, ours: string): Promise<string[]> {
  // The page's end() names ours as ended: followed here (or already, by another end() call of this context).
  return askPage<string[]>(ctx, 'session.end()', { t: 'e', stamp: ours }, (reply) =>
    (reply.t === 's' && reply.force && reply.ended?.includes(ours) && (followEnd(ctx, reply.stamp, reply.ended) || ctx.marker.stamp === reply.stamp) ? reply.purged : undefined), async () => {
    pageScope(ctx, 'a session.end() that no page carried out')
    return ''
  })
}

/** The session-lifetime keys that have a cookie now (in a section: in its view). */
const sessionCookies = (ctx: StoreContext): string[] => ctx.cookies.keys().filter((key) => ctx.keys.find(key)?.lifetime === 'session')

/** How many ended stamps `$x` names: tabs that missed more ends in a row than that move their records instead. */
const ENDED_KEPT = 4

const STATES: readonly SessionSnapshot['state'][] = ['none', 'anonymous', 'active']

/**
 * The session state saved by the last change applied to the shared data (any tab's): a record,
 * or where IndexedDB cannot be used (records in memory, this page only) a session cookie of the
 * store's, so that the next page of the same session does not take its session cookies for
 * another session's. The cookie holds the state and the tag, which the server made; the record
 * also `at`, when the request of its answer started (SessionApply.at).
 */
async function saved(ctx: StoreContext): Promise<{ v?: SessionSnapshot, at?: number } | undefined> {
  await ctx.client.open()
  if (ctx.client.mode === 'indexeddb') return (await ctx.client.read([SESSION_RECORD]))[0] as { v?: SessionSnapshot, at?: number } | undefined
  try {
    // In the cookie section's view (the browser's cookie store): a content process's copy can lag
    // behind the state another tab saved a moment ago (Firefox, WebKit), and its purge is done.
    const value = ctx.cookies.available ? await ctx.cookies.section(() => ctx.cookies.current(STATE_KEY)) : undefined
    const state = STATES[Number(value?.[0])]
    return value && state ? { v: { tag: state === 'none' ? null : decodeURIComponent(value.slice(1)), state, expiresAt: undefined } } : undefined
  } catch {
    // An unreadable jar, a cookie edited by hand: nothing known.
    return undefined
  }
}

/** What the store offers the session sync it was given. */
export function sessionHost(ctx: StoreContext): SessionHost {
  const prefix = ctx.names.cookie('')
  return {
    names: ctx.names,
    env: ctx.env,
    load: async () => (await saved(ctx))?.v,
    apply: (change) => applySessionChange(ctx, change),
    purged(keys, source) {
      for (const key of keys) if (ctx.keys.find(key)) notify(ctx, key, undefined, source)
    },
    post(message) {
      // Earlier writes first: the other tabs then apply them before the session change.
      ctx.outbox.flush()
      // An end(): the stamps, for contexts without the cookie (store/watch.ts). Such a context's own
      // end() was carried out by a page, which told (endByPage).
      if (!message.force) ctx.channel.post(ctx.cookies.available ? message : { ...message, noJar: true })
      else if (ctx.cookies.available) ctx.channel.post({ ...message, stamp: ctx.marker.stamp, ended: endedStamps(ctx) })
    },
    report: (error) => ctx.events.emit('error', error),
    status: (session) => setFlags(ctx, { session }),
    ownsCookie: (name) => name.startsWith(prefix) && ctx.keys.find(name.slice(prefix.length))?.tier === 'cookie',
    readCookie: (name) => ctx.cookies.readForeign(name),
  }
}

const NO_SESSION: SessionSnapshot = { tag: null, state: 'unknown', expiresAt: undefined }

/**
 * `store.session` of a store without a session sync: "session" is the browser session, `state`
 * stays `'unknown'`, and `end()` purges the session data here and tells the other tabs.
 */
export function localSession(ctx: StoreContext): SessionController {
  const events = createEmitter<SessionEvents>()
  const host = sessionHost(ctx)
  return {
    session: {
      tag: null,
      state: 'unknown',
      expiresAt: undefined,
      on: events.on,
      refresh: async () => {},
      async end() {
        const purged = await applySessionChange(ctx, { previous: NO_SESSION, next: NO_SESSION, keep: false, force: true, remote: false, covered: true })
        host.purged(purged, 'local')
        host.post({ t: 's', snapshot: NO_SESSION, purged, force: true })
      },
      fetch: (input, init) => fetch(input, init),
    },
    started: Promise.resolve(),
    tag: () => undefined,
    receive(message, covered) {
      if (message.t !== 's') return
      // Another tab's end(): this tab's writes still on their way are covered by it too, unless
      // this tab was past it. That tab removed the session cookies before it told, and took a new
      // stamp, which this one follows (store/watch.ts; here, from the cookies, for an older message).
      if (covered) ctx.purges.cleared = ++ctx.purges.count
      followEnd(ctx)
      host.purged(message.purged, 'remote')
    },
    close: () => events.clear(),
  }
}
