// Browser scenarios: server rendering and React (issue 16): s1, s2.
//
// s1: an Express app renders a page with react-dom/server and the BUILT visitstore
// (dist/visitstore.js, dist/react.js): useStoreValue for a cookie key, an IndexedDB key and a tab
// key, read from a request-scoped store (createStore({ ...options, cookieHeader })). The browser
// hydrates it (hydrateRoot) from a client bundle this file builds with Vite (offline) from
// page/ssr-client.js, React (development build: its hydration and getSnapshot warnings are on) and
// dist/. The page records every console.error/console.warn, uncaught error and unhandled rejection
// before any script of the app runs, and the root's HTML as the server sent it.
//
// s2: visitstore/server against the browser. Values drawn in Node (fast-check, a fixed seed: the
// hostile strings of h1, numbers, JSON values, hostile family member names) are written by the
// browser's `set` and decoded by `readCookies` in Node from the Cookie header of the next request,
// which must equal the browser's `get`; the same values go through `setCookieHeaders` (the server
// sets them) and the browser store must read back what was written, with the same refusals (codes)
// as its own `set`. Strings cross the driver as UTF-16 code units (lone surrogates and NUL intact).
import { readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import express from 'express'
import fc from 'fast-check'
import { eq, ok, show, until } from './lib/check.mjs'
import { checkBundle, distDir } from './server.mjs'

const here = dirname(fileURLToPath(import.meta.url))
const page = join(here, 'page')
const units = (s) => Array.from({ length: s.length }, (_, i) => s.charCodeAt(i))

/** Starts an Express app on 127.0.0.1 (`routes(app)` adds its routes); resolves to { url, close }. */
async function startApp(routes) {
  const app = express()
  app.disable('x-powered-by')
  app.disable('etag')
  app.use((_req, res, next) => { res.set('cache-control', 'no-store'); next() })
  routes(app)
  const server = app.listen(0, '127.0.0.1')
  const sockets = new Set()
  server.on('connection', (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)) })
  await new Promise((done, fail) => { server.once('listening', done); server.once('error', fail) })
  const url = (path = '/') => `http://127.0.0.1:${server.address().port}${path}`
  return { url, close: () => new Promise((done) => { for (const s of sockets) s.destroy(); server.close(() => done()) }) }
}

const importDist = (dist, file) => import(pathToFileURL(join(dist, file)).href)

// ---- s1: server rendering and hydration with useStoreValue ----

let clientBundle
/**
 * The client bundle (page/ssr-client.js + React + the built visitstore), built once per run with
 * Vite's JavaScript API: no network, nothing written to disk. React's development build, so
 * hydration mismatches and uncached snapshots are reported in the console.
 */
function buildClient(dist) {
  clientBundle ??= (async () => {
    const { build } = await import('vite')
    const out = await build({
      configFile: false, logLevel: 'error', mode: 'development', root: page,
      resolve: {
        alias: [{ find: /^visitstore$/, replacement: join(dist, 'visitstore.js') }, { find: /^visitstore\/react$/, replacement: join(dist, 'react.js') }],
        // One React, resolved from the repository, even for a dist/ elsewhere (VISITSTORE_DIST).
        dedupe: ['react', 'react-dom'],
      },
      define: { 'process.env.NODE_ENV': '"development"' },
      build: {
        write: false, minify: false, sourcemap: false, modulePreload: false, reportCompressedSize: false, outDir: join(tmpdir(), 'visitstore-ssr-client'),
        rollupOptions: { input: join(page, 'ssr-client.js'), output: { format: 'es', inlineDynamicImports: true } },
      },
    })
    const chunk = (Array.isArray(out) ? out : [out]).flatMap((o) => o.output).find((o) => o.type === 'chunk' && o.isEntry)
    if (!chunk) throw new Error('vite build of page/ssr-client.js gave no entry chunk')
    return chunk.code
  })()
  clientBundle.catch(() => { clientBundle = undefined })
  return clientBundle
}

/** Runs in the page's <head> before anything else: every console error and warning, every uncaught error. */
const CAPTURE = `window.__logs = [];
for (const level of ['error', 'warn']) {
  const original = console[level];
  console[level] = (...args) => { window.__logs.push(level + ': ' + args.map((a) => (a && a.message) || String(a)).join(' ').slice(0, 600)); original.apply(console, args) };
}
window.addEventListener('error', (e) => window.__logs.push('uncaught: ' + e.message));
window.addEventListener('unhandledrejection', (e) => window.__logs.push('unhandled rejection: ' + ((e.reason && e.reason.message) || e.reason)));`

async function startSsrApp(dist) {
  const [{ createStore }, { useStoreValue }, React, { renderToString }, { makeApp, S1_OPTIONS }, client] = await Promise.all([
    importDist(dist, 'visitstore.js'), importDist(dist, 'react.js'), import('react'), import('react-dom/server'),
    import(pathToFileURL(join(page, 'ssr-app.js')).href), buildClient(dist),
  ])
  const App = makeApp(React, useStoreValue)
  const app = await startApp((a) => {
    a.get('/', (req, res) => {
      // A store for this request: its cookie values are the request's, and nothing else exists.
      const store = createStore({ ...S1_OPTIONS, cookieHeader: req.headers.cookie })
      let html
      try {
        html = renderToString(React.createElement(App, { store }))
      } finally {
        store.close()
      }
      res.type('html').send(`<!doctype html><html><head><meta charset="utf-8"><title>s1</title><script>${CAPTURE}</script></head>` +
        `<body><div id="root">${html}</div><script>window.__serverHtml = document.getElementById('root').innerHTML</script>` +
        '<script type="module" src="/client.js"></script></body></html>')
    })
    a.get('/client.js', (_req, res) => res.type('js').send(client))
    a.get('/favicon.ico', (_req, res) => res.status(204).end())
  })
  return { ...app, name: S1_OPTIONS.name }
}

/** The page's state: each key's shown text and error, the console record, the server's HTML, whether hydrated. */
const pageState = () => {
  const text = {}
  for (const li of document.querySelectorAll('#root li')) text[li.id] = li.querySelector('output').textContent + (li.querySelector('.error').textContent ? ` !${li.querySelector('.error').textContent}` : '')
  return { text, logs: window.__logs, serverHtml: window.__serverHtml, mounted: window.s1?.mounted === true }
}
const click = (id) => { document.querySelector(`#${id} button`).click(); return true }

/** Loads (or reloads) the page and waits until it is hydrated and the IndexedDB and tab keys are no longer loading. */
async function loaded(t, url, what) {
  await t.goto(url)
  await until(t, () => {
    const s = window.s1?.mounted && [...document.querySelectorAll('#root output')].every((o) => o.textContent !== 'loading')
    return s ? true : undefined
  }, undefined, `${what}: hydrated, nothing loading`, 10000)
  return t.evaluate(pageState)
}

const s1 = {
  id: 's1',
  name: 'SSR: react-dom/server + useStoreValue (cookie, IndexedDB, tab keys) hydrates with no console warning; the cookie value is in the server HTML, the IndexedDB value arrives after load, a setValue reaches a second tab',
  group: 'live',
  async run({ tab }) {
    const dist = distDir()
    checkBundle(dist)
    const app = await startSsrApp(dist)
    try {
      const t1 = await tab()
      // A first visit: nothing stored; then the hook's setValue writes each tier.
      let state = await loaded(t1, app.url('/'), 'first visit')
      eq(state.text, { theme: 'none', prefs: 'none', notes: 'none', scroll: 'none' }, 'first visit: every key empty')
      ok(state.serverHtml?.includes('<output>none</output>'), 'first visit: the server rendered the cookie keys as empty', state.serverHtml)
      for (const k of ['theme', 'prefs', 'notes', 'scroll']) await t1.evaluate(click, k)
      const written = { theme: '"dark"', prefs: '{"n":1,"tags":["a;b","ü"]}', notes: '{"n":1,"text":"xxxxxxxxxx"}', scroll: '{"n":1}' }
      await until(t1, (want) => JSON.stringify(window.s1 && [...document.querySelectorAll('#root output')].map((o) => o.textContent)) === want,
        JSON.stringify(Object.values(written)), 'setValue of every key shown')
      eq((await t1.evaluate(pageState)).logs, [], 'first visit: console errors and warnings')

      // The same tab again: the server renders the cookie values, the browser hydrates them.
      state = await loaded(t1, app.url('/'), 'reload')
      // The root's innerHTML as the browser parsed it: text escapes only & < > (React's &quot; is a plain quote there).
      const esc = (s) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
      ok(state.serverHtml?.includes(`<li id="theme"><output>${esc(written.theme)}</output>`), 'reload: the theme cookie value is in the server HTML', state.serverHtml)
      ok(state.serverHtml?.includes(`<li id="prefs"><output>${esc(written.prefs)}</output>`), 'reload: the object cookie value is in the server HTML', state.serverHtml)
      ok(state.serverHtml?.includes('<li id="notes"><output>loading</output>'), 'reload: the IndexedDB key is loading in the server HTML', state.serverHtml)
      ok(state.serverHtml?.includes('<li id="scroll"><output>loading</output>'), 'reload: the tab key is loading in the server HTML', state.serverHtml)
      eq(state.text, written, 'reload: after load (IndexedDB and tab values filled in)')
      eq(state.logs, [], 'reload: console errors and warnings (hydration)')

      // A second tab: same cookies and IndexedDB, its own (empty) tab value; a setValue in tab 1 reaches it.
      const t2 = await tab()
      const second = await loaded(t2, app.url('/'), 'tab 2')
      eq(second.text, { ...written, scroll: 'none' }, 'tab 2: what it shows after load')
      for (const k of ['theme', 'prefs', 'notes', 'scroll']) await t1.evaluate(click, k)
      const next = { theme: '"light"', prefs: '{"n":2,"tags":["a;b","ü"]}', notes: '{"n":2,"text":"xxxxxxxxxx"}' }
      await until(t2, (want) => {
        const shown = Object.fromEntries([...document.querySelectorAll('#root li')].map((li) => [li.id, li.querySelector('output').textContent]))
        return JSON.stringify(shown) === want ? true : undefined
      }, JSON.stringify({ ...next, scroll: 'none' }), 'tab 2 shows tab 1’s setValue (theme, prefs, notes; not the tab key)')
      eq((await t1.evaluate(pageState)).text, { ...next, scroll: '{"n":2}' }, 'tab 1 after its setValue')
      eq((await t1.evaluate(pageState)).logs, [], 'tab 1: console errors and warnings')
      eq((await t2.evaluate(pageState)).logs, [], 'tab 2: console errors and warnings')
    } finally {
      await app.close()
    }
  },
}

// ---- s2: readCookies and setCookieHeaders against the browser's own cookies ----

const S2 = {
  name: 'ssr2',
  keys: {
    theme: { lifetime: 'persistent', serverVisible: true, maxAge: 3600 },
    zip: { lifetime: 'persistent', serverVisible: true, type: 'string' },
    'p:*': { lifetime: 'session', serverVisible: true },
    't:*': { lifetime: 'session', serverVisible: true, type: 'string' },
    'j:*': { lifetime: 'session', serverVisible: true, type: 'json' },
  },
  cookie: { budget: 100000 },
}
/** h1's seed and its kinds of hostile strings. */
const SEED = 20240607
const TRICKY = [';', ',', '=', '"', '\\', ' ', '\t', '\n', '\0', '\u0001', '\u001f', '\u007f', '%', '+', '&', '\uD800', '\uDC00',
  '😀', '👍🏽', 'é', '€', '\u00a0', '\u2028', '\uFEFF', 'a', 'Z', '0', '{', '}', '[', ']', ':', '*', '$', '(', ')', '#', '^', '`', '|', '!', "'", '~']
const anyUnit = fc.integer({ min: 0, max: 0xffff }).map((n) => String.fromCharCode(n))
const hostile = (maxLength) => fc.oneof(
  fc.string({ unit: 'binary', maxLength }),
  fc.string({ unit: fc.constantFrom(...TRICKY), maxLength }),
  fc.string({ unit: anyUnit, maxLength: Math.ceil(maxLength / 2) }),
)

/** The values of s2: [{ key, value }], each key once. */
function s2Cases() {
  const strings = [...new Set(['', ' ', '10001', 'true', 'null', '"quoted"', '%', '%25', '%zz', '{"a":1}', '[1]', '  padded  ', 'x'.repeat(4000), 'é'.repeat(700),
    ...fc.sample(fc.oneof(hostile(40), fc.string({ unit: fc.constantFrom('x', 'é', '😀', ';', '%'), minLength: 300, maxLength: 1400, size: 'max' })), { seed: SEED, numRuns: 100 })])]
  const numbers = [...new Set([0, -1, 1.5, 1e21, 5e-324, Number.MAX_SAFE_INTEGER, -Number.MAX_VALUE,
    ...fc.sample(fc.oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true })), { seed: SEED + 2, numRuns: 30 })])]
  const json = [null, true, false, {}, [], { a: [1, { b: null }] }, { '__proto__': 1, constructor: 'x' }, ['a;b', 'ü', 1.5],
    ...fc.sample(fc.jsonValue({ maxDepth: 3 }), { seed: SEED + 3, numRuns: 50 })]
  const members = fc.sample(hostile(16), { seed: SEED + 1, numRuns: 50 }).filter((m) => m !== '')
  const cases = [
    { key: 'theme', value: 'dark' }, { key: 'zip', value: '10001' },
    ...strings.flatMap((value, i) => [{ key: `p:s${i}`, value }, { key: `t:s${i}`, value }]),
    ...numbers.flatMap((value, i) => [{ key: `p:n${i}`, value }, { key: `j:n${i}`, value }]),
    ...json.flatMap((value, i) => [{ key: `p:o${i}`, value }, { key: `j:o${i}`, value }]),
    ...members.map((m, i) => ({ key: `p:${m}`, value: i % 2 ? 'v' : { m } })),
  ]
  const seen = new Set()
  return cases.filter(({ key }) => !seen.has(key) && seen.add(key))
}

/** Batches of at most 40 cookies and ~6 KB, so a Cookie header stays far below Node's 16 KB and the browser's per-host count. */
function batches(cases) {
  const size = (c) => c.key.length * 3 + JSON.stringify(c.value).length * 4
  const out = [[]]
  let bytes = 0
  for (const c of cases) {
    const last = out.at(-1)
    if (last.length >= 40 || (last.length && bytes + size(c) > 6000)) { out.push([]); bytes = 0 }
    out.at(-1).push(c)
    bytes += Math.min(size(c), 4200)
  }
  return out
}

/**
 * Page side of s2, one batch: `mode: 'read'`: `set` each value in the browser, then ask /read
 * (readCookies of the request's Cookie header, in Node) and compare with the browser's `get`;
 * `mode: 'write'`: POST the values to /write (setCookieHeaders, set by the server), then the
 * browser's `get` must equal each value the server accepted. Either way the keys are deleted after.
 * Returns the outcome of each case ('ok' or a code) and what went wrong.
 */
const s2Batch = async ({ options, text, mode }) => {
  const vt = window.vt
  let json = ''
  for (let i = 0; i < text.length; i += 4096) json += String.fromCharCode(...text.slice(i, i + 4096))
  const batch = JSON.parse(json)
  const store = vt.open(options.name, options)
  await store.ready
  const problems = []
  const same = (a, b) => JSON.stringify(a) === JSON.stringify(b)
  const brief = (v) => (v === undefined ? 'undefined' : JSON.stringify(v).slice(0, 80))
  let outcomes
  if (mode === 'read') {
    outcomes = []
    const mine = new Map()
    for (const { key, value } of batch) {
      const outcome = vt.outcome(await vt.attempt(() => store.set(key, value)))
      outcomes.push(outcome)
      if (outcome === 'ok') mine.set(key, await store.get(key))
    }
    const { values } = await (await fetch('/read', { cache: 'no-store' })).json()
    for (const [key, got] of mine) {
      if (!Object.prototype.hasOwnProperty.call(values, key)) problems.push(`${brief(key)}: readCookies has no value (browser get: ${brief(got)})`)
      else if (!same(values[key], got)) problems.push(`${brief(key)}: readCookies ${brief(values[key])} ≠ browser get ${brief(got)}`)
    }
    for (const key of Object.keys(values)) if (!mine.has(key)) problems.push(`${brief(key)}: readCookies has a value the browser did not store`)
  } else {
    const res = await fetch('/write', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ values: batch.map(({ key, value }) => [key, value]) }) })
    const { codes } = await res.json()
    outcomes = codes
    for (const [i, { key, value }] of batch.entries()) {
      if (codes[i] !== 'ok') continue
      let got = (await vt.attempt(() => store.get(key))).value
      // A WebKit web process's copy of the cookies can show a response's Set-Cookie a moment after
      // fetch resolved: a missing value is read again (3 s); a wrong one fails at once.
      for (const end = Date.now() + 3000; got === undefined && Date.now() < end;) {
        await new Promise((resolve) => setTimeout(resolve, 50))
        got = (await vt.attempt(() => store.get(key))).value
      }
      if (!same(got, value)) problems.push(`${brief(key)}: server wrote ${brief(value)}, browser get ${brief(got)}`)
    }
  }
  for (const { key } of batch) await vt.attempt(() => store.delete(key))
  const left = document.cookie.split('; ').filter((c) => c.startsWith(`${options.name}_`) && !c.startsWith(`${options.name}_$`))
  if (left.length) problems.push(`cookies left after delete: ${left.join('; ').slice(0, 200)}`)
  return { outcomes, problems }
}

const s2 = {
  id: 's2',
  name: 'visitstore/server vs the browser: readCookies decodes the browser’s cookies (strings, type string, numbers, JSON, families, hostile strings) as its get does; setCookieHeaders output reads back as written, with the same refusals',
  group: 'live',
  async run({ tab }) {
    const dist = distDir()
    const bundle = checkBundle(dist)
    const { readCookies, setCookieHeaders } = await importDist(dist, 'server.js')
    const app = await startApp((a) => {
      for (const [path, file] of [['/', 'page.html'], ['/pre.js', 'pre.js'], ['/helpers.js', 'helpers.js']]) {
        a.get(path, (_req, res) => res.type(file.endsWith('.js') ? 'js' : 'html').send(readFileSync(join(page, file))))
      }
      a.get('/visitstore.iife.js', (_req, res) => res.type('js').send(readFileSync(bundle)))
      a.get('/read', (req, res) => res.json({ values: readCookies(S2, req.headers.cookie) }))
      a.post('/write', express.json({ limit: '1mb' }), (req, res) => {
        const codes = []
        const lines = []
        for (const [key, value] of req.body.values) {
          try {
            lines.push(...setCookieHeaders(S2, { [key]: value }))
            codes.push('ok')
          } catch (err) {
            codes.push(err?.code ?? `raw ${err?.name}: ${err?.message}`)
          }
        }
        res.append('set-cookie', lines).json({ codes })
      })
    })
    try {
      const t = await tab()
      await t.goto(app.url('/'))
      const cases = s2Cases()
      const problems = []
      const outcomes = { read: [], write: [] }
      for (const mode of ['read', 'write']) {
        for (const batch of batches(cases)) {
          const r = await t.evaluate(s2Batch, { options: S2, text: units(JSON.stringify(batch)), mode })
          outcomes[mode].push(...r.outcomes)
          problems.push(...r.problems.map((p) => `${mode}: ${p}`))
        }
      }
      eq(problems.slice(0, 8), [], `${problems.length} value(s) decoded differently`)
      const differ = cases.flatMap((c, i) => (outcomes.read[i] === outcomes.write[i] ? [] : [`${show(c.key)}: browser set ${outcomes.read[i]}, setCookieHeaders ${outcomes.write[i]}`]))
      eq(differ.slice(0, 8), [], `${differ.length} value(s) refused differently by the browser's set and setCookieHeaders`)
      const count = (code) => outcomes.read.filter((o) => o === code).length
      ok(count('ok') >= 350, 'at least 350 values stored and compared', count('ok'))
      ok(count('NOT_SERIALIZABLE') >= 5 && count('COOKIE_TOO_LARGE') >= 5, 'refusals drawn too (NOT_SERIALIZABLE, COOKIE_TOO_LARGE)', { NOT_SERIALIZABLE: count('NOT_SERIALIZABLE'), COOKIE_TOO_LARGE: count('COOKIE_TOO_LARGE') })
      ok(outcomes.read.every((o) => ['ok', 'NOT_SERIALIZABLE', 'COOKIE_TOO_LARGE'].includes(o)), 'only expected outcomes', [...new Set(outcomes.read)])

      // A server-set persistent cookie carries the key's Max-Age: the browser keeps it that long.
      const now = Date.now()
      await t.evaluate(async () => (await fetch('/write', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ values: [['theme', 'light']] }) })).json())
      eq(await t.evaluate(() => window.vt.stores.ssr2.get('theme')), 'light', 'the browser reads the server-set theme')
      if (t.cookies) {
        const jar = (await t.cookies()).find((c) => c.name === 'ssr2_theme')
        ok(jar && jar.session === false && Math.abs(jar.expires - (now / 1000 + 3600)) < 300, 'the server-set theme cookie expires in ≈ 3600 s (maxAge)', jar)
      }
      await t.evaluate(() => window.vt.stores.ssr2.delete('theme'))
    } finally {
      await app.close()
    }
  },
}

export const ssrScenarios = [s1, s2]
