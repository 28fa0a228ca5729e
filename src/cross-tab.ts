import type { Env } from './env.js'
import { namesCookie, unref } from './env.js'
import type { Names } from './names.js'

/** The store's messages to its other tabs (and workers); see store/watch.ts and the session sync. */
export interface Channel<Message> {
  /** Sends to the store's other tabs; does nothing once closed, or where BroadcastChannel is missing. */
  post(message: Message): void
  /** Listens; returns a stop function. */
  on(cb: (message: Message) => void): () => void
  close(): void
}

/**
 * The store's BroadcastChannel, opened at its first use: a store that never posts and that nobody
 * listens through does not pay for one at page load (270 µs in Chromium's cold start).
 */
export function openChannel<Message>(env: Env, name: string): Channel<Message> {
  const listeners = new Set<(message: Message) => void>()
  let channel: BroadcastChannel | undefined
  let closed = false
  const use = () => {
    if (!channel && !closed) {
      channel = env.channel(name)
      if (channel) channel.onmessage = (event: MessageEvent<Message>) => { for (const cb of [...listeners]) cb(event.data) }
    }
    return channel
  }
  return {
    post(message) {
      try {
        use()?.postMessage(message)
      } catch {
        // A message that cannot be cloned, or a channel closed under us: other tabs catch up on their next read.
      }
    },
    on(cb) {
      use()
      listeners.add(cb)
      return () => { listeners.delete(cb) }
    },
    close() {
      closed = true
      listeners.clear()
      channel?.close()
    },
  }
}

/**
 * Calls `check` when cookies may have changed outside this tab's writes: Cookie Store API change
 * events for a cookie `concerns` accepts (by its name), plus page focus / visibility and a light
 * interval (cookies set by the server or another tab have no event elsewhere). Returns a function
 * that stops it.
 */
export function onCookieActivity(env: Env, check: () => void, intervalMs: number, concerns: (name: string) => boolean): () => void {
  // A change event names its cookies: one that touches none of ours needs no read of the jar.
  const changed = (event: Event) => { if (namesCookie(event, concerns)) check() }
  const stops = [
    env.listen('cookieStore', 'change', changed),
    env.listen('document', 'visibilitychange', check),
    env.listen('window', 'focus', check),
  ]
  const timer = unref(setInterval(check, intervalMs))
  return () => {
    clearInterval(timer)
    for (const stop of stops) stop()
  }
}

/**
 * Holds a shared Web Lock named after this page's browser-session stamp while the page is shown,
 * so that other contexts can tell a live stamp from an ended one (`liveStamps`): a tab whose
 * marker cookie was cleared, a Worker, a sweep. Released on `pagehide` (a held lock keeps a page
 * out of the back/forward cache) and taken again on `pageshow`. Returns a function that lets go.
 */
export function holdStamp(env: Env, names: Names, stamp: string): () => void {
  let holding = false
  let release: (() => void) | undefined
  const take = () => {
    if (holding) return
    holding = true
    env.locks()?.request(names.lock(`stamp:${stamp}`), { mode: 'shared' }, () => new Promise<void>((done) => { release = done }))
      .catch(() => { holding = false })
  }
  const drop = () => {
    release?.()
    release = undefined
    holding = false
  }
  take()
  const stops = [env.listen('window', 'pagehide', drop), env.listen('window', 'pageshow', take)]
  return () => {
    for (const stop of stops) stop()
    drop()
  }
}

/** The stamps some context of this origin holds right now (see holdStamp); undefined where Web Locks cannot tell. */
export async function liveStamps(env: Env, names: Names): Promise<Set<string> | undefined> {
  const locks = env.locks()
  if (!locks) return undefined
  const stem = names.lock('stamp:')
  try {
    const { held = [] } = await locks.query()
    return new Set(held.flatMap((lock) => (lock.name?.startsWith(stem) ? [lock.name.slice(stem.length)] : [])))
  } catch {
    env.locksRefused()
    return undefined
  }
}
