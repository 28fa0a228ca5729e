import { nodeResolve } from '@rollup/plugin-node-resolve'
import terser from '@rollup/plugin-terser'
import typescript from '@rollup/plugin-typescript'
import { dts } from 'rollup-plugin-dts'

const ts = () => typescript({ tsconfig: './tsconfig.json', declaration: false, outDir: 'dist' })

/** The package's entries: `visitstore`, `visitstore/session`, `visitstore/server`, `visitstore/react`. */
const entries = {
  visitstore: 'src/index.ts',
  session: 'src/session.ts',
  server: 'src/server/index.ts',
  react: 'src/react/index.ts',
}
// Shared modules (VisitStoreError above all: one class for every entry) go to chunks/.
const output = { dir: 'dist', entryFileNames: '[name].js', chunkFileNames: 'chunks/[name]-[hash].js' }

export default [
  // Bundler imports: ESM, dependencies left to the app's bundler.
  {
    input: entries,
    external: ['idb-keyval', 'js-cookie', 'react'],
    output: { ...output, format: 'es', sourcemap: true },
    plugins: [ts()],
  },
  // Script tag: everything in one minified file, global `VisitStore`.
  {
    input: 'src/iife.ts',
    output: {
      file: 'dist/visitstore.iife.js', format: 'iife', name: 'VisitStore', sourcemap: true,
      // `var VisitStore` is a global only at a classic script's top level; loaders that wrap
      // scripts in a function (and happy-dom) would hide it, so publish it on globalThis too.
      footer: 'globalThis.VisitStore = VisitStore;',
    },
    // keep_classnames: users (and error trackers) see `VisitStoreError`, not a mangled `t`.
    plugins: [nodeResolve({ browser: true }), ts(), terser({ format: { comments: false }, keep_classnames: /^VisitStoreError$/, compress: { passes: 2 } })],
  },
  {
    input: entries,
    external: ['react'],
    output: { dir: 'dist', entryFileNames: '[name].d.ts', chunkFileNames: 'chunks/[name]-[hash].d.ts', format: 'es' },
    plugins: [dts()],
  },
]
