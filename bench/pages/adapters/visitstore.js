// visitstore (global `VisitStore`, the built IIFE): a family `k:*` of client-only persistent keys
// (IndexedDB) and a family `c:*` of server-visible string keys (cookies). The cold start also syncs
// the server session from GET /session, which this origin answers with {"tag":"bench-tag"}.
(() => {
  'use strict'
  const KEYS = {
    'k:*': { lifetime: 'persistent' },
    'c:*': { lifetime: 'persistent', serverVisible: true, type: 'string' },
  }
  let store
  let errors = []

  function create(withSession) {
    return window.VisitStore.createStore({
      name: 'bench',
      keys: KEYS,
      cookie: { budget: 4096 },
      ...(withSession ? { session: window.VisitStore.sessionSync({ endpoint: '/session' }) } : {}),
    })
  }

  /** Issue 15's scale workload: big families of persistent keys, and a ttl family (its records are written expired). */
  const SCALE_KEYS = {
    ...KEYS,
    'big:*': { lifetime: 'persistent' },
    'one:*': { lifetime: 'persistent' },
    'tmp:*': { lifetime: 'persistent', ttl: 3600 },
  }
  const createScale = () => window.VisitStore.createStore({ name: 'bench', keys: SCALE_KEYS, cookie: { budget: 4096 } })

  /** The store must really be on IndexedDB and cookies: a silent fallback to memory would look fast. */
  function checkTiers() {
    const { status } = store
    if (status.indexeddb !== 'ok' || status.cookies !== 'ok') window.bench.fail(`store.status is ${JSON.stringify(status)}`)
    if (store.placement('k:0').tier !== 'indexeddb') window.bench.fail(`k:0 is placed in ${store.placement('k:0').tier}`)
    if (store.placement('c:0').tier !== 'cookie') window.bench.fail(`c:0 is placed in ${store.placement('c:0').tier}`)
  }

  window.bench.define({
    name: 'visitstore',
    records: ['visitstore-bench', 'records', '$'],
    ownCookies: 'bench_', // its workload cookies and its session marker
    cookiePrefix: 'bench_c%3A', // the c:* keys
    async open({ session = false } = {}) {
      store = create(session)
      await store.ready
      checkTiers()
    },
    set: (key, value) => store.set(key, value),
    get: (key) => store.get(key),
    setMany: ({ object }) => store.setMany(object),
    getMany: ({ keys }) => store.getMany(keys),
    unpackMany: (got, keys) => keys.map((key) => got[key]),
    cookieNames: (n) => Array.from({ length: n }, (_, i) => `c:${i}`),
    cookieSet: (key, value) => store.set(key, value),
    cookieGet: (key) => store.get(key),
    coldGet(key) {
      store = create(true)
      return store.get(key)
    },
    /** After the timed get: how long until `ready` (session checked, stale data swept), and that the check happened. */
    async afterCold(scriptStart) {
      await store.ready
      const ready = window.bench.now() - scriptStart
      checkTiers()
      if (store.session.tag !== 'bench-tag') window.bench.fail(`session.tag is ${JSON.stringify(store.session.tag)} after ready`)
      return { ready }
    },
    scale: {
      records: ['visitstore-bench', 'records'],
      sweeps: true, // expired records are deleted in the background after start-up
      /** The database as the store makes it (layout, key declarations saved); the harness then fills it. */
      async prepare() {
        store = createScale()
        await store.ready
        checkTiers()
        store.close()
        return this.records
      },
      /** A record in the store's layout (src/records.ts): `p` key, `v` value, `x` expiry (ms since the epoch). */
      record: (key, value, x) => (x === undefined ? { p: key, v: value } : { p: key, v: value, x }),
      start() {
        store = createScale()
        errors = []
        store.on('error', (e) => errors.push(e))
        return store.ready.then(checkTiers)
      },
      /** Errors the store reported since start(): the run fails on any (a failed sweep must not look fast). */
      errors: () => errors,
      get: (key) => store.get(key),
      keys: (prefix) => store.keys(prefix),
      clear: () => store.clear({ lifetime: 'persistent' }),
    },
    close() { store?.close() },
  })
})()
