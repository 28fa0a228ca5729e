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

  function create(withSession) {
    return window.VisitStore.createStore({
      name: 'bench',
      keys: KEYS,
      cookie: { budget: 4096 },
      ...(withSession ? { session: { endpoint: '/session' } } : {}),
    })
  }

  /** The store must really be on IndexedDB and cookies: a silent fallback to memory would look fast. */
  function checkTiers() {
    const { status } = store
    if (status.indexeddb !== 'ok' || status.cookies !== 'ok') window.bench.fail(`store.status is ${JSON.stringify(status)}`)
    if (store.placement('k:0').tier !== 'indexeddb') window.bench.fail(`k:0 is placed in ${store.placement('k:0').tier}`)
    if (store.placement('c:0').tier !== 'cookie') window.bench.fail(`c:0 is placed in ${store.placement('c:0').tier}`)
  }

  window.bench.define({
    name: 'visitstore',
    records: ['visitstore-bench', 'entries'],
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
    close() { store?.close() },
  })
})()
