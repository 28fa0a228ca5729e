// localForage 1.10 (global `localforage`), default instance, which must be on its IndexedDB driver.
// It has no batch API: setMany/getMany are Promise.all over setItem/getItem, as its users write them.
(() => {
  'use strict'
  const lf = window.localforage

  async function ready() {
    await lf.ready()
    if (lf.driver() !== lf.INDEXEDDB) window.bench.fail(`localForage chose driver ${lf.driver()}, not IndexedDB`)
  }

  window.bench.define({
    name: 'localForage',
    records: ['localforage', 'keyvaluepairs'],
    async open() {
      await ready()
      await lf.getItem('warm-up')
    },
    set: (key, value) => lf.setItem(key, value),
    get: (key) => lf.getItem(key),
    setMany: ({ entries }) => Promise.all(entries.map(([key, value]) => lf.setItem(key, value))),
    getMany: ({ keys }) => Promise.all(keys.map((key) => lf.getItem(key))),
    coldGet: (key) => lf.getItem(key),
    afterCold: ready,
    // localForage has no close(); its connection closes itself when a delete asks it to (versionchange).
    close() {},
  })
})()
