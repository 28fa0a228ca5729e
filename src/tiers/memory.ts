import type { RecordBackend, Tx } from './backend.js'

type Stored = { p: string, k?: unknown, x?: unknown }

// structuredClone gives the memory backend IndexedDB's semantics: callers get copies, and
// uncloneable values fail with the same DataCloneError.
const clone = <T>(value: T): T => structuredClone(value)

/** The fallback for IndexedDB: the same records in a Map, for this page only. */
export function createMemoryBackend(): RecordBackend {
  const map = new Map<string, Stored>()
  const sorted = () => [...map.values()].sort((a, b) => (a.p < b.p ? -1 : a.p > b.p ? 1 : 0))
  const backend: RecordBackend = {
    async run(_mode, fn) {
      // Each write remembers what it replaced, so that a failing fn undoes them all, as an aborted transaction would.
      const undo: [string, Stored | undefined][] = []
      const write = (key: string, record?: Stored) => {
        undo.push([key, map.get(key)])
        if (record) map.set(key, record)
        else map.delete(key)
      }
      let result: unknown
      const tx: Tx = {
        get: (key, then) => then(clone(map.get(key))),
        put: (record) => write(record.p, clone(record)),
        delete: (key) => write(key),
        deleteRange: (from, to) => { for (const key of [...map.keys()]) if (key >= from && (to === undefined || key < to)) write(key) },
      }
      try {
        fn(tx, (value) => { result = value })
      } catch (err) {
        for (const [key, old] of undo.reverse()) {
          if (old) map.set(key, old)
          else map.delete(key)
        }
        throw err
      }
      return result as never
    },
    async getMany(keys) {
      return keys.map((key) => clone(map.get(key)))
    },
    // The Map is read in the call: nothing to join.
    readNow: (keys) => backend.getMany(keys),
    async deleteExpired(now, limit) {
      const dead = sorted().filter((r) => typeof r.x === 'number' && r.x <= now).slice(0, limit)
      for (const r of dead) map.delete(r.p)
      return dead.length
    },
    async keys(prefix, limit = Infinity) {
      return sorted().filter((r) => r.p.startsWith(prefix)).slice(0, limit).map((r) => r.p)
    },
    async keysOf(k, prefix = '', limit = Infinity, from = '') {
      return sorted().filter((r) => r.k === k && r.p.startsWith(prefix) && r.p >= from).slice(0, limit).map((r) => r.p)
    },
    async livenessKeys() {
      return [...new Set(sorted().flatMap((r) => (typeof r.k === 'string' ? [r.k] : [])))].sort()
    },
    async expired(now, limit) {
      return sorted().filter((r) => typeof r.x === 'number' && r.x <= now).slice(0, limit).map((r) => r.p)
    },
    async range(from, to, limit = Infinity) {
      return sorted().filter((r) => r.p >= from && r.p < to).slice(0, limit).map(clone)
    },
    deleteRange: (from, to) => backend.run('readwrite', (tx, done) => {
      tx.deleteRange(from, to)
      done(undefined)
    }),
    close() {},
  }
  return backend
}
