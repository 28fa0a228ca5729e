/**
 * Cross-tab messaging: a BroadcastChannel per store, and an exclusive section shared by the
 * store's tabs (Web Locks). Both degrade to this tab alone where the browser lacks them.
 */
export interface Channel<Message> {
  /** Sends to the store's other tabs; does nothing once closed. */
  post(message: Message): void
  on(cb: (message: Message) => void): () => void
  close(): void
}

/** Opens the store's channel; without BroadcastChannel (old Safari, some SSR) messages go nowhere. */
export function openChannel<Message>(name: string): Channel<Message> {
  const listeners = new Set<(message: Message) => void>()
  const channel = typeof BroadcastChannel === 'function' ? new BroadcastChannel(`visitstore:${name}`) : undefined
  if (channel) channel.onmessage = (event: MessageEvent<Message>) => { for (const cb of [...listeners]) cb(event.data) }
  // Node (SSR, scripts) has BroadcastChannel too; an open one would keep the process alive.
  unref(channel)
  let closed = false
  return {
    post(message) { if (!closed) channel?.postMessage(message) },
    on(cb) {
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

/** Lets Node exit while a channel or timer is still open; browsers have no `unref` and ignore this. */
export function unref<T>(handle: T): T {
  (handle as { unref?: () => void } | undefined)?.unref?.()
  return handle
}

/** Whether the browser can give one tab at a time an exclusive section (Web Locks). */
export function hasLocks(): boolean {
  return typeof navigator !== 'undefined' && typeof navigator.locks?.request === 'function'
}

/**
 * Runs `fn` while no other tab of this origin runs a section with the same `name` (Web Locks).
 * Without Web Locks, `fn` runs at once: exclusive within this tab only.
 */
export function exclusive<T>(name: string, fn: () => Promise<T> | T): Promise<T> {
  if (!hasLocks()) return Promise.resolve().then(fn)
  return navigator.locks.request(name, async () => fn()) as Promise<T>
}

/**
 * Calls `check` when cookies may have changed outside this tab's writes: Cookie Store API change
 * events where present, plus page focus / visibility and a light interval (cookies set by the
 * server or another tab have no event elsewhere). Returns a function that stops it.
 */
export function onCookieActivity(check: () => void, intervalMs: number): () => void {
  const stops: (() => void)[] = []
  const listen = (target: EventTarget | undefined, type: string) => {
    if (!target) return
    target.addEventListener(type, check)
    stops.push(() => target.removeEventListener(type, check))
  }
  const store = (globalThis as { cookieStore?: EventTarget }).cookieStore
  listen(store, 'change')
  listen(typeof document === 'undefined' ? undefined : document, 'visibilitychange')
  listen(typeof window === 'undefined' ? undefined : window, 'focus')
  const timer = unref(setInterval(check, intervalMs))
  stops.push(() => clearInterval(timer))
  return () => { for (const stop of stops) stop() }
}
