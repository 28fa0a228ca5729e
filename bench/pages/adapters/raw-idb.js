// Hand-written IndexedDB, the baseline: one transaction per set/get, and one transaction for a whole
// setMany/getMany (the batch baseline). Writes resolve on the transaction's complete event, reads on
// the request's success, as a careful app would write them.
(() => {
  'use strict'
  const DB = 'raw'
  const STORE = 'kv'
  let db

  function openDb() {
    return new Promise((resolve, reject) => {
      const r = indexedDB.open(DB, 1)
      r.onupgradeneeded = () => r.result.createObjectStore(STORE)
      r.onsuccess = () => resolve(r.result)
      r.onerror = () => reject(r.error)
    })
  }

  const committed = (tx) => new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve()
    tx.onerror = tx.onabort = () => reject(tx.error)
  })

  const request = (r) => new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result)
    r.onerror = () => reject(r.error)
  })

  function get(key) {
    return new Promise((resolve, reject) => {
      const r = db.transaction(STORE, 'readonly').objectStore(STORE).get(key)
      r.onsuccess = () => resolve(r.result)
      r.onerror = () => reject(r.error)
    })
  }

  /** The scale reference: the same record layout as visitstore's (keyPath p, indexes on [k, p] and x). */
  const SCALE_DB = 'raw-scale'
  const RECORDS = 'records'
  let scaleDb

  function openScale() {
    return new Promise((resolve, reject) => {
      const r = indexedDB.open(SCALE_DB, 1)
      r.onupgradeneeded = () => {
        const store = r.result.createObjectStore(RECORDS, { keyPath: 'p' })
        store.createIndex('live', ['k', 'p'])
        store.createIndex('x', 'x')
      }
      r.onsuccess = () => resolve(r.result)
      r.onerror = () => reject(r.error)
    })
  }

  const family = (prefix) => IDBKeyRange.bound(prefix, prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1), false, true)

  window.bench.define({
    name: 'raw IndexedDB',
    records: [DB, STORE],
    async open() { db = await openDb() },
    set(key, value) {
      const tx = db.transaction(STORE, 'readwrite')
      tx.objectStore(STORE).put(value, key)
      return committed(tx)
    },
    get,
    setMany({ entries }) {
      const tx = db.transaction(STORE, 'readwrite')
      const store = tx.objectStore(STORE)
      for (const [key, value] of entries) store.put(value, key)
      return committed(tx)
    },
    getMany({ keys }) {
      return new Promise((resolve, reject) => {
        const tx = db.transaction(STORE, 'readonly')
        const store = tx.objectStore(STORE)
        const out = new Array(keys.length)
        keys.forEach((key, i) => {
          const r = store.get(key)
          r.onsuccess = () => {
            out[i] = r.result
            // Requests of one transaction complete in order: the last one means all are in.
            if (i === keys.length - 1) resolve(out)
          }
        })
        tx.onerror = tx.onabort = () => reject(tx.error)
      })
    },
    async coldGet(key) {
      db = await openDb()
      return get(key)
    },
    scale: {
      records: [SCALE_DB, RECORDS],
      sweeps: false,
      async prepare() {
        (await openScale()).close()
        return this.records
      },
      record: (key, value, x) => (x === undefined ? { p: key, v: value } : { p: key, v: value, x }),
      start() {
        scaleDb = openScale()
        return scaleDb
      },
      get: async (key) => (await request((await scaleDb).transaction(RECORDS, 'readonly').objectStore(RECORDS).get(key)))?.v,
      keys: async (prefix) => request((await scaleDb).transaction(RECORDS, 'readonly').objectStore(RECORDS).getAllKeys(family(prefix))),
      /** clear({ lifetime: 'persistent' })'s equivalent: one range delete per family, in one transaction. */
      async clear() {
        const tx = (await scaleDb).transaction(RECORDS, 'readwrite')
        for (const prefix of ['big:', 'one:', 'tmp:']) tx.objectStore(RECORDS).delete(family(prefix))
        return committed(tx)
      },
    },
    close() {
      db?.close()
      void scaleDb?.then((d) => d.close(), () => {})
      scaleDb = undefined
    },
  })
})()
