// Byte budgets, brotli-compressed, for what users download: the whole script-tag bundle, and what
// a bundler pulls in for `import { createStore } from 'visitstore'` (dependencies included, minified).
import { nodeResolve } from '@rollup/plugin-node-resolve'
import terser from '@rollup/plugin-terser'
import { readFileSync } from 'node:fs'
import { brotliCompressSync, constants } from 'node:zlib'
import { rollup } from 'rollup'

// Today's budgets hold the core store, server session sync and cross-tab messaging (~3 KB),
// validators and hardening (~1.5 KB), with a little headroom. The performance issue's target
// (4,000 B for the IIFE) is not met: most of the bytes are the error messages that say what to do;
// meeting it needs shorter messages (or a separate debug build) and a separately importable session sync.
const budgets = [
  { name: 'dist/visitstore.iife.js (script tag)', limit: 12000, bytes: async () => readFileSync('dist/visitstore.iife.js') },
  { name: "import { createStore } from 'visitstore'", limit: 12000, bytes: bundleImport },
]

async function bundleImport() {
  const entry = '\0entry'
  const bundle = await rollup({
    input: entry,
    plugins: [
      { name: 'entry', resolveId: (id) => (id === entry ? id : null), load: (id) => (id === entry ? "export { createStore } from './dist/visitstore.js'" : null) },
      nodeResolve({ browser: true }),
      terser(),
    ],
  })
  const { output } = await bundle.generate({ format: 'es' })
  await bundle.close()
  return Buffer.from(output[0].code)
}

const brotli = (buf) => brotliCompressSync(buf, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length

let failed = 0
for (const { name, limit, bytes } of budgets) {
  const size = brotli(await bytes())
  const ok = size <= limit
  if (!ok) failed++
  console.log(`${ok ? 'ok  ' : 'OVER'} ${name}: ${size} B brotli (budget ${limit} B)`)
}
if (failed) {
  console.error(`size: ${failed} budget(s) exceeded; make the code smaller or justify a new budget in scripts/size.mjs`)
  process.exit(1)
}
