// Page-side helpers for the browser suite, loaded after the built bundle. Kept tiny and
// engine-neutral: scenarios pass plain JSON in and get plain JSON back.
window.vt = {
  stores: {},
  /** WebDriver turns undefined into null: send a marker instead, so a missing value stays distinguishable. */
  u: (value) => (value === undefined ? '(undefined)' : value),
  /** Events seen per store name: { watch: [{ key, value, source }], change, end, expiring, error }. */
  logs: {},
  /** A seeded xorshift32 for race rounds: random(n) gives 0 to n - 1, the same sequence for the same seed. */
  seeded(seed) {
    let x = seed
    return (n) => {
      x ^= x << 13
      x ^= x >>> 17
      x ^= x << 5
      return (x >>> 0) % n
    }
  },
  /**
   * A pause after a call of a race round, by `kind`: 1 a microtask, 2 a new task (a message the
   * page posts to itself: a 0 ms timer would take a second in a hidden tab), 3 the call itself
   * (settled either way); anything else none.
   */
  async pause(kind, call) {
    if (kind === 1) await null
    else if (kind === 2) {
      await new Promise((resolve) => {
        const { port1, port2 } = new MessageChannel()
        port1.onmessage = () => { port1.close(); resolve() }
        port2.postMessage(null)
      })
    } else if (kind === 3) await call.catch(() => {})
  },
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
    // Options cross the driver as JSON: a session source given as plain JSON ({ endpoint }) is made
    // into a session sync here, as an app writes createStore({ session: sessionSync({ endpoint }) }).
    const session = options?.session && typeof options.session.attach !== 'function' && !options.rawSession
      ? window.VisitStore.sessionSync(options.session) : options?.session
    const store = window.VisitStore.createStore({ name, ...options, ...(session ? { session } : {}) })
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
  /**
   * Resolves once Date.now() reaches `time` (ms since the epoch), yielding through a MessageChannel
   * rather than timers, which a background tab throttles: tabs told the same `time` start together.
   * One channel for the whole wait: a channel per message left tens of thousands of ports to the
   * garbage collector, whose pauses (0.4–1.2 s in Chromium) made one tab start after the other's burst.
   */
  at(time) {
    return new Promise((resolve) => {
      const { port1, port2 } = new MessageChannel()
      port1.onmessage = () => {
        if (Date.now() < time) return port2.postMessage(0)
        port1.close()
        resolve()
      }
      port2.postMessage(0)
    })
  },
  /**
   * vt.attempt(fn) with a deadline, for "does this hang" checks: resolves to { done: false } if
   * `fn`'s promise has not settled within `ms`, else to attempt's { ok, value | error } plus
   * `done: true` and `ms` (how long it took). Never throws, never waits longer than `ms`.
   */
  async within(fn, ms) {
    const started = window.performance.now()
    let timer
    const late = new Promise((resolve) => { timer = setTimeout(() => resolve({ done: false }), ms) })
    const settled = this.attempt(fn).then((r) => ({ ...r, done: true, ms: Math.round(window.performance.now() - started) }))
    try {
      return await Promise.race([settled, late])
    } finally {
      clearTimeout(timer)
    }
  },
  /**
   * Runs `fn(arg)` in an iframe showing page/frame.html (frame.js answers by message, so this also
   * works in a sandboxed or cross-site frame that the page cannot script): `src` its URL, `sandbox`
   * its sandbox attribute (null: none). The frame is made once per `src` and kept. Resolves to
   * { result } or { thrown } (what fn threw), or { thrown } after `ms` without an answer.
   */
  async inFrame({ src, sandbox = null, fn, arg, ms = 20000 }) {
    this.frames ??= {}
    if (!this.frames[src]) {
      const frame = document.createElement('iframe')
      if (sandbox !== null) frame.setAttribute('sandbox', sandbox)
      const loaded = new Promise((resolve) => { frame.onload = resolve })
      frame.src = src
      document.body.append(frame)
      await loaded
      this.frames[src] = frame
    }
    const id = `${Date.now()}-${Math.random()}`
    return new Promise((resolve) => {
      const done = (answer) => { clearTimeout(timer); window.removeEventListener('message', listen); resolve(answer) }
      const listen = (event) => { if (event.data?.id === id) done(event.data) }
      const timer = setTimeout(() => done({ thrown: `the frame did not answer within ${ms} ms` }), ms)
      window.addEventListener('message', listen)
      this.frames[src].contentWindow.postMessage({ id, fn: String(fn), arg }, '*')
    })
  },
  /** The raw records of a store's IndexedDB database, read without visitstore: proves the data is really there. See rawRecords. */
  rawIdb(name) {
    return this.rawRecords(name)
  },
  /**
   * Opens `visitstore-<name>` as it is, never creating or upgrading it (a missing database stays
   * missing). Resolves to the open connection, or null when there is no such database.
   */
  rawOpen(name) {
    return new Promise((resolve, reject) => {
      const open = indexedDB.open(`visitstore-${name}`)
      let missing = false
      open.onupgradeneeded = () => { missing = true; open.transaction.abort() }
      open.onerror = (event) => {
        event.preventDefault()
        if (missing) resolve(null)
        else reject(open.error)
      }
      open.onsuccess = () => {
        open.result.onversionchange = () => open.result.close()
        resolve(open.result)
      }
    })
  },
  /** How many raw records carry each liveness key in `ks`, by the store's `[k, p]` index (`live`), without visitstore. */
  async countLive(name, ks) {
    const db = await this.rawOpen(name)
    const index = db.transaction('records').objectStore('records').index('live')
    try {
      return await Promise.all(ks.map((k) => new Promise((resolve, reject) => {
        const count = index.count(IDBKeyRange.bound([k], [k, []]))
        count.onsuccess = () => resolve(count.result)
        count.onerror = () => reject(count.error)
      })))
    } finally {
      db.close()
    }
  },
  /**
   * The raw records of the store's layout, read without visitstore: `[[key, record], ...]` of the
   * object store `records` (keyPath `p`). On a database of today's release (version 1: object store
   * `entries`, no `records`) it reads `entries` instead, so that a scenario also runs against that
   * build. [] when the database does not exist (it is not created).
   */
  async rawRecords(name) {
    const db = await this.rawOpen(name)
    if (!db) return []
    const store = db.objectStoreNames.contains('records') ? 'records' : db.objectStoreNames.contains('entries') ? 'entries' : null
    if (!store) { db.close(); return [] }
    return new Promise((resolve, reject) => {
      const tx = db.transaction(store, 'readonly')
      const keys = tx.objectStore(store).getAllKeys()
      const values = tx.objectStore(store).getAll()
      tx.oncomplete = () => { db.close(); resolve(keys.result.map((k, i) => [k, values.result[i]])) }
      tx.onerror = () => { db.close(); reject(tx.error) }
    })
  },
  /**
   * Puts one raw record `{ p: key, v, k, x }` into the store's `records` object store, as other
   * code (or an attacker) could. On today's release's layout (`entries`, keyed by the app key) it
   * puts the same record translated: `p` becomes the key, a non-empty `k` the session stamp `s`.
   * Rejects when the database or both object stores are missing (it never creates them).
   */
  async rawPut(name, record) {
    const db = await this.rawOpen(name)
    if (!db) throw new Error(`rawPut: there is no database visitstore-${name}`)
    const layout = db.objectStoreNames.contains('records') ? 'records' : db.objectStoreNames.contains('entries') ? 'entries' : null
    if (!layout) { db.close(); throw new Error(`rawPut: visitstore-${name} has neither a records nor an entries object store`) }
    return new Promise((resolve, reject) => {
      const tx = db.transaction(layout, 'readwrite')
      if (layout === 'records') {
        tx.objectStore(layout).put(record)
      } else {
        const { p, k, ...rest } = record
        tx.objectStore(layout).put(k === undefined || k === '' ? rest : { ...rest, s: k }, p)
      }
      tx.oncomplete = () => { db.close(); resolve(layout) }
      tx.onerror = () => { db.close(); reject(tx.error) }
    })
  },
  /**
   * A dedicated Worker running page/<file> (see page/worker-store.js), called by message:
   * `await vt.worker('/worker-store.js').call(op, arg)` resolves to { ok, value } or
   * { ok: false, error }, and to a time-out error after `ms` (a hung worker never hangs the driver).
   */
  worker(url, ms = 10000) {
    this.workers ??= {}
    if (this.workers[url]) return this.workers[url]
    const worker = new window.Worker(url)
    const pending = new Map()
    let seq = 0
    worker.onmessage = ({ data }) => {
      pending.get(data.id)?.(data)
      pending.delete(data.id)
    }
    worker.onerror = (event) => {
      for (const [id, done] of pending) done({ id, ok: false, error: { name: 'WorkerError', message: String(event.message) } })
      pending.clear()
    }
    this.workers[url] = {
      worker,
      call: (op, arg) => new Promise((resolve) => {
        const id = ++seq
        const timer = setTimeout(() => {
          pending.delete(id)
          resolve({ id, ok: false, error: { name: 'TimeoutError', message: `the worker did not answer ${op} within ${ms} ms` } })
        }, ms)
        pending.set(id, (answer) => { clearTimeout(timer); resolve(answer) })
        worker.postMessage({ id, op, arg })
      }),
      terminate: () => { worker.terminate(); delete this.workers[url] },
    }
    return this.workers[url]
  },
}
