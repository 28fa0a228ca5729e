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

  /** Value #i of dataset(params) alone, without making the other n - 1 (garbage a timed window would collect). */
  function datasetValue({ n, size, nonce }, i) {
    const head = `${nonce}:${i}:`
    return head + noise(size + n, seedOf(nonce)).slice(i, i + size - head.length)
  }

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
    // `internal`: a key prefix of the contender's own bookkeeping records, which are not counted.
    const [dbName, storeName, internal] = adapter.records
    const names = (await indexedDB.databases()).map((d) => d.name)
    if (!names.includes(dbName)) fail(`database "${dbName}" does not exist (values kept in memory?); databases: ${show(names)}`)
    const db = await request(indexedDB.open(dbName))
    try {
      const store = db.transaction(storeName, 'readonly').objectStore(storeName)
      const count = internal
        ? (await request(store.getAllKeys())).filter((k) => !String(k).startsWith(internal)).length
        : await request(store.count())
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
     * completes lazily in the browser, so a set alone would hide part of its cost). With `sets`
     * (≥ n; W5 of issue 14), `sets` writes cycle over the `n` names (each name overwritten) and
     * `sets` reads follow, each expecting the name's last value. The
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
        const sets = p.sets ?? p.n
        const { values } = dataset({ n: sets, size: p.size, nonce: `${p.nonce}${rep}` })
        const got = new Array(sets)
        const t = now()
        for (let i = 0; i < sets; i++) {
          const pending = adapter.cookieSet(names[i % p.n], values[i])
          if (pending !== undefined) await pending
        }
        for (let i = 0; i < sets; i++) {
          const value = adapter.cookieGet(names[i % p.n])
          got[i] = value instanceof Promise ? await value : value
        }
        const ms = now() - t
        const last = []
        for (let i = 0; i < sets; i++) last[i % p.n] = values[i]
        checkValues(`cookie get (rep ${rep})`, got, got.map((_, i) => last[i % p.n]))
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
    const end = now()
    const result = { cold: end - scriptStart, libraryLoad: scriptStart - window.benchT0, fromPageStart: end - window.benchT0 }
    if (value !== coldValue(nonce)) fail(`cold get returned ${show(value)}, expected ${show(coldValue(nonce))}`)
    if (adapter.afterCold) Object.assign(result, await adapter.afterCold(scriptStart))
    await adapter.close()
    return result
  }

  // ---------- scale (issue 15): a big store, started on a fresh page
  // The seed (untimed: scalePrepare, scaleFill, scaleCount) clears storage, lets the contender make its empty database, then writes
  // `big` + `one` persistent records and `expired` records of a ttl family whose expiry is past,
  // straight into that database in the contender's own record layout (fast: 10,000 puts a
  // transaction), and counts them. scaleRun, on the next (fresh) page, times the start-up, the
  // longest main-thread task until the background sweep is done, keys() of the small family and
  // clear({ lifetime: 'persistent' }), and checks every answer (scaleStart, scaleSwept, scaleOps).

  const SCALE_TX = 10000
  const scaleFamilies = (p) => [['big:', p.big], ['one:', p.one], ['tmp:', p.expired]]

  /** The records of this contender outside its own bookkeeping ones (keys starting with "$"). */
  async function countRecords(db, storeName) {
    const store = db.transaction(storeName, 'readonly').objectStore(storeName)
    const [below, above] = await Promise.all([request(store.count(IDBKeyRange.upperBound('$', true))), request(store.count(IDBKeyRange.lowerBound('%')))])
    return below + above
  }

  const committed = (tx) => new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve()
    tx.onerror = tx.onabort = () => reject(tx.error)
  })

  /** First part of a scale seed: storage cleared, the contender's empty database made by the contender itself. */
  async function scalePrepare() {
    await clearStorage()
    const s = adapter.scale ?? fail('no scale support')
    await s.prepare()
  }

  /** Writes records [from, to) of family `prefix` in the contender's layout (called in parts: each page call is bounded in time). */
  async function scaleFill(p, prefix, from, to) {
    const s = adapter.scale
    const [dbName, storeName] = s.records
    const n = scaleFamilies(p).find(([f]) => f === prefix)[1]
    const { keys, values } = dataset({ n, size: p.size, nonce: `${p.nonce}${prefix}`, prefix })
    const past = Date.now() - 3600000
    const db = await request(indexedDB.open(dbName))
    try {
      for (let at = from; at < to; at += SCALE_TX) {
        const tx = db.transaction(storeName, 'readwrite')
        const store = tx.objectStore(storeName)
        for (let i = at; i < Math.min(to, at + SCALE_TX); i++) store.put(s.record(keys[i], values[i], prefix === 'tmp:' ? past + i : undefined))
        await committed(tx)
      }
    } finally {
      db.close()
    }
  }

  /** Last part of a scale seed: the database holds every record written. */
  async function scaleCount(p) {
    const [dbName, storeName] = adapter.scale.records
    const db = await request(indexedDB.open(dbName))
    try {
      const total = scaleFamilies(p).reduce((sum, [, n]) => sum + n, 0)
      const found = await countRecords(db, storeName)
      if (found !== total) fail(`scale seed: "${dbName}" holds ${found} records, expected ${total}`)
    } finally {
      db.close()
    }
  }

  /**
   * The longest main-thread task from now on: PerformanceObserver 'longtask' (tasks over 50 ms;
   * 0 when there was none) where the browser has it, and in every browser the longest gap between
   * ticks of a 0 ms timer chain (Firefox has no 'longtask': there the gap stands for it). Returns
   * `split()`, which ends a window: { longtask, gap } since the last split.
   */
  function watchTasks() {
    const supported = PerformanceObserver.supportedEntryTypes?.includes('longtask')
    const entries = []
    const observer = supported ? new PerformanceObserver((list) => entries.push(...list.getEntries())) : undefined
    observer?.observe({ type: 'longtask' })
    let from = now()
    let last = from
    let gap = 0
    let beating = true
    const tick = () => {
      const t = now()
      if (t - last > gap) gap = t - last
      last = t
      if (beating) setTimeout(tick, 0)
    }
    setTimeout(tick, 0)
    return {
      supported,
      split({ stop = false } = {}) {
        const t = now()
        if (observer) entries.push(...observer.takeRecords())
        const longest = Math.max(0, ...entries.filter((e) => e.startTime + e.duration > from && e.startTime < t).map((e) => e.duration))
        const window = { longtask: supported ? longest : Math.max(gap, t - last), gap: Math.max(gap, t - last) }
        from = t
        gap = 0
        if (stop) {
          beating = false
          observer?.disconnect()
        }
        return window
      },
    }
  }

  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

  /** The scale run in progress on this (fresh) page: the contender's handle, params, watch, results. */
  let scale

  /**
   * First part of a scale run, on the fresh page: starts the task watch and the contender, issues
   * a get at once, waits for `ready` (and the get), and `afterReadyMs` more. Then the runner calls
   * scaleSwept until the background sweep is done (in calls of up to 20 s, each bounded by the
   * runner), then scaleOps.
   */
  async function scaleStart(p) {
    const s = adapter.scale ?? fail('no scale support')
    if (document.visibilityState !== 'visible') fail('scale: the page is hidden (its timers would be throttled)')
    const probe = `big:${p.big >> 1}`
    const want = datasetValue({ n: p.big, size: p.size, nonce: `${p.nonce}big:` }, p.big >> 1)
    const result = {}
    let firstGet

    const tasks = watchTasks()
    const t0 = now()
    const ready = s.start() // createStore, or the database open
    const got = s.get(probe).then((v) => { firstGet = now() - t0; return v })
    await ready
    result.ready = now() - t0
    const value = await got
    if (value !== want) fail(`scale: get("${probe}") returned ${show(value)}, expected ${show(want)}`)
    result.firstGet = firstGet
    scale = { s, p, t0, tasks, probe, result }
    // Start-up goes on in the background (the sweep): watched until it is done, and a while more.
    await sleep(Math.max(0, t0 + result.ready + p.afterReadyMs - now()))
    scale.db = await request(indexedDB.open(s.records[0]))
  }

  /** Resolves to true once no expired record is left (polled every 100 ms, for up to 20 s a call). */
  async function scaleSwept() {
    const { s, p, t0, db } = scale
    if (!p.expired || !s.sweeps) return true
    const until = now() + 20000
    for (;;) {
      const index = db.transaction(s.records[1], 'readonly').objectStore(s.records[1]).index('x')
      const dead = await request(index.getKey(IDBKeyRange.upperBound(Date.now())))
      if (dead === undefined) break
      if (now() - t0 > p.sweepTimeoutMs) fail(`scale: expired records are still there ${p.sweepTimeoutMs / 1000} s after the start (${dead}, ${await request(index.count(IDBKeyRange.upperBound(Date.now())))} of them)`)
      if (now() > until) return false
      await sleep(100)
    }
    scale.result.sweep = now() - t0
    await sleep(p.afterSweepMs)
    return true
  }

  /** Last part: ends the start-up window, checks what start-up left, times keys() and clear(), checks them. */
  async function scaleOps() {
    const { s, p, db, tasks, probe, result } = scale
    const [dbName, storeName] = s.records
    try {
      Object.assign(result, tasks.split())
      const left = await countRecords(db, storeName)
      const expect = p.big + p.one + (s.sweeps ? 0 : p.expired)
      if (left !== expect) fail(`scale: after start-up "${dbName}" holds ${left} records, expected ${expect}`)
      if (p.expired && s.sweeps && (await s.get('tmp:0')) !== undefined) fail('scale: an expired key still reads as present')

      let t = now()
      const keys = await s.keys('one:')
      result.keys = now() - t
      checkValues('scale keys("one:")', keys, Array.from({ length: p.one }, (_, i) => `one:${i}`).sort())

      t = now()
      await s.clear()
      result.clear = now() - t
      result.opsLongtask = tasks.split({ stop: true }).longtask
      const after = await countRecords(db, storeName)
      if (after !== 0) fail(`scale: after clear "${dbName}" holds ${after} records, expected 0`)
      if ((await s.get(probe)) !== undefined) fail(`scale: get("${probe}") still finds a value after clear`)
      checkValues('scale keys("big:") after clear', await s.keys('big:'), [])
      const errors = s.errors?.() ?? []
      if (errors.length) fail(`scale: the store reported ${errors.length} error(s): ${errors.slice(0, 3).map((e) => `${e.code}: ${e.message}`).join(' | ')}`)
    } finally {
      db.close()
      scale = undefined
      await adapter.close()
    }
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

  window.bench = { define, begin, step, end, seed, scalePrepare, scaleFill, scaleCount, scaleStart, scaleSwept, scaleOps, fail, now, cold: undefined }
})()
