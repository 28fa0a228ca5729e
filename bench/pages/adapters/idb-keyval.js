// idb-keyval 6 (UMD global `idbKeyval`): its default database and store names, through an explicit
// store handle so that the connection can be closed at the end of a run.
(() => {
  'use strict'
  const { createStore, get, set, setMany, getMany } = window.idbKeyval
  let store

  window.bench.define({
    name: 'idb-keyval',
    records: ['keyval-store', 'keyval'],
    async open() {
      store = createStore('keyval-store', 'keyval')
      await get('warm-up', store) // opens (and creates) the database before the clock starts
    },
    set: (key, value) => set(key, value, store),
    get: (key) => get(key, store),
    setMany: ({ entries }) => setMany(entries, store),
    getMany: ({ keys }) => getMany(keys, store),
    coldGet(key) {
      store = createStore('keyval-store', 'keyval')
      return get(key, store)
    },
    close: () => store?.('readonly', (s) => s.transaction.db.close()),
  })
})()
