// Page-side functions shared by the session scenarios (Express, PHP, Tomcat). The driver serialises
// them into the page, so they use nothing but window.vt and VisitStore.

/**
 * Creates the store (with its event log) and waits for `ready`; watches `watch` keys. A plain
 * `options.session` ({ endpoint }…) becomes `VisitStore.sessionSync(…)` in the page (vt.open).
 */
export const openStore = async ({ name, options, watch = [] }) => {
  const vt = window.vt
  const store = vt.open(name, options)
  await store.ready
  for (const key of watch) vt.watch(name, key)
  return vt.session(name)
}

/** session.refresh() as { ok, error?, session } (never throws across the wire). */
export const refresh = async ({ name }) => {
  const vt = window.vt
  const result = await vt.attempt(() => vt.stores[name].session.refresh())
  return { ok: result.ok, error: result.error, session: vt.session(name) }
}

export const setMany = async ({ name, values }) => {
  const vt = window.vt
  const result = await vt.attempt(() => vt.stores[name].setMany(values))
  return result.ok ? null : result.error
}

export const changes = ({ name }) => window.vt.logs[name].change.length

/** Waits (in the page) for a session change event after the first `count`; null until then. */
export const changeAfter = ({ name, count }) => {
  const log = window.vt.logs[name].change
  return log.length > count ? { session: window.vt.session(name), change: log.at(-1), count: log.length } : null
}
