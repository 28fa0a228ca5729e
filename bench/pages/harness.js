// Page side of the benchmark, the same for every contender: test data, the workloads (timed with
// performance.now()), the checks of every result, and the clean-up of this origin's storage.
// A contender's adapter (pages/adapters/*.js, loaded after this file) calls bench.define(adapter).
(() => {
  'use strict'

  const now = () => performance.now()
  let adapter

  // ---------- test data: deterministic per run nonce, so a stale value from an earlier run fails the checks

  /** A pseudo-random printable ASCII string (xorshift32), so values are not trivially compressible. */
  function noise(length, seed) {
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
    let x = seed | 0 || 1
    const chars = new Array(length)
    for (let i = 0; i < length; i++) {
      x ^= x << 13; x ^= x >>> 17; x ^= x << 5
      chars[i] = alphabet[x & 63]
    }
    return chars.join('')
  }

  const seedOf = (nonce) => [...nonce].reduce((h, c) => Math.imul(h ^ c.charCodeAt(0), 16777619), 2166136261)

  /** `n` keys `k:0…` and values of exactly `size` characters, each starting with the nonce and its index. */
  function dataset({ n, size, nonce, prefix = 'k:' }) {
    const base = noise(size + n, seedOf(nonce))
    const keys = new Array(n)
    const values = new Array(n)
    for (let i = 0; i < n; i++) {
      keys[i] = prefix + i
      const head = `${nonce}:${i}:`
      values[i] = head + base.slice(i, i + size - head.length)
    }
    return { keys, values }
  }

  const coldValue = (nonce) => dataset({ n: 1, size: 100, nonce }).values[0]

  // ---------- checks: any wrong answer throws, and a run that throws counts for nothing

  const show = (v) => (typeof v === 'string' && v.length > 60 ? `${JSON.stringify(v.slice(0, 60))}… (${v.length} chars)` : JSON.stringify(v))

  function fail(what) {
    throw new Error(`${adapter ? adapter.name : 'page'}: ${what}`)
  }

  function checkValues(what, got, want) {
    if (!Array.isArray(got) || got.length !== want.length) fail(`${what}: expected ${want.length} values, got ${show(got)}`)
    for (let i = 0; i < want.length; i++) {
      if (got[i] !== want[i]) fail(`${what}: value #${i} is ${show(got[i])}, expected ${show(want[i])}`)
    }
  }

  const request = (r) => new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result)
    r.onerror = () => reject(r.error)
  })

  /** Counts the records the contender left in its IndexedDB object store: proves they reached the disk-backed database, not memory. */
  async function checkRecords(expected) {
    if (!adapter.records) return
    const [dbName, storeName] = adapter.records
    const names = (await indexedDB.databases()).map((d) => d.name)
    if (!names.includes(dbName)) fail(`database "${dbName}" does not exist (values kept in memory?); databases: ${show(names)}`)
    const db = await request(indexedDB.open(dbName))
    try {
      const count = await request(db.transaction(storeName, 'readonly').objectStore(storeName).count())
      if (count !== expected) fail(`"${dbName}"/"${storeName}" holds ${count} records, expected ${expected}`)
    } finally {
      db.close()
    }
  }

  const cookieNames = () => document.cookie.split('; ').filter(Boolean).map((c) => c.slice(0, c.indexOf('=')))

  // ---------- clean-up of this origin (IndexedDB, Web Storage) and of this contender's cookies

  function deleteDatabase(name) {
    return new Promise((resolve, reject) => {
      const r = indexedDB.deleteDatabase(name)
      // A connection of the previous page may still be closing; the delete waits for it, but not forever.
      const timer = setTimeout(() => reject(new Error(`deleting database "${name}" was blocked for 10 s`)), 10000)
      r.onsuccess = () => { clearTimeout(timer); resolve() }
      r.onerror = () => { clearTimeout(timer); reject(r.error) }
    })
  }

  /**
   * Cookies are per host, not per port, so every contender sees the others': each clears only the
   * ones whose names start with `prefix` (its own), and the others' runs are left alone.
   */
  function clearCookies(prefix) {
    if (!prefix) return
    for (const name of cookieNames()) if (name.startsWith(prefix)) document.cookie = `${name}=; Max-Age=0; Path=/`
    const left = cookieNames().filter((name) => name.startsWith(prefix))
    if (left.length) fail(`cookies survived clearing: ${left.join(', ')}`)
  }

  async function clearStorage() {
    for (const { name } of await indexedDB.databases()) await deleteDatabase(name)
    const left = await indexedDB.databases()
    if (left.length) fail(`databases survived clearing: ${show(left.map((d) => d.name))}`)
    clearCookies(adapter.ownCookies)
    sessionStorage.clear()
    localStorage.clear()
  }

  // ---------- workloads
  // A workload is cut into steps so that the runner can interleave contenders step by step (a burst
  // of machine load then hits all of them alike). `prepare` (untimed) opens the contender and makes
  // the data; `plan` lists the steps as [phase, ...args]; each phase times itself and returns ms;
  // `verify` (untimed) reads everything back and throws on any difference.

  /** [[0, 100], [100, 200], …]: `n` operations in `chunks` steps. */
  const chunks = (n, count) => Array.from({ length: count }, (_, c) => [Math.floor((c * n) / count), Math.floor(((c + 1) * n) / count)])

  const workloads = {
    /** `n` awaited sets one after another, then `n` awaited gets, in `chunks` steps each. */
    sequential: {
      async prepare(p) {
        await adapter.open()
        return { data: dataset(p), got: new Array(p.n) }
      },
      plan: (p) => [...chunks(p.n, p.chunks).map((c) => ['set', ...c]), ...chunks(p.n, p.chunks).map((c) => ['get', ...c])],
      async set({ data: { keys, values } }, from, to) {
        const t = now()
        for (let i = from; i < to; i++) await adapter.set(keys[i], values[i])
        return now() - t
      },
      async get({ data: { keys }, got }, from, to) {
        const t = now()
        for (let i = from; i < to; i++) got[i] = await adapter.get(keys[i])
        return now() - t
      },
      async verify({ data, got }, p) {
        checkValues('sequential get', got, data.values)
        await checkRecords(p.n)
      },
    },

    /** `n` sets started together, awaited with Promise.all. */
    concurrent: {
      async prepare(p) {
        await adapter.open()
        return { data: dataset(p) }
      },
      plan: () => [['set']],
      async set({ data: { keys, values } }) {
        const t = now()
        await Promise.all(keys.map((k, i) => adapter.set(k, values[i])))
        return now() - t
      },
      async verify({ data: { keys, values } }, p) {
        checkValues('read-back after concurrent set', await Promise.all(keys.map((k) => adapter.get(k))), values)
        await checkRecords(p.n)
      },
    },

    /** One setMany of `n` entries, then one getMany of the same keys. */
    batch: {
      async prepare(p) {
        await adapter.open()
        const { keys, values } = dataset(p)
        // Each library's own argument shape, built before the clock starts.
        return { keys, values, entries: keys.map((k, i) => [k, values[i]]), object: Object.fromEntries(keys.map((k, i) => [k, values[i]])) }
      },
      plan: () => [['setMany'], ['getMany']],
      async setMany(batch) {
        const t = now()
        await adapter.setMany(batch)
        return now() - t
      },
      async getMany(batch) {
        const t = now()
        batch.got = await adapter.getMany(batch)
        return now() - t
      },
      async verify({ keys, values, got }, p) {
        checkValues('getMany', adapter.unpackMany ? adapter.unpackMany(got, keys) : got, values)
        await checkRecords(p.n)
      },
    },

    /**
     * `reps` steps of: write `n` cookies then read them back, timed together (a cookie write
     * completes lazily in the browser, so a set alone would hide part of its cost). The
     * contender's workload cookies are cleared before each step and after it (untimed), so that
     * another contender's step never sees them.
     * Synchronous APIs are called without await.
     */
    cookies: {
      async prepare(p) {
        await adapter.open()
        return { names: adapter.cookieNames(p.n) }
      },
      plan: (p) => Array.from({ length: p.reps }, (_, rep) => ['cookies', rep]),
      async cookies({ names }, rep, p) {
        clearCookies(adapter.cookiePrefix)
        const { values } = dataset({ n: p.n, size: p.size, nonce: `${p.nonce}${rep}` })
        const got = new Array(p.n)
        const t = now()
        for (let i = 0; i < p.n; i++) {
          const pending = adapter.cookieSet(names[i], values[i])
          if (pending !== undefined) await pending
        }
        for (let i = 0; i < p.n; i++) {
          const value = adapter.cookieGet(names[i])
          got[i] = value instanceof Promise ? await value : value
        }
        const ms = now() - t
        checkValues(`cookie get (rep ${rep})`, got, values)
        const mine = cookieNames().filter((name) => name.startsWith(adapter.cookiePrefix)).length
        if (mine !== p.n) fail(`document.cookie holds ${mine} of this contender's cookies, expected ${p.n}`)
        // The next contender's step must not parse these: cookies are shared by the host's ports.
        clearCookies(adapter.cookiePrefix)
        return ms
      },
      verify() {},
    },
  }

  /** The run in progress on this page: workload, params, plan, state. */
  let current

  /** Clears storage, opens the contender, prepares the data; resolves to the plan (the steps). */
  async function begin(name, params) {
    if (!adapter) fail('no adapter defined')
    const workload = workloads[name] ?? fail(`unknown workload ${name}`)
    await clearStorage()
    const plan = workload.plan(params)
    current = { workload, params, plan, state: await workload.prepare(params) }
    return plan
  }

  /** Runs step `i` of the plan; resolves to { [phase]: ms }. */
  async function step(i) {
    const [phase, ...args] = current.plan[i]
    const ms = await current.workload[phase](current.state, ...args, current.params)
    return { [phase]: ms }
  }

  /** Checks every value, closes the contender. Throws on any wrong result. */
  async function end() {
    try {
      await current.workload.verify(current.state, current.params)
    } finally {
      current = undefined
      await adapter.close()
    }
  }

  /** First half of a cold start: storage cleared, then one value written by the contender itself. */
  async function seed({ nonce }) {
    await clearStorage()
    await adapter.open({ session: true })
    await adapter.set('k:cold', coldValue(nonce))
    await adapter.close()
  }

  /**
   * Second half, on a fresh page load (`?cold=<nonce>`): from the adapter script's start to the
   * first get resolved (store creation or database open included). Starts while the page is
   * still being parsed, as an app's own start-up script would.
   */
  async function coldStart(nonce) {
    const scriptStart = now()
    const value = await adapter.coldGet('k:cold')
    const result = { cold: now() - scriptStart, libraryLoad: scriptStart - window.benchT0 }
    if (value !== coldValue(nonce)) fail(`cold get returned ${show(value)}, expected ${show(coldValue(nonce))}`)
    if (adapter.afterCold) Object.assign(result, await adapter.afterCold(scriptStart))
    await adapter.close()
    return result
  }

  function define(a) {
    adapter = a
    const nonce = new URLSearchParams(location.search).get('cold')
    if (nonce !== null) {
      window.bench.cold = coldStart(nonce)
      window.bench.cold.catch(() => {}) // reported when the runner awaits it
    }
  }

  window.bench = { define, begin, step, end, seed, fail, now, cold: undefined }
})()
