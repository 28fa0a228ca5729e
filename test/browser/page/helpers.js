// Page-side helpers for the browser suite, loaded after the built bundle. Kept tiny and
// engine-neutral: scenarios pass plain JSON in and get plain JSON back.
window.vt = {
  stores: {},
  /** WebDriver turns undefined into null: send a marker instead, so a missing value stays distinguishable. */
  u: (value) => (value === undefined ? '(undefined)' : value),
  /** Events seen per store name: { watch: [{ key, value, source }], change, end, expiring, error }. */
  logs: {},
  /** One store per name and page, made with the script-tag global. */
  store(name, keys) {
    return this.open(name, { keys })
  },
  /**
   * The same with any other options (a `session` source…). Records the store's `error` events and
   * its session's `change`, `end` and `expiring` events in vt.logs[name], as JSON.
   */
  open(name, options) {
    if (this.stores[name]) return this.stores[name]
    const store = window.VisitStore.createStore({ name, ...options })
    const log = (this.logs[name] = { watch: [], change: [], end: [], expiring: [], error: [] })
    for (const event of ['change', 'end', 'expiring']) store.session.on(event, (payload) => log[event].push(JSON.parse(JSON.stringify(payload))))
    store.on('error', (err) => log.error.push(this.errorJson(err)))
    this.stores[name] = store
    return store
  },
  /** Records every `watch` callback of `key` in vt.logs[name].watch. */
  watch(name, key) {
    this.stores[name].watch(key, (value, info) => this.logs[name].watch.push({ key, value: this.u(value), source: info.source }))
  },
  /** The store's view of the server session. */
  session(name) {
    const { tag, state, expiresAt } = this.stores[name].session
    return { tag, state, expiresAt: this.u(expiresAt) }
  },
  /** The cookies `document.cookie` shows whose names start with `prefix`: [[name, raw value], ...], sorted. */
  cookies(prefix = '') {
    return document.cookie.split('; ').filter(Boolean).map((c) => [c.slice(0, c.indexOf('=')), c.slice(c.indexOf('=') + 1)])
      .filter(([n]) => n.startsWith(prefix)).sort()
  },
  /** The raw value of one cookie in `document.cookie` (exact name), or null. */
  cookie(name) {
    for (const pair of document.cookie.split('; ')) {
      const at = pair.indexOf('=')
      if ((at < 0 ? pair : pair.slice(0, at)) === name) return at < 0 ? '' : pair.slice(at + 1)
    }
    return null
  },
  /** A vt.attempt() result as one string: 'ok', the VisitStoreError's code, or 'raw <name>: <message>' for any other error. */
  outcome(result) {
    return result.ok ? 'ok' : result.error.isVisitStoreError ? result.error.code : `raw ${result.error.name}: ${result.error.message}`
  },
  /** Runs `fn` and records every `document.cookie` write it makes: resolves to { result, writes: [cookie lines] }. */
  async cookieWrites(fn) {
    let proto = Object.getPrototypeOf(document)
    while (proto && !Object.getOwnPropertyDescriptor(proto, 'cookie')) proto = Object.getPrototypeOf(proto)
    const real = Object.getOwnPropertyDescriptor(proto, 'cookie')
    const writes = []
    Object.defineProperty(document, 'cookie', {
      configurable: true,
      get: () => real.get.call(document),
      set: (line) => { writes.push(line); real.set.call(document, line) },
    })
    try {
      return { result: await fn(), writes }
    } finally {
      delete document.cookie
    }
  },
  /** A request to the test server (login, logout…) with the page's cookies; resolves to { status, body }. */
  async call(method, path) {
    const res = await fetch(path, { method, credentials: 'same-origin', cache: 'no-store' })
    return { status: res.status, body: await res.json().catch(() => null) }
  },
  /** A thrown error as JSON, its cause included. */
  errorJson(err) {
    const cause = err?.cause
    return {
      name: err?.name, code: err?.code, message: String(err?.message ?? err), isVisitStoreError: err instanceof window.VisitStore.VisitStoreError,
      cause: cause === undefined ? undefined : String(cause?.message ?? cause),
    }
  },
  /** What the server received in the Cookie header of a fresh request. */
  async echo() {
    const res = await fetch('/echo', { cache: 'no-store', credentials: 'same-origin' })
    return res.json()
  },
  /** Runs `fn`; resolves to { ok, value } or { ok: false, error: { name, code, message, isVisitStoreError } }. */
  async attempt(fn) {
    try {
      return { ok: true, value: await fn() }
    } catch (err) {
      return { ok: false, error: this.errorJson(err) }
    }
  },
  /** The raw records of a store's IndexedDB database, read without visitstore: proves the data is really there. */
  rawIdb(name) {
    return new Promise((resolve, reject) => {
      const open = indexedDB.open(`visitstore-${name}`)
      open.onerror = () => reject(open.error)
      open.onupgradeneeded = () => open.result.createObjectStore('entries')
      open.onsuccess = () => {
        const db = open.result
        const tx = db.transaction('entries', 'readonly')
        const keys = tx.objectStore('entries').getAllKeys()
        const values = tx.objectStore('entries').getAll()
        tx.oncomplete = () => { db.close(); resolve(keys.result.map((k, i) => [k, values.result[i]])) }
        tx.onerror = () => { db.close(); reject(tx.error) }
      }
    })
  },
}
