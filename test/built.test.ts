// The files users actually load: the IIFE through a <script> tag, the ESM entry from Node.
import { execFileSync } from 'node:child_process'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { IDBFactory } from 'fake-indexeddb'
import { Window } from 'happy-dom'
import { describe, expect, test } from 'vitest'

const root = resolve(import.meta.dirname, '..')
const pkg = JSON.parse(readFileSync(resolve(root, 'package.json'), 'utf8')) as {
  types: string, unpkg: string, jsdelivr: string, sideEffects: boolean,
  exports: Record<string, { types: string, default: string } | string>,
}
const built = (file: string) => resolve(root, file)
const entry = (name: string) => pkg.exports[name] as { types: string, default: string } | undefined

/** The JavaScript an ESM entry loads: the file and every chunk it imports statically, transitively. */
function loadedCode(file: string, seen = new Set<string>()): string {
  if (seen.has(file)) return ''
  seen.add(file)
  const code = readFileSync(file, 'utf8')
  const chunks = [...code.matchAll(/^import [^'"]*['"](\.[^'"]+)['"]/gm)].map((m) => resolve(file, '..', m[1] as string))
  return code + chunks.map((chunk) => loadedCode(chunk, seen)).join('\n')
}

/** Runs an ES module in a plain Node process and returns what it printed. */
const inNode = (probe: string) => execFileSync(process.execPath, ['--input-type=module', '-e', probe], { cwd: root, encoding: 'utf8', timeout: 20_000 })

describe('build output', () => {
  test('every file package.json names exists (run `npm run build` first)', () => {
    const main = entry('.') as { types: string, default: string }
    expect(Object.keys(main)[0]).toBe('types') // "types" must come first in the condition map
    const exported = Object.values(pkg.exports).flatMap((target) => (typeof target === 'string' ? [target] : [target.types, target.default]))
    for (const file of [pkg.types, pkg.unpkg, pkg.jsdelivr, ...exported]) {
      expect.soft(existsSync(built(file)), `${file} is missing`).toBe(true)
    }
    for (const target of Object.values(pkg.exports)) if (typeof target !== 'string') expect(Object.keys(target)[0]).toBe('types')
    expect(pkg.unpkg).toMatch(/iife/)
    expect(pkg.sideEffects).toBe(false)
  })

  test('the build has the three entries, their declarations, and the chunks they share', () => {
    for (const file of ['visitstore.js', 'visitstore.d.ts', 'session.js', 'session.d.ts', 'server.js', 'server.d.ts', 'visitstore.iife.js']) {
      expect(existsSync(built(`dist/${file}`)), `dist/${file} is missing`).toBe(true)
    }
    expect(readdirSync(built('dist/chunks')).some((f) => f.endsWith('.js'))).toBe(true)
  })

  test("package.json exports visitstore/session (import { sessionSync } from 'visitstore/session'), types first", () => {
    const session = entry('./session')
    expect(session, 'package.json has no "./session" export').toBeDefined()
    expect(Object.keys(session ?? {})[0]).toBe('types')
    expect(session?.default).toBe('./dist/session.js')
    expect(session?.types).toBe('./dist/session.d.ts')
  })

  test('the IIFE bundles its dependencies and defines only the VisitStore global', () => {
    const code = readFileSync(built(pkg.unpkg), 'utf8')
    expect(code).toMatch(/^var VisitStore=/)
    expect(code).not.toMatch(/\b(require|import)\s*\(/)
  })

  test('the core entry carries no session-sync code: a store that never syncs a session does not download it', () => {
    const core = loadedCode(built('dist/visitstore.js'))
    const session = readFileSync(built('dist/session.js'), 'utf8')
    // Text only the session sync has (its messages about sources and URLs).
    for (const marker of ['travels in this page', 'needs crypto.subtle']) {
      expect(session + loadedCode(built('dist/session.js')), `the marker "${marker}" is gone from session.js: pick another`).toContain(marker)
      expect(core).not.toContain(marker)
    }
  })

  test('the IIFE, loaded by a <script> tag, works end to end', async () => {
    // A page of its own, with script evaluation on (happy-dom turns it off by default).
    const page = new Window({ url: 'http://shop.test/', settings: { enableJavaScriptEvaluation: true, suppressInsecureJavaScriptEnvironmentWarning: true } })
    Object.assign(page, { indexedDB: new IDBFactory() })
    const { document } = page
    const script = document.createElement('script')
    script.textContent = readFileSync(built(pkg.unpkg), 'utf8')
    document.head.appendChild(script)
    const lib = (page as unknown as { VisitStore: typeof import('../src/index.js') & typeof import('../src/session.js') }).VisitStore
    expect(Object.keys(lib).sort()).toEqual(['VisitStoreError', 'createStore', 'sessionSync'])
    expect(typeof lib.createStore).toBe('function')
    expect(typeof lib.sessionSync).toBe('function')
    // Minified, the class keeps its name: users and error trackers see VisitStoreError.
    const made = new lib.VisitStoreError('INVALID_OPTIONS', 'm')
    expect(made.constructor.name).toBe('VisitStoreError')
    expect(made.name).toBe('VisitStoreError')
    expect(made).toBeInstanceOf(page.Error)
    const store = lib.createStore<{ theme: string, notes: string }>({
      name: 'iife',
      keys: { theme: { lifetime: 'persistent', serverVisible: true }, notes: { lifetime: 'session' } },
    })
    await store.ready
    await store.set('theme', 'dark')
    await store.set('notes', 'n'.repeat(100 * 1024))
    expect(document.cookie).toContain('iife_theme=dark')
    expect(document.cookie).not.toContain('nnnn')
    expect(store.peek('theme')).toBe('dark')
    expect(await store.get('notes')).toHaveLength(100 * 1024)
    expect(store.placement('notes').tier).toBe('indexeddb')
    const err = await store.set('theme', 'x'.repeat(5000)).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(lib.VisitStoreError)
    expect((err as { code: string }).code).toBe('COOKIE_TOO_LARGE')
    expect(store.peek('theme')).toBe('dark')
    store.close()
    await page.happyDOM.close()
  })

  test('the IIFE syncs a server session with VisitStore.sessionSync, and refuses a plain object', async () => {
    const page = new Window({ url: 'http://shop.test/', settings: { enableJavaScriptEvaluation: true, suppressInsecureJavaScriptEnvironmentWarning: true } })
    Object.assign(page, { indexedDB: new IDBFactory() })
    const script = page.document.createElement('script')
    script.textContent = readFileSync(built(pkg.unpkg), 'utf8')
    page.document.head.appendChild(script)
    const lib = (page as unknown as { VisitStore: typeof import('../src/index.js') & typeof import('../src/session.js') }).VisitStore
    const keys = { cart: { lifetime: 'session' } } as const
    const store = lib.createStore<{ cart: string[] }>({ name: 'iifes', keys, session: lib.sessionSync({ read: async () => ({ tag: 'tag-1' }) }) })
    await store.ready
    expect(store.session.state).toBe('active')
    expect(store.session.tag).toBe('tag-1')
    expect(store.status.session).toBe('ok')
    await store.set('cart', ['a'])
    expect(await store.get('cart')).toEqual(['a'])
    store.close()
    let refused: unknown
    try {
      lib.createStore({ name: 'iifes', keys, session: { endpoint: '/session' } as never })
    } catch (e) {
      refused = e
    }
    expect(refused).toBeInstanceOf(lib.VisitStoreError)
    expect((refused as { code: string, message: string }).code).toBe('INVALID_OPTIONS')
    expect((refused as { message: string }).message).toMatch(/VisitStore\.sessionSync/)
    await page.happyDOM.close()
  })

  test('the ESM build imports in plain Node, with no DOM, and degrades instead of throwing', () => {
    const probe = `
      const { createStore, VisitStoreError } = await import(${JSON.stringify(built((entry('.') as { default: string }).default))});
      const store = createStore({ name: 'ssr', keys: { a: { lifetime: 'persistent' }, c: { lifetime: 'session', serverVisible: true } } });
      await store.ready;
      await store.set('a', { ok: true });
      const got = await store.get('a');
      const err = await store.set('c', 'x').catch((e) => e);
      console.log(JSON.stringify({ got, status: store.status, tier: store.placement('a').tier,
        code: err.code, isError: err instanceof VisitStoreError, window: typeof window }));
    `
    expect(JSON.parse(inNode(probe))).toEqual({
      got: { ok: true },
      status: { indexeddb: 'memory', cookies: 'unavailable', sessionStorage: 'memory', browserSession: 'page', locks: 'none', session: 'off' },
      tier: 'memory',
      code: 'STORAGE_UNAVAILABLE',
      isError: true,
      window: 'undefined',
    })
  })

  test('visitstore/session imports in plain Node; its VisitStoreError is the same class as the core entry\'s', () => {
    const probe = `
      const core = await import(${JSON.stringify(built('dist/visitstore.js'))});
      const session = await import(${JSON.stringify(built('dist/session.js'))});
      const store = core.createStore({ name: 'ssr', keys: { d: { lifetime: 'session' } }, session: session.sessionSync({ read: async () => ({ tag: 't1' }) }) });
      await store.ready;
      let refused;
      try { session.sessionSync({ cookie: 'JSESSIONID' }) } catch (e) { refused = e }
      console.log(JSON.stringify({ same: core.VisitStoreError === session.VisitStoreError, state: store.session.state, status: store.status.session,
        refused: refused instanceof core.VisitStoreError && refused.code, window: typeof window }));
    `
    expect(JSON.parse(inNode(probe))).toEqual({ same: true, state: 'active', status: 'ok', refused: 'INVALID_OPTIONS', window: 'undefined' })
  })

  test('visitstore/server imports in plain Node and derives tags', () => {
    const server = (pkg.exports['./server'] as { types: string, default: string })
    expect(Object.keys(server)[0]).toBe('types')
    expect(existsSync(built(server.types))).toBe(true)
    const probe = `
      const { sessionTag, sessionEndpoint } = await import(${JSON.stringify(built(server.default))});
      const handler = sessionEndpoint({ secret: 'x'.repeat(32), getSessionId: () => 'sid' });
      const body = await (await handler(new Request('http://127.0.0.1/session'))).json();
      console.log(JSON.stringify({ same: body.tag === await sessionTag('sid', 'x'.repeat(32)), window: typeof window }));
    `
    expect(JSON.parse(inNode(probe))).toEqual({ same: true, window: 'undefined' })
  })

  test.each(['dist/visitstore.js', 'dist/session.js', 'dist/server.js'])('importing %s touches no browser global', (file) => {
    const probe = `
      for (const name of ['window', 'document', 'indexedDB', 'sessionStorage', 'navigator', 'location', 'BroadcastChannel', 'cookieStore', 'self']) {
        Object.defineProperty(globalThis, name, { configurable: true, get() { throw new Error('touched ' + name) } });
      }
      await import(${JSON.stringify(built(file))});
      console.log('imported');
    `
    expect(inNode(probe).trim()).toBe('imported')
  })
})
