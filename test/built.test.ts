// The files users actually load: the IIFE through a <script> tag, the ESM entry from Node.
import { execFileSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
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

describe('build output', () => {
  test('every file package.json names exists (run `npm run build` first)', () => {
    const main = pkg.exports['.'] as { types: string, default: string }
    expect(Object.keys(main)[0]).toBe('types') // "types" must come first in the condition map
    for (const file of [pkg.types, pkg.unpkg, pkg.jsdelivr, main.types, main.default]) {
      expect(existsSync(built(file)), `${file} is missing`).toBe(true)
    }
    expect(pkg.unpkg).toMatch(/iife/)
    expect(pkg.sideEffects).toBe(false)
  })

  test('the IIFE bundles its dependencies and defines only the VisitStore global', () => {
    const code = readFileSync(built(pkg.unpkg), 'utf8')
    expect(code).toMatch(/^var VisitStore=/)
    expect(code).not.toMatch(/\b(require|import)\s*\(/)
  })

  test('the IIFE, loaded by a <script> tag, works end to end', async () => {
    // A page of its own, with script evaluation on (happy-dom turns it off by default).
    const page = new Window({ url: 'http://shop.test/', settings: { enableJavaScriptEvaluation: true, suppressInsecureJavaScriptEnvironmentWarning: true } })
    Object.assign(page, { indexedDB: new IDBFactory() })
    const { document } = page
    const script = document.createElement('script')
    script.textContent = readFileSync(built(pkg.unpkg), 'utf8')
    document.head.appendChild(script)
    const lib = (page as unknown as { VisitStore: typeof import('../src/index.js') }).VisitStore
    expect(typeof lib.createStore).toBe('function')
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

  test('the ESM build imports in plain Node, with no DOM, and degrades instead of throwing', () => {
    const probe = `
      const { createStore, VisitStoreError } = await import(${JSON.stringify(built((pkg.exports['.'] as { default: string }).default))});
      const store = createStore({ name: 'ssr', keys: { a: { lifetime: 'persistent' }, c: { lifetime: 'session', serverVisible: true } } });
      await store.ready;
      await store.set('a', { ok: true });
      const got = await store.get('a');
      const err = await store.set('c', 'x').catch((e) => e);
      console.log(JSON.stringify({ got, status: store.status, tier: store.placement('a').tier,
        code: err.code, isError: err instanceof VisitStoreError, window: typeof window }));
    `
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', probe], { cwd: root, encoding: 'utf8', timeout: 20_000 })
    expect(JSON.parse(out)).toEqual({
      got: { ok: true },
      status: { indexeddb: 'memory', cookies: 'unavailable', sessionStorage: 'memory' },
      tier: 'memory',
      code: 'STORAGE_UNAVAILABLE',
      isError: true,
      window: 'undefined',
    })
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
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', probe], { cwd: root, encoding: 'utf8', timeout: 20_000 })
    expect(JSON.parse(out)).toEqual({ same: true, window: 'undefined' })
  })

  test('importing touches no browser global', () => {
    const probe = `
      for (const name of ['window', 'document', 'indexedDB', 'sessionStorage', 'navigator', 'location']) {
        Object.defineProperty(globalThis, name, { configurable: true, get() { throw new Error('touched ' + name) } });
      }
      await import(${JSON.stringify(built((pkg.exports['.'] as { default: string }).default))});
      console.log('imported');
    `
    expect(execFileSync(process.execPath, ['--input-type=module', '-e', probe], { cwd: root, encoding: 'utf8', timeout: 20_000 }).trim()).toBe('imported')
  })
})
