// @vitest-environment node
// The README's server example (Express 5 + express-session + visitstore/server, React with
// visitstore/react) must compile against the real API, as test/readme.test.ts does for the client
// example. Every ```ts / ```tsx block that imports a visitstore entry is checked; a block whose
// first line is a comment naming a file (`// shop.ts: …`) is that file, so the blocks can import
// one another (`./shop.js`). The entries resolve to src/ through `paths`: the code is checked
// exactly as written.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { expect, test } from 'vitest'

const root = resolve(import.meta.dirname, '..')
/** Where the example is written (the README's "Server" section). */
const SOURCE = resolve(import.meta.dirname, '../README.md')

/** The example's code blocks: [file name, code]. */
function exampleFiles(markdown: string): [string, string][] {
  const blocks = [...markdown.matchAll(/```(tsx?)\n([\s\S]*?)```/g)]
    .filter(([, , code]) => /from 'visitstore(\/(server|session|react))?'/.test(code ?? ''))
  return blocks.map(([, lang, code = ''], i) => [/^\/\/ ([\w-]+\.tsx?)\b/.exec(code)?.[1] ?? `example${i}.${lang}`, code])
}

test('the README’s server example type-checks (Express 5, express-session, visitstore/server, visitstore/react)', () => {
  const files = exampleFiles(readFileSync(SOURCE, 'utf8'))
  expect(files.map(([name]) => name)).toEqual(expect.arrayContaining(['server.tsx']))
  const dir = mkdtempSync(join(root, 'test', '.readme-server-'))
  try {
    for (const [name, code] of files) writeFileSync(join(dir, name), code)
    const entry = (path: string) => [`../../${path}`]
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({
      extends: '../../tsconfig.json',
      compilerOptions: {
        noEmit: true, rootDir: '../..', noUnusedLocals: false, jsx: 'react-jsx', types: ['node'],
        paths: { 'visitstore': entry('src/index.ts'), 'visitstore/server': entry('src/server/index.ts'), 'visitstore/session': entry('src/session.ts'), 'visitstore/react': entry('src/react/index.ts') },
      },
      include: ['*.ts', '*.tsx'],
    }))
    let errors = ''
    try {
      execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(dir, 'tsconfig.json')], { encoding: 'utf8', timeout: 120_000 })
    } catch (err) {
      errors = String((err as { stdout?: string }).stdout || err)
    }
    // tsc's own messages (file, line, what is wrong), not just "Command failed".
    expect(errors).toBe('')
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}, 120_000)
