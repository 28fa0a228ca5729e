// The shape of src/ (issue 11): no import cycles, and no function too long to read at once.
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import ts from 'typescript'
import { describe, expect, test } from 'vitest'

const SRC = resolve(__dirname, '../src')
/** Functions longer than this want a named step (STYLE.md: "when a function passes about 40 lines…"). */
const MAX_FUNCTION_LINES = 80

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    return statSync(path).isDirectory() ? sources(path) : name.endsWith('.ts') ? [path] : []
  })
}

const files = sources(SRC)
const parsed = new Map(files.map((file) => [file, ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true)]))

/** Relative imports of a file, type-only ones included (a cycle of types is a cycle of ideas). */
function importsOf(file: string): string[] {
  const out: string[] = []
  for (const statement of (parsed.get(file) as ts.SourceFile).statements) {
    if ((ts.isImportDeclaration(statement) || ts.isExportDeclaration(statement)) && statement.moduleSpecifier && ts.isStringLiteral(statement.moduleSpecifier)) {
      const spec = statement.moduleSpecifier.text
      if (spec.startsWith('.')) out.push(resolve(dirname(file), spec.replace(/\.js$/, '.ts')))
    }
  }
  return out
}

/** Every import cycle among `modules` (a depth-first walk), each as "a.ts → b.ts → a.ts". */
function findCycles(modules: string[]): string[] {
  const cycles: string[] = []
  const state = new Map<string, 'visiting' | 'done'>()
  const visit = (file: string, path: string[]) => {
    if (state.get(file) === 'done') return
    if (state.get(file) === 'visiting') {
      cycles.push([...path.slice(path.indexOf(file)), file].map((f) => relative(SRC, f)).join(' → '))
      return
    }
    state.set(file, 'visiting')
    for (const next of importsOf(file)) visit(next, [...path, file])
    state.set(file, 'done')
  }
  for (const file of modules) visit(file, [])
  return cycles
}

describe('src/ layout', () => {
  test('no module imports itself back, directly or through others', () => {
    expect(findCycles(files)).toEqual([])
  })

  test(`no function in src/ is longer than ${MAX_FUNCTION_LINES} lines`, () => {
    const long: string[] = []
    for (const [file, source] of parsed) {
      const walk = (node: ts.Node) => {
        if (ts.isFunctionLike(node) && 'body' in node && node.body) {
          const { line: start } = source.getLineAndCharacterOfPosition(node.getStart())
          const { line: end } = source.getLineAndCharacterOfPosition(node.getEnd())
          if (end - start + 1 > MAX_FUNCTION_LINES) long.push(`${relative(SRC, file)}:${start + 1} (${end - start + 1} lines)`)
        }
        ts.forEachChild(node, walk)
      }
      walk(source)
    }
    expect(long).toEqual([])
  })

  test('the cycle check can fail: it finds a cycle made on purpose (type-only imports count)', () => {
    const a = resolve(SRC, 'a.ts')
    const b = resolve(SRC, 'b.ts')
    parsed.set(a, ts.createSourceFile(a, "import { b } from './b.js'", ts.ScriptTarget.Latest))
    parsed.set(b, ts.createSourceFile(b, "import type { A } from './a.js'", ts.ScriptTarget.Latest))
    try {
      expect(findCycles([a, b])).toEqual(['a.ts → b.ts → a.ts'])
    } finally {
      parsed.delete(a)
      parsed.delete(b)
    }
  })
})
