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

  function get(key) {
    return new Promise((resolve, reject) => {
      const r = db.transaction(STORE, 'readonly').objectStore(STORE).get(key)
      r.onsuccess = () => resolve(r.result)
      r.onerror = () => reject(r.error)
    })
  }

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
    close() { db?.close() },
  })
})()
