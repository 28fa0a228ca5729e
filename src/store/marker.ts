import { holdStamp, liveStamps } from '../cross-tab.js'
import { unref } from '../env.js'
import { VisitStoreError } from '../errors.js'
import { ENDED_KEY, MARKER_KEY } from '../names.js'
import { livenessKey, newStamp, STAMP } from '../records.js'
import type { ClientTier } from '../tiers/client.js'
import { applying, assertOpen, report, setFlags, type Message, type StoreContext } from './context.js'

// "Session" data in IndexedDB must end with the browser session, which IndexedDB knows nothing
// of. A session cookie does: the marker `<name>_$s` holds a random stamp shared by every tab of
// the browser session and gone when it ends; session records carry the stamp. The protocol:
// - a tab that finds the marker uses it (the fast path, one cookie read);
// - a tab that finds none decides inside the cookie section (one tab at a time), after reading
//   the jar again: another tab may have made it meanwhile (two tabs starting together);
// - pages hold a shared Web Lock named after their stamp while shown, so a missing cookie (a
//   clean-up script, the user clearing cookies) is told apart from an ended browser session: a
//   live stamp is adopted and its cookie written again, never replaced;
// - a context without the cookie (a Worker) uses the one live stamp if there is one, and
//   otherwise keeps its session data to itself (status.browserSession 'page'), and never sweeps.

/** Finds (or makes) the browser-session stamp. Never rejects: a failure degrades to page scope. */
export async function settleMarker(ctx: StoreContext): Promise<void> {
  // Server rendering: no browser session to see, and no error for what is simply not there (store/context.ts).
  if (ctx.marker.scope === 'page') return
  try {
    const found = ctx.cookies.available ? jarStamp(ctx) : undefined
    if (found !== undefined) return adopt(ctx, found)
    const live = await liveStamps(ctx.env, ctx.names)
    if (!ctx.cookies.available) {
      if (live?.size === 1) return adopt(ctx, [...live][0] as string)
      return pageScope(ctx, 'this context cannot read the browser session\'s cookie (a Worker with no page of the session open, or cookies blocked)')
    }
    const stamp = await ctx.cookies.section(() => {
      const again = ctx.cookies.current(MARKER_KEY)
      if (again !== undefined && STAMP.test(again)) return again
      let chosen = live?.values().next().value
      if (chosen === undefined) {
        chosen = newStamp()
        ctx.marker.fresh = true
      }
      ctx.cookies.write([{ key: MARKER_KEY, encoded: chosen }])
      return chosen
    })
    adopt(ctx, stamp)
  } catch (err) {
    pageScope(ctx, `the session marker cookie could not be written (${err instanceof Error ? err.message : String(err)})`)
  }
}

/** The browser-session stamp the marker cookie holds now; undefined when it is missing or not a stamp (edited by hand). */
export function jarStamp(ctx: StoreContext): string | undefined {
  const found = ctx.cookies.readForeign(ctx.names.cookie(MARKER_KEY))
  return found !== undefined && STAMP.test(found) ? found : undefined
}

/** The stamps `<name>_$x` (its raw value: `raw`) names as ended by an end(), newest first (store/session-binding.ts endStamp). */
export const endedStamps = (ctx: StoreContext, raw = ctx.cookies.readForeign(ctx.names.cookie(ENDED_KEY))): string[] => (raw ?? '').split('.').filter(Boolean)

/** Takes `stamp` as this context's browser-session stamp, holding its Web Lock while the page is shown. */
export function adopt(ctx: StoreContext, stamp: string): void {
  ctx.marker.release?.()
  ctx.marker.stamp = stamp
  // A store closed while it started holds nothing.
  ctx.marker.release = ctx.closed ? undefined : holdStamp(ctx.env, ctx.names, stamp)
}

export function pageScope(ctx: StoreContext, why: string): void {
  ctx.marker.scope = 'page'
  setFlags(ctx, { browserSession: 'page' })
  report(ctx, new VisitStoreError('STORAGE_UNAVAILABLE',
    `Session-lifetime data is kept in memory for this page only: ${why}. Persistent data is not affected.`), '')
}

/**
 * Called when the jar may have changed: an open tab whose marker vanished writes it again (it is
 * alive, so the browser session goes on); one whose marker now holds another stamp (made by a tab
 * that could not see this one) moves its records to that stamp, so that nothing it wrote is lost,
 * unless another tab's end() made it (`ended`: this tab missed that end()).
 */
export async function checkMarker(ctx: StoreContext, restamp: (from: string, to: string) => Promise<void>, ended: () => void): Promise<void> {
  if (ctx.marker.stamp === undefined || ctx.closed || ctx.marker.scope === 'page' || !ctx.cookies.available) return
  try {
    // The browser's cookie store, not this page's copy: where two tabs' end() wrote the marker at
    // once, Firefox's and WebKit's copy can keep this tab's own stamp for good, and this tab would
    // go on writing records no other page reads. An answer asked for before this tab took another
    // stamp (its own end()) is older than that stamp: ask again.
    let jar: Map<string, string>
    let ours: string | undefined
    do {
      ours = ctx.marker.stamp
      jar = await ctx.cookies.authority()
    } while (ours !== ctx.marker.stamp)
    const seen = jar.get(MARKER_KEY)
    if (ours === undefined || seen === ours || ctx.closed) return
    // Another tab's end(), not heard of (its stamp is named ended): followed, not moved to.
    if (followEnd(ctx, seen, endedStamps(ctx, jar.get(ENDED_KEY)))) ended()
    else if (seen !== undefined && STAMP.test(seen)) {
      // Session reads and writes wait for the move and the new stamp (sessionLive).
      await applying(ctx, restamp(ours, seen).then(() => adopt(ctx, seen)))
    } else {
      await ctx.cookies.section(() => {
        // The jar itself, not the section's view: the view may take the lock's memory of the
        // marker for a lagging copy, and this marker was really removed.
        if (ctx.cookies.readForeign(ctx.names.cookie(MARKER_KEY)) === undefined) ctx.cookies.write([{ key: MARKER_KEY, encoded: ours }])
      })
    }
  } catch (err) {
    report(ctx, err, 'Restoring the session marker cookie failed; session data written from now on may not be seen by new tabs.')
  }
}

/**
 * Whether another tab's end() ended this context's stamp (the marker holds a new one, and
 * `<name>_$x` names ours: store/session-binding.ts endStamp): then this context takes the new
 * stamp, leaving its records of the old one behind (they read as missing, and the sweep deletes
 * them). Synchronous: a tab that hears of the end() writes its next records under the new stamp.
 * `seen` and `ended`: the marker and the ended stamps, when the caller has just read them (or, in a
 * context without the cookie, as the end()'s message gave them).
 */
export function followEnd(ctx: StoreContext, seen?: string, ended?: string[]): boolean {
  const ours = ctx.marker.stamp
  if (ours === undefined || ctx.marker.scope === 'page' || (ended === undefined && !ctx.cookies.available)) return false
  seen ??= ctx.cookies.readForeign(ctx.names.cookie(MARKER_KEY))
  if (seen === undefined || seen === ours || !STAMP.test(seen) || !(ended ?? endedStamps(ctx)).includes(ours)) return false
  adopt(ctx, seen)
  return true
}

/**
 * A context without the cookie (a Worker) asked for an end() of the stamp `stamp`: it can neither
 * remove the session cookies nor write the marker. One page of the browser session carries it out,
 * as if called there (its message then names the new stamp, which the Worker follows): the first
 * to take the Web Lock `end:<stamp>` while the marker, in the browser's cookie store, still holds
 * that stamp (pages that come later find another stamp there, or the lock taken, and follow).
 */
export function endAsked(ctx: StoreContext, stamp: string): void {
  if (ctx.closed || ctx.marker.scope === 'page' || !ctx.cookies.available) return
  ctx.env.locks()?.request(ctx.names.lock(`end:${stamp}`), { ifAvailable: true }, async (lock) => {
    if (lock && !ctx.closed && (await ctx.cookies.authority()).get(MARKER_KEY) === stamp) await ctx.session.session.end()
  }).catch((err: unknown) => report(ctx, err, 'A Worker\'s session.end() failed.'))
}

/** What this context (a Worker) asked pages to do and waits for: each takes the message that answers it. */
const asked = new WeakMap<StoreContext, Set<(reply: Message) => boolean>>()

/**
 * Asks a page of the browser session, by `message`, to do what this context cannot (a Worker: it
 * cannot write cookies). `take` reads each message this context hears: the answer's value, or
 * undefined for any other message. Resolves to that value, or after 10 s, with no page answering
 * (none open, or one gone halfway), rejects STORAGE_UNAVAILABLE (`done`: what is known of the work then).
 */
export async function askPage<T>(ctx: StoreContext, what: string, message: Message, take: (reply: Message) => T | undefined, done: () => Promise<string>): Promise<T> {
  let resolve = (_value?: T) => {}
  const answered = new Promise<T | undefined>((r) => { resolve = r })
  const hear = (reply: Message) => {
    const value = take(reply)
    if (value !== undefined) resolve(value)
    return value !== undefined
  }
  const pending = asked.get(ctx) ?? new Set()
  asked.set(ctx, pending.add(hear))
  const timer = unref(setTimeout(resolve, 10_000))
  ctx.channel.post(message)
  const answer = await answered
  clearTimeout(timer)
  pending.delete(hear)
  if (answer !== undefined) return answer
  throw new VisitStoreError('STORAGE_UNAVAILABLE', `${what}: no page of the browser session told within 10 s that it carried it out (a Worker cannot remove cookies)${await done()}; call it in a page`)
}

/** Whether `reply` answers something this context asked a page to do (askPage); it settles those calls. */
export function answered(ctx: StoreContext, reply: Message): boolean {
  let taken = false
  for (const hear of asked.get(ctx) ?? []) taken = hear(reply) || taken
  return taken
}

/**
 * The liveness key session records carry now (records.ts): waits for the browser session's stamp,
 * for the server session's first answer (which the session sync bounds by its time-out) and for
 * the moves of session records under way in this tab (a login with keepOnLogin, a new stamp).
 */
export async function sessionLive(ctx: StoreContext): Promise<string> {
  await ctx.marker.settled
  const waited = !ctx.purges.started
  await ctx.session.started
  // close() ends the wait for a first answer that had not come: the call is not carried out.
  if (waited) assertOpen(ctx, 'a call waiting for the session')
  for (let was; was !== ctx.purges.applying;) await (was = ctx.purges.applying)
  return livenessKey(ctx.marker.stamp ?? 'page', ctx.session.tag())
}

/** Where session-scoped (or other) records live: this page's memory when it cannot see the browser session. */
export const clientFor = (ctx: StoreContext, session: boolean): ClientTier =>
  (session && ctx.marker.scope === 'page' ? ctx.pageClient : ctx.client)
