import { onCookieActivity } from '../cross-tab.js'
import { declaredAs } from '../keys.js'
import type { WatchInfo } from '../types.js'
import { notify, report, type Message, type StoreContext } from './context.js'
import { answered, endAsked, followEnd } from './marker.js'
import { clearAsked } from './maintenance.js'
import { decodeSync, get, rawSync } from './read.js'

/** How often a tab re-reads watched cookies when no event tells it of changes made elsewhere. */
const COOKIE_POLL = 2000

/** Starts listening to the other tabs (once); they speak only of keys someone watches, and of the session. */
const listening = new WeakSet<StoreContext>()

export function listen(ctx: StoreContext): void {
  if (listening.has(ctx)) return
  listening.add(ctx)
  ctx.stops.push(ctx.channel.on((message) => receive(ctx, message)))
}

/** `store.watch`. */
export function watch(ctx: StoreContext, key: string, cb: (value: unknown, info: WatchInfo) => void): () => void {
  const spec = ctx.keys.resolve(key)
  listen(ctx)
  if (spec.tier === 'cookie' && !ctx.cookieSeen.has(key)) {
    if (!ctx.cookieSeen.size) {
      ctx.recheckCookies = () => recheck(ctx)
      const prefix = ctx.names.cookie('')
      ctx.stops.push(onCookieActivity(ctx.env, ctx.recheckCookies, COOKIE_POLL, (name) => name.startsWith(prefix)))
    }
    ctx.cookieSeen.set(key, safely(() => rawSync(ctx, key, spec)))
  }
  return ctx.watchers.on(key, ({ value, info }) => cb(value, info))
}

/** Looks for watched cookies that changed outside this tab's writes (the server, another tab). */
function recheck(ctx: StoreContext): void {
  for (const [key, seen] of ctx.cookieSeen) {
    const spec = ctx.keys.resolve(key)
    const raw = safely(() => rawSync(ctx, key, spec))
    if (raw === seen) continue
    ctx.cookieSeen.set(key, raw)
    notify(ctx, key, decodeSync(ctx, key, spec, raw), 'remote')
  }
}

/** A cookie that is now ambiguous (COOKIE_CONFLICT) is not a change to report from a background check. */
function safely(read: () => string | undefined): string | undefined {
  try {
    return read()
  } catch {
    return undefined
  }
}

/** Watchers of session keys hear their values now: another tab purged or changed the session data. */
export const rereadSession = (ctx: StoreContext): void =>
  reread(ctx, ctx.watchers.listened().filter((key) => declaredAs(ctx.keys, key, undefined, 'session')))

/** Watchers of `keys` hear their values now: another tab changed them. */
export function reread(ctx: StoreContext, keys: readonly string[]): void {
  for (const key of keys) {
    const spec = ctx.keys.find(key)
    if (!spec || !ctx.watchers.has(key)) continue
    if (spec.tier === 'cookie') ctx.recheckCookies()
    else get(ctx, key).then((value) => notify(ctx, key, value, 'remote'), (err: unknown) => report(ctx, err, `Reading "${key}" after another tab changed it failed.`))
  }
}

function receive(ctx: StoreContext, message: Message): void {
  if (ctx.closed) return
  // An answer to what this context (a Worker) asked a page to do (store/marker.ts askPage). Its own
  // end(), carried out by a page, is applied by that: nothing more to do here.
  if (answered(ctx, message) && message.t === 's') return
  if (message.t === 'k') reread(ctx, message.keys)
  else if (message.t === 'x') clearAsked(ctx, message.id, message.lifetime)
  else if (message.t === 'c') {
    // Another tab cleared everything, or one lifetime: its IndexedDB records are gone for everyone.
    ctx.recheckCookies()
    for (const key of ctx.watchers.listened()) {
      const spec = ctx.keys.find(key)
      if (spec?.tier === 'indexeddb' && (!message.lifetime || spec.lifetime === message.lifetime)) notify(ctx, key, undefined, 'remote')
    }
  } else if (message.t === 'e') endAsked(ctx, message.stamp)
  else {
    // Another tab's end() names the stamp it took and those it ended (a Worker has no cookie to
    // read them from, and a tab's copy of the cookies can lag): a context whose stamp it ended
    // follows, and its writes still on their way are covered by it. One past it (it followed it
    // already, or its own end() took another stamp since: two tabs' ends at once) is not.
    const covered = !message.force || message.stamp === undefined || ctx.marker.stamp === undefined ||
      ctx.marker.scope === 'page' || followEnd(ctx, message.stamp, message.ended)
    ctx.session.receive(message, covered)
  }
}
