import { storageError } from '../errors.js'

/** The tab tier: sessionStorage under the store's prefix, or a Map when sessionStorage is unusable. */
export interface TabTier {
  /** `'sessionStorage'`, or `'memory'` when the browser refused sessionStorage. */
  readonly mode: 'sessionStorage' | 'memory'
  read(key: string): string | undefined
  /** Writes all or nothing: on failure the values written so far are put back. */
  write(writes: readonly (readonly [key: string, text: string])[]): void
  remove(keys: readonly string[]): void
  keys(): string[]
}

function memoryStorage(): Pick<Storage, 'getItem' | 'setItem' | 'removeItem' | 'key' | 'length'> {
  const map = new Map<string, string>()
  return {
    getItem: (k) => map.get(k) ?? null,
    setItem: (k, v) => void map.set(k, v),
    removeItem: (k) => void map.delete(k),
    key: (i) => [...map.keys()][i] ?? null,
    get length() { return map.size },
  }
}

/**
 * Creates the tab tier over `storage()` (the page's sessionStorage, a replacement, or null for
 * none). sessionStorage is first touched at the first use: in Chromium that costs a few
 * milliseconds, which a store without tab keys should not pay at every page load.
 */
export function createTabTier(prefix: string, storage: () => Storage | null): TabTier {
  let chosen: { area: Pick<Storage, 'getItem' | 'setItem' | 'removeItem' | 'key' | 'length'>, mode: TabTier['mode'] } | undefined
  const choose = () => {
    if (!chosen) {
      const real = storage()
      chosen = real ? { area: real, mode: 'sessionStorage' } : { area: memoryStorage(), mode: 'memory' }
    }
    return chosen
  }
  const itemName = (key: string) => prefix + key
  const read = (key: string) => choose().area.getItem(itemName(key)) ?? undefined
  return {
    get mode() { return choose().mode },
    read,
    write(writes) {
      const { area } = choose()
      const previous = writes.map(([key]) => read(key))
      let written = 0
      try {
        for (const [key, text] of writes) {
          area.setItem(itemName(key), text)
          written++
        }
      } catch (err) {
        // setItem is atomic per item: the one that failed kept its value; put back the ones before it.
        for (let i = written - 1; i >= 0; i--) {
          const name = itemName((writes[i] as readonly [string, string])[0])
          const old = previous[i]
          if (old === undefined) area.removeItem(name)
          else area.setItem(name, old)
        }
        throw storageError(err, `set("${writes.map(([k]) => k).join('", "')}") in sessionStorage`)
      }
    },
    remove(keys) {
      if (!keys.length) return
      const { area } = choose()
      for (const key of keys) area.removeItem(itemName(key))
    },
    keys() {
      const { area } = choose()
      const out: string[] = []
      for (let i = 0; i < area.length; i++) {
        const name = area.key(i)
        if (name !== null && name.startsWith(prefix)) out.push(name.slice(prefix.length))
      }
      return out
    },
  }
}
