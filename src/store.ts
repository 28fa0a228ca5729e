import { currentHref, namesCookie, nextTask } from './env.js'
import { MARKER_KEY } from './names.js'
import { checkStoreOptions, invalid } from './options.js'
import { placementOf } from './placement.js'
import { mover } from './records.js'
import type { SessionController, SessionSyncImpl } from './session-host.js'
import { afterWrites, createContext, report, statusOf, type StoreContext } from './store/context.js'
import { replayJournal } from './store/journal.js'
import { applyDeclarations, clear, dropLivenessKey, estimate, listKeys, persist, sweep } from './store/maintenance.js'
import { checkMarker, settleMarker } from './store/marker.js'
import { get, getMany, peek } from './store/read.js'
import { localSession, sessionHost } from './store/session-binding.js'
import { remove, set, update } from './store/write.js'
import { listen, rereadSession, watch } from './store/watch.js'
import type { KeysFor, SchemaFor, StoreOptions, StrictKeys, VisitStore } from './types.js'

/**
 * Creates a store: one typed interface whose keys are placed by what they are — server-visible
 * values in cookies, client-only values in IndexedDB, per-tab values in sessionStorage.
 * Touches no browser API until called; safe to call during server-side rendering (tiers report
 * themselves unavailable there).
 *
 * Types: without a type argument, each key's value type is its `validate` schema's output type
 * (`unknown` without one) and `peek` accepts only cookie and tab keys; with a schema type argument
 * (`createStore<Schema>`), each `validate` must produce its key's type.
 * @example
 * const store = createStore<{ theme: 'light' | 'dark', cart: string[] }>({
 *   name: 'shop',
 *   keys: { theme: { lifetime: 'persistent', serverVisible: true }, cart: { lifetime: 'session' } },
 * })
 */
export function createStore<S extends object = never, const C extends KeysFor<S> = KeysFor<S>>(options: StoreOptions<SchemaFor<S, C>, C & StrictKeys<C>>): VisitStore<SchemaFor<S, C>, C> {
  // The database starts opening first, in createContext.
  const ctx = createContext(checkStoreOptions(options, currentHref()))
  ctx.session = attachSession(ctx)
  void ctx.session.started.then(() => { ctx.purges.started = true })
  // The browser-session stamp (a cookie read, a lock) is agreed once the reads asked for while
  // the database opened (the app's first get among them) are answered: they wait on nothing else.
  ctx.marker.settled = ctx.client.read([]).catch(() => []).then(nextTask).then(() => settleMarker(ctx)).then(() => {
    // A context without the cookie that shares a page's stamp (a Worker) hears of end() by message
    // only, and asks a page to carry out its own end() (store/session-binding.ts endByPage).
    if (ctx.marker.stamp !== undefined && ctx.marker.scope === 'shared' && !ctx.closed) listen(ctx)
  })
  ctx.recovered = ctx.marker.settled.then(() => replayJournal(ctx, ctx.marker.fresh))
    .catch((err: unknown) => report(ctx, err, 'Reading the journal of interrupted batches failed; it is replayed at the next start.'))
    .then(() => { ctx.turns.recovered = true })
  const ready = startUp(ctx)
  const peeked = new Map<string, { raw: string | undefined, value: unknown }>()
  const store: VisitStore<object> = {
    keys: (prefix) => afterWrites(ctx, undefined, () => listKeys(ctx, prefix)) as Promise<never[]>,
    get: (key) => afterWrites(ctx, [key], () => get(ctx, key)) as Promise<never>,
    set: (key, value) => set(ctx, [key], [value], `set("${key}")`),
    delete: (key) => remove(ctx, key),
    getMany: (keys) => afterWrites(ctx, keys, () => getMany(ctx, keys)) as Promise<never>,
    setMany: (values) => set(ctx, Object.keys(values), Object.values(values), 'setMany()'),
    update: (key, fn) => update(ctx, key, fn as (current: unknown) => unknown) as Promise<never>,
    peek: (key) => peek(ctx, key, peeked) as never,
    watch: (key, cb) => watch(ctx, key, cb as (value: unknown, info: { source: 'local' | 'remote' }) => void),
    clear: (opts = {}) => clear(ctx, opts.lifetime),
    placement(key) {
      const spec = ctx.keys.resolve(key)
      const pageScope = spec.tier === 'indexeddb' && spec.lifetime === 'session' && ctx.marker.scope === 'page' && ctx.client.mode === 'indexeddb'
      const tier = spec.tier === 'cookie' ? 'cookie' : spec.tier === 'sessionStorage' ? ctx.tab.mode : pageScope ? 'memory' : ctx.client.mode
      return placementOf(spec, tier, ctx.session.tag() !== undefined, pageScope)
    },
    ready,
    get status() { return statusOf(ctx) },
    on: ctx.events.on,
    session: ctx.session.session,
    persist: () => persist(ctx),
    estimate: () => estimate(ctx),
    close: () => close(ctx),
  }
  return store as unknown as VisitStore<SchemaFor<S, C>, C>
}

/** The session sync the options name (checked to come from `sessionSync`), or the local stand-in. */
function attachSession(ctx: StoreContext): SessionController {
  const session = ctx.config.session
  if (session !== undefined && typeof (session as Partial<SessionSyncImpl> | null)?.attach !== 'function') {
    throw invalid("createStore: session must be made by sessionSync: import { sessionSync } from 'visitstore/session', then " +
      "createStore({ …, session: sessionSync({ endpoint: '/session' }) }) (VisitStore.sessionSync in the script-tag build).")
  }
  // A server-rendered request's store never syncs: the browser's store does.
  if (session === undefined || ctx.config.request) return localSession(ctx)
  const controller = (session as SessionSyncImpl).attach(sessionHost(ctx))
  listen(ctx)
  return controller
}

/**
 * `store.ready`: the journal replayed, the session's first answer in, declaration changes applied;
 * then the sweep of dead records goes on in the background, in slices (reads already treat dead
 * records as missing). Never rejects: failures are reported as `error` events.
 */
async function startUp(ctx: StoreContext): Promise<void> {
  try {
    // Web Locks that refuse (SecurityError in third-party and opaque-origin frames) show in
    // status.locks by ready. Asked after the first reads too (a query costs the page a millisecond).
    await Promise.all([ctx.recovered, ctx.marker.settled.then(() => ctx.env.locks()?.query()).catch(() => {
      ctx.env.locksRefused()
      ctx.events.emit('status', statusOf(ctx))
    })])
    watchMarker(ctx)
    await ctx.session.started
    await applyDeclarations(ctx)
  } catch (err) {
    report(ctx, err, 'Start-up work failed; it is retried at the next start.')
  }
  sweep(ctx).catch((err: unknown) => report(ctx, err, 'Sweeping expired and ended-session data failed; it is retried at the next start.'))
}

/** An open tab keeps its marker cookie (store/marker.ts): checked whenever the jar may have changed. */
function watchMarker(ctx: StoreContext): void {
  if (ctx.closed || ctx.marker.scope === 'page' || !ctx.cookies.available) return
  const restamp = async (from: string, to: string) => {
    // Writes still on their way follow the move (store/write.ts).
    const move = mover(0, from, to)
    ctx.purges.moves.push(move)
    for (const k of await ctx.client.livenessKeys()) {
      const to = move(k)
      if (to !== k) await dropLivenessKey(ctx, ctx.client, k, to)
    }
  }
  // Another tab's end() this tab did not hear of: its writes still on their way are covered by
  // it, and its watchers of session keys hear the data gone (that tab removed the cookies).
  const ended = () => {
    ctx.purges.cleared = ++ctx.purges.count
    rereadSession(ctx)
  }
  const check = () => void checkMarker(ctx, restamp, ended)
  const marker = ctx.names.cookie(MARKER_KEY)
  // Only a change of the marker itself: every cookie write of every tab fires a change event, and
  // a document.cookie read in Chromium costs a round trip to the network service.
  ctx.stops.push(ctx.env.listen('cookieStore', 'change', (event) => { if (namesCookie(event, (name) => name === marker)) check() }), ctx.env.listen('document', 'visibilitychange', check))
}

function close(ctx: StoreContext): void {
  ctx.closed = true
  ctx.session.close()
  ctx.outbox.flush()
  ctx.marker.release?.()
  for (const stop of ctx.stops.splice(0)) stop()
  ctx.channel.close()
  ctx.client.close()
  ctx.pageClient.close()
  ctx.events.clear()
  ctx.watchers.clear()
}
