// One tab's calls, awaited or not, with server-session changes among them, judged against the calls
// applied in call order. One implementation for two places: test/order-session.test.ts (happy-dom,
// a stubbed session server) and browser scenario 7n (the page imports it from the suite's server).

const ALL = ['theme', 'locale', 'visits', 'cart', 'scroll']
const SESSION_KEYS = ['locale', 'cart']
const COOKIE_KEYS = ['theme', 'locale']

/** The keys the store must declare: a persistent and a session cookie key, a persistent and a session record, a tab key. */
export const ROUND_KEYS = {
  theme: { lifetime: 'persistent', serverVisible: true, type: 'string' },
  locale: { lifetime: 'session', serverVisible: true, type: 'string' },
  visits: { lifetime: 'persistent' },
  cart: { lifetime: 'session' },
  scroll: { lifetime: 'tab' },
}

const same = (a, b) => JSON.stringify(a) === JSON.stringify(b)
const show = (v) => (v && typeof v === 'object' ? `{n:${v.n}}` : String(v))

/**
 * `rounds` rounds of 1 to 6 calls (set, setMany, delete, update, clear, get, getMany) over
 * ROUND_KEYS, each round maybe ending in a session change, awaited: `session.end()`, or
 * `serverChange(pick, n)` (the server side: a login, a logout…; resolves to a label) and then
 * `refresh()`. The model purges where the change purges (a new tag, end()) and keeps the data where
 * it moves it (keepOnLogin at a login from no session or an anonymous one), from the tags the store
 * shows before and after. Judged: each update's input, each read (the state its call was made in or
 * a later call's write), and the state after each round (getMany and `cookieOf`, for up to
 * `settleMs`). An update of a session key still on its way at a purge ran before it (its input the
 * call-order one, its result purged) or after it (its input missing or a later update's; its result
 * kept unless a later call of the round cleared it). Resolves to { mismatches, purges, moves }; stops
 * after 5 mismatches.
 * @param {{ store: any, rounds: number, random: (n: number) => number, keepOnLogin: boolean,
 *   valueFor: (key: string, n: number) => unknown, serverChange: (pick: number, n: number) => Promise<string>,
 *   pause: (kind: number, call: Promise<unknown>) => Promise<void>, cookieOf: (key: string) => string | undefined,
 *   cookieReads: boolean, settleMs: number }} o
 *   `cookieReads`: judge reads of cookie keys inside a round (WebKit's copy of the jar can lag the page's own writes).
 */
export async function sessionRounds(o) {
  const { store, random } = o
  const model = new Map()
  const mismatches = []
  let purges = 0
  let moves = 0
  for (let round = 0; round < o.rounds && mismatches.length < 5; round++) {
    const log = []
    const calls = []
    const changes = []
    const change = (key, value) => {
      if (value === undefined) model.delete(key)
      else model.set(key, value)
      changes.push([key, value])
    }
    const reads = []
    const updates = []
    const pending = new Set()
    let ambiguous = []
    for (let i = 0, n = 1 + random(6); i < n; i++) {
      const key = ALL[random(ALL.length)]
      const other = ALL[random(ALL.length)]
      const kind = random(12)
      const v = round * 10 + i
      const at = log.length
      let made
      if (kind <= 2) {
        change(key, o.valueFor(key, v))
        made = store.set(key, o.valueFor(key, v))
        log.push(`set(${key})`)
      } else if (kind === 3) {
        const entries = Object.fromEntries([[key, o.valueFor(key, v)], [other, o.valueFor(other, v + 1)]])
        for (const [k, value] of Object.entries(entries)) change(k, value)
        made = store.setMany(entries)
        log.push(`setMany(${key}, ${other})`)
      } else if (kind === 4) {
        change(key, undefined)
        made = store.delete(key)
        log.push(`delete(${key})`)
      } else if (kind === 5) {
        const u = { key, input: model.get(key), next: o.valueFor(key, v), at, seen: undefined }
        change(key, u.next)
        updates.push(u)
        pending.add(u)
        made = store.update(key, (current) => {
          u.seen = { value: current }
          return u.next
        }).finally(() => pending.delete(u))
        log.push(`update(${key})`)
      } else if (kind === 6) {
        for (const k of ALL) change(k, undefined)
        made = store.clear()
        log.push('clear()')
      } else if (kind <= 8) {
        const asked = kind === 7 ? [key, other] : [key]
        const got = kind === 7 ? store.getMany(asked) : store.get(key).then((value) => ({ [key]: value }))
        reads.push({ asked, from: changes.length, before: asked.map((k) => model.get(k)), got, at })
        made = got
        log.push(kind === 7 ? `getMany(${key}, ${other})` : `get(${key})`)
      } else {
        // A session change ends the round, awaited: its purge is applied before its call resolves.
        const before = { tag: store.session.tag, state: store.session.state }
        const pick = random(6)
        const ending = pick === 5
        const onTheirWay = [...pending]
        const label = ending ? 'end()' : `${await o.serverChange(pick, v)}, refresh()`
        made = ending ? store.session.end() : store.session.refresh()
        await made.catch(() => {})
        const next = { tag: store.session.tag, state: store.session.state }
        const moved = !ending && o.keepOnLogin && next.tag !== null && next.tag !== before.tag && (before.state === 'none' || before.state === 'anonymous')
        const purging = ending || (next.tag !== before.tag && !moved)
        log.push(`${label} → ${next.state}${purging ? ' (purge)' : moved ? ' (move)' : ''}`)
        if (purging) {
          purges++
          ambiguous = onTheirWay.filter((u) => SESSION_KEYS.includes(u.key))
          for (const k of SESSION_KEYS) change(k, undefined)
        } else if (moved) moves++
        calls.push(made)
        break
      }
      calls.push(made)
      await o.pause(random(6), made)
    }
    const where = `round ${round}: ${log.join(', ')}`
    const failed = (await Promise.allSettled(calls)).filter((r) => r.status === 'rejected').map((r) => String(r.reason?.message ?? r.reason))
    if (failed.length) mismatches.push(`${where}: rejected: ${failed.join('; ')}`)
    for (const u of updates) {
      const allowed = ambiguous.includes(u) ? [u.input, undefined] : [u.input]
      if (!allowed.some((a) => same(a, u.seen?.value))) mismatches.push(`${where}: update(${u.key}) at call ${u.at} got ${show(u.seen?.value)}; allowed ${allowed.map(show).join(' or ')}`)
    }
    const state = await store.getMany(ALL)
    for (const key of new Set(ambiguous.map((u) => u.key))) {
      const possible = [undefined, ...ambiguous.filter((u) => u.key === key).map((u) => u.next)]
      if (!possible.some((p) => same(p, state[key]))) mismatches.push(`${where}: ${key} after updates on their way at the purge is ${show(state[key])}`)
      change(key, state[key])
    }
    for (const read of reads) {
      const got = await read.got.catch(() => ({}))
      read.asked.forEach((k, n) => {
        if (!o.cookieReads && COOKIE_KEYS.includes(k)) return
        const possible = [read.before[n], ...changes.slice(read.from).filter(([c]) => c === k).map(([, value]) => value)]
        if (!possible.some((p) => same(p, got[k]))) mismatches.push(`${where}: call ${read.at} read ${k} as ${show(got[k])}; allowed ${possible.map(show).join(' or ')}`)
      })
    }
    const want = Object.fromEntries(ALL.map((k) => [k, model.get(k)]))
    const right = (got) => same(got, want) && COOKIE_KEYS.every((k) => o.cookieOf(k) === model.get(k))
    let got = state
    for (const end = Date.now() + o.settleMs; !right(got) && Date.now() < end; got = await store.getMany(ALL)) {
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    if (!right(got)) {
      const brief = (values) => JSON.stringify(Object.fromEntries(ALL.map((k) => [k, show(values[k])])))
      mismatches.push(`${where}: the store holds ${brief(got)}, the cookies ${brief(Object.fromEntries(COOKIE_KEYS.map((k) => [k, o.cookieOf(k)])))}; calls in order give ${brief(want)}`)
    }
  }
  return { mismatches, purges, moves }
}
