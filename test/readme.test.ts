// @vitest-environment node
// The README's complete TypeScript examples (those that import visitstore) must compile against
// the real API, so they cannot drift from it.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { expect, test } from 'vitest'

const root = resolve(import.meta.dirname, '..')

/** The package's entries, as the README imports them, and the source each is built from. */
const ENTRIES: Record<string, string> = {
  visitstore: '../../src/index.js',
  'visitstore/session': '../../src/session.js',
  'visitstore/server': '../../src/server/index.js',
  'visitstore/react': '../../src/react/index.js',
}
const IMPORT = /from '(visitstore(?:\/[a-z]+)?)'/g
const importsVisitstore = (code: string) => /from 'visitstore(\/[a-z]+)?'/.test(code)

test('the README examples type-check', () => {
  const readme = readFileSync(join(root, 'README.md'), 'utf8')
  const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1] ?? '').filter(importsVisitstore)
  expect(blocks.length).toBeGreaterThan(0)
  // Every entry the README imports is one the package has.
  for (const code of blocks) for (const [, name] of code.matchAll(IMPORT)) expect(Object.keys(ENTRIES)).toContain(name)
  const dir = mkdtempSync(join(root, 'test', '.readme-'))
  try {
    blocks.forEach((code, i) => writeFileSync(join(dir, `example${i}.ts`), code.replace(IMPORT, (_, name: string) => `from '${ENTRIES[name] ?? name}'`)))
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ extends: '../../tsconfig.json', compilerOptions: { noEmit: true, rootDir: '../..', noUnusedLocals: false }, include: ['*.ts'] }))
    const run = () => execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(dir, 'tsconfig.json')], { encoding: 'utf8', timeout: 60_000 })
    expect(run).not.toThrow()
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}, 60_000)

test('the README never shows a plain object as the session option (that is INVALID_OPTIONS): only sessionSync({ … })', () => {
  const readme = readFileSync(join(root, 'README.md'), 'utf8')
  expect(readme).not.toMatch(/session:\s*\{/)
  expect(readme).toMatch(/session: sessionSync\(\{/)
  expect(readme).toContain('VisitStore.sessionSync')
})
