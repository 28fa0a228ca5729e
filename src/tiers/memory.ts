import { BatchOpError, type EntryBackend, type WriteOp } from './indexeddb.js'

// structuredClone gives the memory tier IndexedDB's semantics: callers get copies, and
// uncloneable values fail with the same DataCloneError.
const clone: <T>(value: T) => T = typeof structuredClone === 'function' ? (v) => structuredClone(v) : (v) => v

/** The fallback for IndexedDB: the same records in a Map, for this page only. */
export function createMemoryBackend(): EntryBackend {
  const map = new Map<string, unknown>()
  return {
    async getMany(keys) {
      return keys.map((k) => clone(map.get(k)))
    },
    async writeBatch(ops: readonly WriteOp[]) {
      ops.forEach((op, index) => {
        let copies: (readonly [string, unknown])[]
        try {
          copies = (op.put ?? []).map(([k, v]) => [k, clone(v)] as const)
        } catch (err) {
          throw new BatchOpError(index, err)
        }
        for (const [k, v] of copies) map.set(k, v)
        for (const k of op.del ?? []) map.delete(k)
      })
    },
    async setMany(entries) {
      const copies = entries.map(([k, v]) => [k, clone(v)] as const)
      for (const [k, v] of copies) map.set(k, v)
    },
    async delMany(keys) {
      for (const k of keys) map.delete(k)
    },
    async update(key, fn) {
      map.set(key, clone(fn(clone(map.get(key)))))
    },
    async entries() {
      return [...map].map(([k, v]) => [k, clone(v)])
    },
    async sweep(keys, isDead) {
      for (const k of keys) if (map.has(k) && isDead(map.get(k))) map.delete(k)
    },
    async rewrite(decide) {
      const dropped: string[] = []
      for (const [key, raw] of [...map]) {
        const next = decide(clone(raw))
        if (next === null) {
          map.delete(key)
          dropped.push(key)
        } else if (next !== undefined) {
          map.set(key, clone(next))
        }
      }
      return dropped
    },
    close() {},
  }
}
