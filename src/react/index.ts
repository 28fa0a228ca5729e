// visitstore/react: a store key as React state, on useSyncExternalStore. Cookie and tab values
// are read synchronously (peek, which returns the same object until the stored value changes, so
// React never sees a "new" snapshot that is not one); IndexedDB values load after mount.
import { useMemo, useSyncExternalStore } from 'react'
import type { VisitStoreError } from '../errors.js'
import type { StoreKey, VisitStore } from '../types.js'

/**
 * The third element of {@link useStoreValue}'s answer.
 * @example const [cart, , { loading, error }] = useStoreValue(store, 'cart')
 */
export interface StoreValueStatus {
  /**
   * True until the value is known: an IndexedDB key until its first read; on the server and while
   * hydrating, every key but cookie keys (only cookies reach the server).
   */
  readonly loading: boolean
  /** Why the last read or `setValue` of this key failed; cleared when it next succeeds. */
  readonly error: VisitStoreError | undefined
}

interface Snapshot extends StoreValueStatus {
  readonly value: unknown
}

const LOADING: Snapshot = { value: undefined, loading: true, error: undefined }

const codeOf = (err: unknown) => (err as { code?: unknown } | null)?.code

/** One key of one store as an external store for React: its snapshot changes only when the value, loading or error does. */
function source(store: VisitStore<Record<string, unknown>>, key: string) {
  const { tier, lifetime } = store.placement(key)
  let peekable = tier === 'cookie' || lifetime === 'tab'
  let snap = LOADING
  let readError: VisitStoreError | undefined
  let writeError: VisitStoreError | undefined
  // Bumped by every change and unsubscription: a slower read that started before it is stale.
  let version = 0
  let changed = () => {}
  const put = (value: unknown, loading = false) => {
    const error = writeError ?? readError
    if (value !== snap.value || loading !== snap.loading || error !== snap.error) snap = { value, loading, error }
    return snap
  }
  const read = (err?: unknown) => {
    // A failing peek throws a new error each time: keep the first, or React would see a new snapshot every render.
    if ((err as Error | undefined)?.message !== readError?.message) readError = err as VisitStoreError | undefined
  }
  const getSnapshot = () => {
    if (!peekable) return snap
    try {
      const value = store.peek(key)
      read()
      return put(value)
    } catch (err) {
      // A cookie key with an asynchronous validator: read like an IndexedDB key.
      if (codeOf(err) === 'NOT_SYNC_READABLE') peekable = false
      else read(err)
      return peekable ? put(undefined) : snap
    }
  }
  return {
    getSnapshot,
    // Only cookies reach the server, so only cookie keys have a value there (and while hydrating).
    getServerSnapshot: () => (tier === 'cookie' ? getSnapshot() : LOADING),
    subscribe(onChange: () => void) {
      changed = onChange
      const stop = store.watch(key, (value) => {
        version++
        if (!peekable) {
          read()
          put(value)
        }
        onChange()
      })
      if (!peekable) {
        const at = version
        store.get(key).then((value) => {
          if (at !== version) return
          read()
          put(value)
          onChange()
        }, (err: unknown) => {
          read(err)
          put(snap.value)
          onChange()
        })
      }
      return () => {
        version++
        changed = () => {}
        stop()
      }
    },
    set: (value: unknown): Promise<void> => store.set(key, value).then(() => {
      writeError = undefined
    }, (err: VisitStoreError) => {
      writeError = err
    }).then(() => {
      put(snap.value, snap.loading)
      changed()
    }),
  }
}

/**
 * A store key as React state: `[value, setValue, { loading, error }]`, on `useSyncExternalStore`.
 * Cookie and tab values are there on the first render; IndexedDB values are `undefined` with
 * `loading: true` until read. Changes from `setValue`, from other code and from other tabs all
 * re-render. Server rendering: give a request-scoped store
 * (`createStore({ ...options, cookieHeader: req.headers.cookie })`) and cookie values render on
 * the server and hydrate without a mismatch; other keys render as loading on the server and on
 * the first client render, then fill in. `setValue` writes through `store.set`; it resolves when
 * the write is done and never rejects: a refused write shows in `error` (the value stays as it was).
 * @example
 * function ThemeToggle({ store }: { store: typeof shopStore }) {
 *   const [theme = 'light', setTheme, { error }] = useStoreValue(store, 'theme')
 *   return <button onClick={() => setTheme(theme === 'dark' ? 'light' : 'dark')} title={error?.message}>{theme}</button>
 * }
 */
export function useStoreValue<S, C, K extends StoreKey<S>>(store: VisitStore<S, C>, key: K): [S[K] | undefined, (value: S[K]) => Promise<void>, StoreValueStatus] {
  const src = useMemo(() => source(store as unknown as VisitStore<Record<string, unknown>>, key), [store, key])
  const snap = useSyncExternalStore(src.subscribe, src.getSnapshot, src.getServerSnapshot)
  return [snap.value as S[K] | undefined, src.set, snap]
}
