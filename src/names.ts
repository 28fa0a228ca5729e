/**
 * Every name a store derives from its own name, made here and nowhere else: the IndexedDB
 * database, cookie and sessionStorage prefixes, the BroadcastChannel and the Web Lock names.
 * Store names hold only letters, digits and `-` (see options.ts), so `<name>_` is unambiguous.
 */
export interface Names {
  /** IndexedDB database: `visitstore-shop`. */
  db: string
  /** Cookie names: `shop_theme`. */
  cookie: (key: string) => string
  /** sessionStorage item names start with it: `visitstore:shop:`. */
  tab: string
  /** The store's BroadcastChannel (and the stem of its lock names). */
  channel: string
  /** A Web Lock shared by the store's tabs: `visitstore:shop:cookies`. */
  lock: (what: string) => string
}

/** Store key of the browser-session marker cookie (`shop_$s`). Keys starting with `$` are reserved. */
export const MARKER_KEY = '$s'
/** Store key of the journal's commit mark cookie (`shop_$c`). */
export const COMMIT_KEY = '$c'
/** Store key of the session cookie naming the browser-session stamps `end()` ended, newest first, `.`-separated (`shop_$x`). */
export const ENDED_KEY = '$x'
/** Store key of the session cookie holding the server session's state where IndexedDB cannot be used (`shop_$t`). */
export const STATE_KEY = '$t'

/** The names of store `name`. @example storeNames('shop').cookie('theme') === 'shop_theme' */
export function storeNames(name: string): Names {
  const stem = `visitstore:${name}`
  return {
    db: `visitstore-${name}`,
    cookie: (key) => `${name}_${key}`,
    tab: `${stem}:`,
    channel: stem,
    lock: (what) => `${stem}:${what}`,
  }
}
