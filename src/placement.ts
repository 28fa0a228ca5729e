import type { KeySpec } from './keys.js'
import { MAX_COOKIE_AGE } from './options.js'
import type { Placement, Tier } from './types.js'

/**
 * Where a key lives and why, for `store.placement(key)`. `tier` is where it really is now
 * (`'memory'` when its tier failed); `bound`: the store syncs a server session.
 */
export function placementOf(spec: KeySpec, tier: Tier, bound: boolean, pageScope = false): Placement {
  const why = reason(spec, tier === 'memory' && !pageScope, bound)
  return { tier, lifetime: spec.lifetime, reason: pageScope ? `${why.split(';')[0]}; this context cannot see the browser session (status.browserSession 'page'), kept in memory for this page` : why }
}

function reason(spec: KeySpec, degraded: boolean, bound: boolean): string {
  if (spec.tier === 'cookie') {
    return spec.lifetime === 'session'
      ? `serverVisible: the server reads it from the Cookie header; session lifetime: a session cookie (no Expires)${bound ? ', removed when the server session changes' : ''}`
      : `serverVisible: the server reads it from the Cookie header; persistent: Max-Age ${spec.maxAge ?? MAX_COOKIE_AGE}s`
  }
  if (spec.tier === 'sessionStorage') {
    return degraded ? "lifetime 'tab': sessionStorage is unavailable, kept in memory for this page" : "lifetime 'tab': per-tab sessionStorage"
  }
  const why = spec.lifetime === 'session'
    ? `client-only, stamped with the browser session${bound ? ' and the server session' : ''} and swept when ${bound ? 'either' : 'it'} ends`
    : spec.ttlMs === undefined ? 'client-only, persistent' : `client-only, expires ${spec.ttlMs / 1000}s after each write`
  return degraded ? `${why}; IndexedDB is unavailable, kept in memory for this page` : `${why}; in IndexedDB (never sent to the server)`
}
