// The page of browser scenario s1 (scenarios-ssr.mjs): rendered on the server by react-dom/server
// from a request-scoped store, hydrated in the browser (ssr-client.js). One useStoreValue per tier,
// object values included (a cookie, an IndexedDB key, a tab key). No imports: the server (Node)
// and the client bundle each pass in their React and the built visitstore/react.

/** The store definition both sides share, as an app keeps it in one module. */
export const S1_OPTIONS = {
  name: 'ssr1',
  keys: {
    theme: { lifetime: 'persistent', serverVisible: true },
    prefs: { lifetime: 'session', serverVisible: true },
    notes: { lifetime: 'persistent' },
    scroll: { lifetime: 'tab' },
  },
}

/** What each button writes next: the theme flips, objects count up. */
const NEXT = {
  theme: (v) => (v === 'dark' ? 'light' : 'dark'),
  prefs: (v) => ({ n: (v?.n ?? 0) + 1, tags: ['a;b', 'ü'] }),
  notes: (v) => ({ n: (v?.n ?? 0) + 1, text: 'x'.repeat(10) }),
  scroll: (v) => ({ n: (v?.n ?? 0) + 1 }),
}

/** The app: `h` is React.createElement, `useEffect` React's, `onMount` runs once hydrated. */
export function makeApp({ createElement: h, useEffect }, useStoreValue) {
  function Value({ store, k }) {
    const [value, setValue, { loading, error }] = useStoreValue(store, k)
    const shown = loading ? 'loading' : value === undefined ? 'none' : JSON.stringify(value)
    return h('li', { id: k },
      h('output', null, shown),
      h('button', { type: 'button', onClick: () => setValue(NEXT[k](value)) }, `next ${k}`),
      h('span', { className: 'error' }, error ? error.code : ''))
  }
  return function App({ store, onMount }) {
    useEffect(() => onMount?.(), [])
    return h('ul', null, Object.keys(S1_OPTIONS.keys).map((k) => h(Value, { key: k, store, k })))
  }
}
