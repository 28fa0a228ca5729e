/** A minimal typed emitter: listeners per name, each `on` returning its own unsubscribe. */
export interface Emitter<Events> {
  on<E extends keyof Events>(event: E, cb: (payload: Events[E]) => void): () => void
  emit<E extends keyof Events>(event: E, payload: Events[E]): void
  /** Whether anyone listens to `event`. */
  has(event: keyof Events): boolean
  /** The events someone listens to. */
  listened(): (keyof Events)[]
  clear(): void
}

/** Creates an emitter. A listener that throws does not stop the others; its error is rethrown asynchronously. */
export function createEmitter<Events>(): Emitter<Events> {
  const listeners = new Map<keyof Events, Set<(payload: never) => void>>()
  return {
    on(event, cb) {
      let set = listeners.get(event)
      if (!set) listeners.set(event, (set = new Set()))
      // A wrapper per call: the same function subscribed twice is called twice and unsubscribed separately.
      const entry = (payload: never) => cb(payload)
      set.add(entry)
      return () => { set.delete(entry) }
    },
    emit(event, payload) {
      for (const cb of [...(listeners.get(event) ?? [])]) {
        try {
          (cb as (p: typeof payload) => void)(payload)
        } catch (err) {
          // An app's listener bug must not break the store's own bookkeeping; report it like an uncaught error.
          setTimeout(() => { throw err })
        }
      }
    },
    has: (event) => (listeners.get(event)?.size ?? 0) > 0,
    listened: () => [...listeners].flatMap(([event, set]) => (set.size ? [event] : [])),
    clear: () => listeners.clear(),
  }
}
