// A visitstore store in a dedicated Worker, driven by messages from the page (vt.worker() in
// helpers.js): { id, op, arg } in, { id, ok, value } or { id, ok: false, error } out. The bundle is
// the same script-tag build the page loads, through importScripts, as an app's worker would.
globalThis.importScripts('/visitstore.iife.js')

const stores = {}
const logs = {}
/** Structured clone has undefined, but the page hands the answer to a driver that has not: mark it. */
const u = (value) => (value === undefined ? '(undefined)' : value)
const errorJson = (err) => ({
  name: err?.name, code: err?.code, message: String(err?.message ?? err),
  isVisitStoreError: Boolean(globalThis.VisitStore) && err instanceof globalThis.VisitStore.VisitStoreError,
})

const ops = {
  /** createStore({ name, keys }) here (with `session`: sessionSync(session)), its `error` and `invalid` events logged. */
  open({ name, keys, session }) {
    const store = globalThis.VisitStore.createStore({ name, keys, ...(session ? { session: globalThis.VisitStore.sessionSync(session) } : {}) })
    const log = (logs[name] = { error: [], invalid: [] })
    store.on('error', (err) => log.error.push(errorJson(err)))
    store.on('invalid', (event) => log.invalid.push({ key: event?.key, reason: String(event?.reason) }))
    stores[name] = store
    return true
  },
  async ready({ name }) {
    await stores[name].ready
    return true
  },
  async get({ name, key }) {
    return u(await stores[name].get(key))
  },
  async set({ name, key, value }) {
    await stores[name].set(key, value)
    return true
  },
  async getMany({ name, keys }) {
    const got = await stores[name].getMany(keys)
    return Object.fromEntries(keys.map((k) => [k, u(got[k])]))
  },
  /** store.session.end(): true, or the rejection's code. */
  async end({ name }) {
    try {
      await stores[name].session.end()
      return true
    } catch (err) {
      return `rejected: ${err?.code ?? err}`
    }
  },
  /** store.clear(): true, or the rejection's code. */
  async clear({ name }) {
    try {
      await stores[name].clear()
      return true
    } catch (err) {
      return `rejected: ${err?.code ?? err}`
    }
  },
  /** store.session.refresh(), then the session's tag and state. */
  async refresh({ name }) {
    await stores[name].session.refresh()
    return { tag: stores[name].session.tag, state: stores[name].session.state }
  },
  status({ name }) {
    return stores[name].status
  },
  log({ name }) {
    return logs[name]
  },
  close({ name }) {
    stores[name].close()
    delete stores[name]
    return true
  },
}

globalThis.onmessage = async ({ data }) => {
  const { id, op, arg } = data
  try {
    if (!ops[op]) throw new Error(`unknown op ${op}`)
    globalThis.postMessage({ id, ok: true, value: await ops[op](arg) })
  } catch (err) {
    globalThis.postMessage({ id, ok: false, error: errorJson(err) })
  }
}
