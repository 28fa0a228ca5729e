import { nodeResolve } from '@rollup/plugin-node-resolve'
import terser from '@rollup/plugin-terser'
import typescript from '@rollup/plugin-typescript'
import { dts } from 'rollup-plugin-dts'

const ts = () => typescript({ tsconfig: './tsconfig.json', declaration: false, outDir: 'dist' })

export default [
  // Bundler import: ESM, dependencies left to the app's bundler.
  {
    input: 'src/index.ts',
    external: ['idb-keyval', 'js-cookie'],
    output: { file: 'dist/visitstore.js', format: 'es', sourcemap: true },
    plugins: [ts()],
  },
  // Script tag: everything in one minified file, global `VisitStore`.
  {
    input: 'src/index.ts',
    output: {
      file: 'dist/visitstore.iife.js', format: 'iife', name: 'VisitStore', sourcemap: true,
      // `var VisitStore` is a global only at a classic script's top level; loaders that wrap
      // scripts in a function (and happy-dom) would hide it, so publish it on globalThis too.
      footer: 'globalThis.VisitStore = VisitStore;',
    },
    plugins: [nodeResolve({ browser: true }), ts(), terser({ format: { comments: false } })],
  },
  {
    input: 'src/index.ts',
    output: { file: 'dist/visitstore.d.ts', format: 'es' },
    plugins: [dts()],
  },
  // visitstore/server: Fetch-API and Node handlers for the session endpoint; no browser globals.
  {
    input: 'src/server/index.ts',
    output: { file: 'dist/server.js', format: 'es', sourcemap: true },
    plugins: [ts()],
  },
  {
    input: 'src/server/index.ts',
    output: { file: 'dist/server.d.ts', format: 'es' },
    plugins: [dts()],
  },
]
