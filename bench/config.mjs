// What the benchmark runs: the contenders (one origin each), the workloads, the measures they
// produce, each measure's baseline, and the targets of issue 6 for visitstore's ratios.
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const modules = (path) => join(root, 'node_modules', path)

/** The visitstore build under test: VISITSTORE_DIST (as in the browser suite) or the repo's dist/. */
export const distDir = process.env.VISITSTORE_DIST ? resolve(process.env.VISITSTORE_DIST) : join(root, 'dist')
export const visitstoreBundle = join(distDir, 'visitstore.iife.js')
export const repoRoot = root

/** `kinds`: which workloads a contender runs ('idb': the IndexedDB ones, 'cookie': the cookie one). */
export const CONTENDERS = [
  { id: 'raw-idb', label: 'raw IndexedDB', adapter: 'raw-idb.js', kinds: ['idb'] },
  { id: 'idb-keyval', label: 'idb-keyval', adapter: 'idb-keyval.js', library: modules('idb-keyval/dist/umd.js'), kinds: ['idb'] },
  { id: 'localforage', label: 'localForage', adapter: 'localforage.js', library: modules('localforage/dist/localforage.min.js'), kinds: ['idb'] },
  { id: 'raw-cookie', label: 'raw document.cookie', adapter: 'raw-cookie.js', kinds: ['cookie'] },
  { id: 'js-cookie', label: 'js-cookie', adapter: 'js-cookie.js', library: modules('js-cookie/dist/js.cookie.min.js'), kinds: ['cookie'] },
  { id: 'visitstore', label: 'visitstore', adapter: 'visitstore.js', library: visitstoreBundle, session: true, kinds: ['idb', 'cookie'] },
]

/**
 * Controls (on unless --no-control): the baselines once more, on origins of their own. Their
 * ratios to the baselines would be 1.00 without noise; how far they stray shows the noise of the
 * method on this machine, in this run.
 */
export const CONTROLS = [
  { id: 'raw-idb-control', label: 'raw IndexedDB (control)', adapter: 'raw-idb.js', kinds: ['idb'] },
  { id: 'raw-cookie-control', label: 'raw document.cookie (control)', adapter: 'raw-cookie.js', kinds: ['cookie'] },
]

/**
 * `page`: the harness workload (or 'cold' for the cold start); `measures`: the phases the page
 * times → measure ids. Values are strings of `size` characters (ASCII, so bytes). `chunks`: the
 * sequential workloads run in that many steps, contenders interleaved step by step. `reps`: a
 * short workload runs that many times per round (each on a fresh page with cleared storage),
 * contenders interleaved, and the round keeps the median; for the cold start, fresh page loads.
 */
export const WORKLOADS = [
  { id: 'seq-small', kind: 'idb', page: 'sequential', params: { n: 1000, size: 100, chunks: 10 }, measures: { set: 'seq-small-set', get: 'seq-small-get' } },
  { id: 'seq-large', kind: 'idb', page: 'sequential', params: { n: 200, size: 100_000, chunks: 10 }, measures: { set: 'seq-large-set', get: 'seq-large-get' } },
  { id: 'concurrent', kind: 'idb', page: 'concurrent', params: { n: 1000, size: 100 }, reps: 3, measures: { set: 'concurrent-set' } },
  { id: 'batch', kind: 'idb', page: 'batch', params: { n: 1000, size: 100 }, reps: 5, measures: { setMany: 'set-many', getMany: 'get-many' } },
  { id: 'cookies', kind: 'cookie', page: 'cookies', params: { n: 50, size: 24, reps: 20 }, measures: { cookies: 'cookies' } },
  { id: 'cold', kind: 'idb', page: 'cold', params: {}, reps: 5, measures: { cold: 'cold', libraryLoad: 'library-load', ready: 'cold-ready' } },
]

/**
 * `baseline`: the contender the ratio is taken against (raw IndexedDB's setMany/getMany are its
 * one-transaction batch variant). `target`: issue 6's ceiling for visitstore's ratio.
 * `info`: reported, not a target (no ratio when only visitstore has it).
 */
export const MEASURES = [
  { id: 'seq-small-set', label: 'sequential set, 1,000 × 100 B', baseline: 'raw-idb', target: 1.10 },
  { id: 'seq-small-get', label: 'sequential get, 1,000 × 100 B', baseline: 'raw-idb', target: 1.10 },
  { id: 'seq-large-set', label: 'sequential set, 200 × 100 KB', baseline: 'raw-idb', target: 1.10 },
  { id: 'seq-large-get', label: 'sequential get, 200 × 100 KB', baseline: 'raw-idb', target: 1.10 },
  { id: 'concurrent-set', label: 'concurrent set, 1,000 × 100 B (Promise.all)', baseline: 'raw-idb', target: 0.30 },
  { id: 'set-many', label: 'setMany, 1,000 × 100 B', baseline: 'raw-idb', baselineLabel: 'raw IndexedDB, one transaction', target: 1.10 },
  { id: 'get-many', label: 'getMany, 1,000 × 100 B', baseline: 'raw-idb', baselineLabel: 'raw IndexedDB, one transaction', target: 1.10 },
  { id: 'cookies', label: 'cookie set+get, 50 cookies × 24 B, 20 reps', baseline: 'raw-cookie', target: 1.20 },
  { id: 'cold', label: 'cold start to first get', baseline: 'raw-idb', target: 1.20 },
  { id: 'library-load', label: 'cold start: page start to script start (library load)', baseline: 'raw-idb', info: true },
  { id: 'cold-ready', label: 'cold start: script start to `ready` (session checked)', info: true },
]

/** Issue 6's size target, checked on the same bundle the pages load. */
export const SIZE_TARGET = 4000
