// @vitest-environment node
// The README's complete TypeScript examples (those that import visitstore) must compile against
// the real API, so they cannot drift from it.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { expect, test } from 'vitest'

const root = resolve(import.meta.dirname, '..')

test('the README example type-checks', () => {
  const readme = readFileSync(join(root, 'README.md'), 'utf8')
  const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1] ?? '').filter((code) => code.includes("from 'visitstore'"))
  expect(blocks.length).toBeGreaterThan(0)
  const dir = mkdtempSync(join(root, 'test', '.readme-'))
  try {
    blocks.forEach((code, i) => writeFileSync(join(dir, `example${i}.ts`), code.replace(/from 'visitstore'/g, "from '../../src/index.js'")))
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ extends: '../../tsconfig.json', compilerOptions: { noEmit: true, rootDir: '../..', noUnusedLocals: false }, include: ['*.ts'] }))
    const run = () => execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(dir, 'tsconfig.json')], { encoding: 'utf8', timeout: 60_000 })
    expect(run).not.toThrow()
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}, 60_000)
