// Page-side helpers for the browser suite, loaded after the built bundle. Kept tiny and
// engine-neutral: scenarios pass plain JSON in and get plain JSON back.
window.vt = {
  stores: {},
  /** WebDriver turns undefined into null: send a marker instead, so a missing value stays distinguishable. */
  u: (value) => (value === undefined ? '(undefined)' : value),
  /** One store per name and page, made with the script-tag global. */
  store(name, keys) {
    this.stores[name] ??= window.VisitStore.createStore({ name, keys })
    return this.stores[name]
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
      return { ok: false, error: { name: err?.name, code: err?.code, message: String(err?.message ?? err), isVisitStoreError: err instanceof window.VisitStore.VisitStoreError } }
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
