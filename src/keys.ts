import { VisitStoreError } from './errors.js'
import type { CookieValueType, Lifetime } from './types.js'
import type { StandardSchemaV1 } from './validation.js'

/** The tier a key's options ask for, before any fallback (`'memory'` is only ever a fallback). */
export type HomeTier = 'cookie' | 'indexeddb' | 'sessionStorage'

/** A declared key or family, checked and normalised (options.ts makes them). */
export interface KeySpec {
  /** As declared: `'theme'` or `'draft:*'`. */
  declared: string
  lifetime: Lifetime
  tier: HomeTier
  /** Cookie Max-Age in seconds; undefined for a session cookie. */
  maxAge?: number
  /** IndexedDB time-to-live in milliseconds. */
  ttlMs?: number
  /** How a cookie value is encoded. */
  type?: CookieValueType
  /** Checks values on write and on read. */
  validate?: StandardSchemaV1
}

/** The declared keys: looks up a concrete key's spec, an exact declaration first, then the longest matching family. */
export interface KeyTable {
  /** The spec of `key`; throws `UNKNOWN_KEY` when nothing declares it. */
  resolve(key: string): KeySpec
  /** The spec of `key`, or undefined. */
  find(key: string): KeySpec | undefined
  readonly specs: readonly KeySpec[]
}

/** A family's prefix (`'draft:'` for `'draft:*'`), or undefined for an exact key. */
export const familyPrefix = (spec: KeySpec): string | undefined =>
  (spec.declared.endsWith('*') ? spec.declared.slice(0, -1) : undefined)

/** Builds the lookup over checked specs. */
export function keyTable(specs: readonly KeySpec[]): KeyTable {
  const exact = new Map<string, KeySpec>()
  const families: [string, KeySpec][] = []
  for (const spec of specs) {
    const prefix = familyPrefix(spec)
    if (prefix === undefined) exact.set(spec.declared, spec)
    else families.push([prefix, spec])
  }
  families.sort((a, b) => b[0].length - a[0].length)
  const find = (key: string) => (typeof key !== 'string' ? undefined
    : exact.get(key) ?? families.find(([prefix]) => key.startsWith(prefix) && key.length > prefix.length)?.[1])
  return {
    find,
    resolve(key) {
      const spec = find(key)
      if (spec) return spec
      throw new VisitStoreError('UNKNOWN_KEY', `${JSON.stringify(key)} is not declared in this store's keys. ` +
        `Add it (or a family such as "${String(key).split(':')[0]}:*") to createStore({ keys }).`)
    },
    specs,
  }
}

/** Whether `key` is declared with these options (any, when a field is left out). */
export function declaredAs(table: KeyTable, key: string, tier?: HomeTier, lifetime?: Lifetime): boolean {
  const spec = table.find(key)
  return spec !== undefined && (tier === undefined || spec.tier === tier) && (lifetime === undefined || spec.lifetime === lifetime)
}
