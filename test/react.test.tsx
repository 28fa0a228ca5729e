// visitstore/react through the front door: useStoreValue in a real React 19 (react-dom/client and
// react-dom/server, development builds, so React's own warnings are on), in happy-dom with
// fake-indexeddb. Two createStore instances of one name are two tabs (shared cookies, one
// IndexedDB, BroadcastChannel).
import { IDBFactory } from 'fake-indexeddb'
import { act, type ReactNode } from 'react'
import { createRoot, hydrateRoot, type Root } from 'react-dom/client'
import { renderToString } from 'react-dom/server'
import { afterEach, beforeEach, describe, expect, type MockInstance, test, vi } from 'vitest'
import { createStore, type VisitStore } from '../src/index.js'
import { useStoreValue } from '../src/react/index.js'
import { clearAllCookies } from './fixtures/page-storage.js'

declare global {
  var IS_REACT_ACT_ENVIRONMENT: boolean
}
globalThis.IS_REACT_ACT_ENVIRONMENT = true

interface Prefs { compact: boolean, tags: string[] }
interface Schema {
  theme: 'light' | 'dark'
  prefs: Prefs
  notes: { text: string }
  scroll: { y: number }
}
const keys = {
  theme: { lifetime: 'persistent', serverVisible: true },
  prefs: { lifetime: 'session', serverVisible: true },
  notes: { lifetime: 'persistent' },
  scroll: { lifetime: 'tab' },
} as const
type Store = VisitStore<Schema>
type Key = keyof Schema

let indexedDB: IDBFactory
const opened: Store[] = []
const roots: Root[] = []
let consoleErrors: MockInstance<typeof console.error>

/** A tab of store `name`: this page's cookies and sessionStorage, the test's IndexedDB. */
function tab(name = 'react'): Store {
  const store = createStore<Schema>({ name, keys, backends: { indexedDB } })
  opened.push(store)
  return store
}

/** What each render of a `<Show>` saw, as [key, value, loading, error code]. */
type Seen = [Key, unknown, boolean, string | undefined]

/** Renders the hook's answer for `k` and records every render; `setters` gets its setValue. */
function Show({ store, k, seen, setters }: { store: Store, k: Key, seen: Seen[], setters?: Record<string, (v: never) => Promise<void>> }) {
  const [value, setValue, { loading, error }] = useStoreValue(store, k)
  seen.push([k, value, loading, error?.code])
  if (setters) setters[k] = setValue
  return <p id={k}>{loading ? 'loading' : JSON.stringify(value) ?? 'none'}</p>
}

function App({ store, seen, setters }: { store: Store, seen: Seen[], setters?: Record<string, (v: never) => Promise<void>> }) {
  return <>{(Object.keys(keys) as Key[]).map((k) => <Show key={k} store={store} k={k} seen={seen} setters={setters} />)}</>
}

async function render(node: ReactNode): Promise<HTMLElement> {
  const container = document.createElement('div')
  document.body.append(container)
  const root = createRoot(container)
  roots.push(root)
  await act(async () => root.render(node))
  return container
}

/** Lets timers, IndexedDB and messages run inside act until `check` passes. */
async function until(check: () => void): Promise<void> {
  await vi.waitFor(async () => {
    await act(() => new Promise((done) => setTimeout(done, 5)))
    check()
  }, { timeout: 3000 })
}

const last = (seen: Seen[], k: Key) => seen.filter(([key]) => key === k).at(-1)
const first = (seen: Seen[], k: Key) => seen.find(([key]) => key === k)
/** console.error calls, as text (React's warnings and errors all go there). */
const errorsLogged = () => consoleErrors.mock.calls.map((args) => args.map(String).join(' '))

beforeEach(() => {
  indexedDB = new IDBFactory()
  clearAllCookies()
  sessionStorage.clear()
  consoleErrors = vi.spyOn(console, 'error')
})

afterEach(() => {
  for (const root of roots.splice(0)) act(() => root.unmount())
  for (const store of opened.splice(0)) store.close()
  document.body.replaceChildren()
  vi.restoreAllMocks()
})

describe('the first render', () => {
  test('has cookie and tab values (objects included); IndexedDB values are undefined and loading, then filled in', async () => {
    const writer = tab()
    await writer.setMany({ theme: 'dark', prefs: { compact: true, tags: ['a'] }, notes: { text: 'hi' }, scroll: { y: 40 } })
    const seen: Seen[] = []
    const container = await render(<App store={tab()} seen={seen} />)
    expect(first(seen, 'theme')).toEqual(['theme', 'dark', false, undefined])
    expect(first(seen, 'prefs')).toEqual(['prefs', { compact: true, tags: ['a'] }, false, undefined])
    expect(first(seen, 'scroll')).toEqual(['scroll', { y: 40 }, false, undefined])
    expect(first(seen, 'notes')).toEqual(['notes', undefined, true, undefined])
    await until(() => expect(last(seen, 'notes')).toEqual(['notes', { text: 'hi' }, false, undefined]))
    expect(container.querySelector('#notes')?.textContent).toBe('{"text":"hi"}')
    expect(errorsLogged()).toEqual([])
  })

  test('a missing IndexedDB value ends loading as undefined', async () => {
    const seen: Seen[] = []
    await render(<App store={tab()} seen={seen} />)
    await until(() => expect(last(seen, 'notes')).toEqual(['notes', undefined, false, undefined]))
  })
})

describe('object values never loop', () => {
  test('no "getSnapshot should be cached" warning and no update-depth error, with a bounded number of renders', async () => {
    const writer = tab()
    await writer.setMany({ prefs: { compact: false, tags: [] }, scroll: { y: 1 }, notes: { text: 'x' } })
    const seen: Seen[] = []
    const setters: Record<string, (v: never) => Promise<void>> = {}
    await render(<App store={tab()} seen={seen} setters={setters} />)
    await until(() => expect(last(seen, 'notes')?.[2]).toBe(false))
    for (let i = 0; i < 5; i++) {
      await act(() => (setters.prefs as (v: Prefs) => Promise<void>)({ compact: i % 2 === 0, tags: [String(i)] }))
      await act(() => (setters.scroll as (v: { y: number }) => Promise<void>)({ y: i }))
    }
    expect(last(seen, 'prefs')?.[1]).toEqual({ compact: true, tags: ['4'] })
    expect(last(seen, 'scroll')?.[1]).toEqual({ y: 4 })
    expect(errorsLogged()).toEqual([])
    // 4 keys, a mount, a load and 10 writes: a loop would render thousands of times.
    expect(seen.length).toBeLessThan(60)
  })

  test('the check can fail: the naive recipe (a new object per getSnapshot) is caught by it', async () => {
    const { useSyncExternalStore } = await import('react')
    consoleErrors.mockImplementation(() => {})
    const store = tab()
    await store.set('prefs', { compact: true, tags: [] })
    function Naive() {
      const prefs = useSyncExternalStore((cb) => store.watch('prefs', cb), () => ({ ...store.peek('prefs') }))
      return <p>{String(prefs.compact)}</p>
    }
    await render(<Naive />).catch(() => {})
    expect(errorsLogged().join('\n')).toMatch(/getSnapshot should be cached|Maximum update depth/)
  })
})

describe('setValue', () => {
  test('writes through store.set: the value re-renders and the store has it', async () => {
    const seen: Seen[] = []
    const setters: Record<string, (v: never) => Promise<void>> = {}
    const store = tab()
    await render(<App store={store} seen={seen} setters={setters} />)
    await act(() => (setters.theme as (v: 'dark') => Promise<void>)('dark'))
    await act(() => (setters.notes as (v: { text: string }) => Promise<void>)({ text: 'saved' }))
    expect(last(seen, 'theme')).toEqual(['theme', 'dark', false, undefined])
    expect(last(seen, 'notes')).toEqual(['notes', { text: 'saved' }, false, undefined])
    expect(await store.get('notes')).toEqual({ text: 'saved' })
    expect(document.cookie).toContain('react_theme=dark')
  })

  test('a refused write never rejects: it shows in error, the value stays, and the next good write clears it', async () => {
    const seen: Seen[] = []
    const setters: Record<string, (v: never) => Promise<void>> = {}
    await render(<App store={tab()} seen={seen} setters={setters} />)
    const setPrefs = setters.prefs as (v: Prefs) => Promise<void>
    await act(() => setPrefs({ compact: true, tags: [] }))
    await act(() => setPrefs({ compact: false, tags: ['x'.repeat(5000)] }))
    expect(last(seen, 'prefs')).toEqual(['prefs', { compact: true, tags: [] }, false, 'COOKIE_TOO_LARGE'])
    await act(() => setPrefs({ compact: false, tags: [] }))
    expect(last(seen, 'prefs')).toEqual(['prefs', { compact: false, tags: [] }, false, undefined])
  })
})

describe('changes made elsewhere', () => {
  test('another tab’s write of a cookie key and of an IndexedDB key re-renders', async () => {
    const seen: Seen[] = []
    await render(<App store={tab()} seen={seen} />)
    await until(() => expect(last(seen, 'notes')?.[2]).toBe(false))
    // Another tab's news lands whenever it lands, as in a browser: outside any act().
    globalThis.IS_REACT_ACT_ENVIRONMENT = false
    try {
      const other = tab()
      await other.set('notes', { text: 'from tab 2' })
      await other.set('prefs', { compact: true, tags: ['remote'] })
      await vi.waitFor(() => expect(last(seen, 'notes')?.[1]).toEqual({ text: 'from tab 2' }))
      await vi.waitFor(() => expect(last(seen, 'prefs')?.[1]).toEqual({ compact: true, tags: ['remote'] }), { timeout: 3000 })
      await other.delete('notes')
      await vi.waitFor(() => expect(last(seen, 'notes')).toEqual(['notes', undefined, false, undefined]))
    } finally {
      globalThis.IS_REACT_ACT_ENVIRONMENT = true
    }
    expect(errorsLogged()).toEqual([])
  })
})

describe('server rendering and hydration', () => {
  const cookieHeader = 'ssr_theme=dark; ssr_prefs=%7B%22compact%22%3Atrue%2C%22tags%22%3A%5B%22a%22%5D%7D; other=1'

  /** The server's HTML for a request with `cookieHeader`, from a request-scoped store. */
  function serverHtml(header: string): string {
    const request = createStore<Schema>({ name: 'ssr', keys, cookieHeader: header })
    try {
      return renderToString(<App store={request} seen={[]} />)
    } finally {
      request.close()
    }
  }

  test('renderToString of a request-scoped store has the request’s cookie values; the other keys render as loading', () => {
    const html = serverHtml(cookieHeader)
    expect(html).toContain('<p id="theme">&quot;dark&quot;</p>')
    expect(html).toContain('<p id="prefs">{&quot;compact&quot;:true,&quot;tags&quot;:[&quot;a&quot;]}</p>')
    expect(html).toContain('<p id="notes">loading</p>')
    expect(html).toContain('<p id="scroll">loading</p>')
  })

  test('hydrateRoot in the browser with the same cookies: no hydration warning, then tab and IndexedDB values fill in', async () => {
    for (const pair of cookieHeader.split('; ')) document.cookie = `${pair}; Path=/`
    const writer = tab('ssr')
    await writer.set('notes', { text: 'idb' })
    await writer.set('scroll', { y: 9 })
    const html = serverHtml(cookieHeader)
    const container = document.createElement('div')
    container.innerHTML = html
    document.body.append(container)
    const recoverable: unknown[] = []
    const seen: Seen[] = []
    await act(async () => {
      roots.push(hydrateRoot(container, <App store={tab('ssr')} seen={seen} />, { onRecoverableError: (err) => recoverable.push(err) }))
    })
    await until(() => expect(last(seen, 'notes')?.[1]).toEqual({ text: 'idb' }))
    expect(first(seen, 'scroll')).toEqual(['scroll', undefined, true, undefined])
    expect(last(seen, 'scroll')).toEqual(['scroll', { y: 9 }, false, undefined])
    expect(container.querySelector('#theme')?.textContent).toBe('"dark"')
    expect(container.querySelector('#scroll')?.textContent).toBe('{"y":9}')
    expect(recoverable).toEqual([])
    expect(errorsLogged()).toEqual([])
  })

  test('the check can fail: a browser whose cookie differs from the request’s is reported as a mismatch', async () => {
    document.cookie = 'ssr_theme=light; Path=/'
    const container = document.createElement('div')
    container.innerHTML = serverHtml(cookieHeader)
    document.body.append(container)
    const recoverable: unknown[] = []
    await act(async () => {
      roots.push(hydrateRoot(container, <App store={tab('ssr')} seen={[]} />, { onRecoverableError: (err) => recoverable.push(err) }))
    })
    expect([...recoverable.map(String), ...errorsLogged()].join('\n')).toMatch(/hydrat/i)
  })
})
