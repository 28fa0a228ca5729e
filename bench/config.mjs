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

/** `kinds`: which workloads a contender runs ('idb': the IndexedDB ones, 'cookie': the cookie ones, 'scale': issue 15's). */
export const CONTENDERS = [
  { id: 'raw-idb', label: 'raw IndexedDB', adapter: 'raw-idb.js', kinds: ['idb', 'scale'] },
  { id: 'idb-keyval', label: 'idb-keyval', adapter: 'idb-keyval.js', library: modules('idb-keyval/dist/umd.js'), kinds: ['idb'] },
  { id: 'localforage', label: 'localForage', adapter: 'localforage.js', library: modules('localforage/dist/localforage.min.js'), kinds: ['idb'] },
  { id: 'raw-cookie', label: 'raw document.cookie', adapter: 'raw-cookie.js', kinds: ['cookie'] },
  { id: 'js-cookie', label: 'js-cookie', adapter: 'js-cookie.js', library: modules('js-cookie/dist/js.cookie.min.js'), kinds: ['cookie'] },
  { id: 'visitstore', label: 'visitstore', adapter: 'visitstore.js', library: visitstoreBundle, session: true, kinds: ['idb', 'cookie', 'scale'] },
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
  // Issue 14's W5: 200 sequential sets over 50 names (each overwritten 4 times), then 200 gets.
  { id: 'w5', kind: 'cookie', page: 'cookies', browsers: ['chromium', 'firefox'], params: { n: 50, sets: 200, size: 24, reps: 10 }, measures: { cookies: 'w5' } },
  { id: 'cold', kind: 'idb', page: 'cold', params: {}, reps: 15, measures: { cold: 'cold', libraryLoad: 'library-load', fromPageStart: 'cold-page', ready: 'cold-ready' } },
  // Issue 15: a store of 100,000 persistent entries (99,000 `big:*` + 1,000 `one:*`), written in
  // its own layout, then a fresh page: start-up, keys('one:'), clear({ lifetime: 'persistent' });
  // `scale-ttl` adds 50,000 records of a ttl family `tmp:*` that expired an hour ago. One rep a
  // round, no warm-up round, at most `maxRounds` rounds (filling takes a minute or more on a busy
  // machine); `browsers`: also run in Firefox, after Chromium, in the same run.
  { id: 'scale', kind: 'scale', page: 'scale', browsers: ['chromium', 'firefox'], warmUp: false, maxRounds: 3, params: { big: 99_000, one: 1000, expired: 0, size: 100, afterReadyMs: 500, afterSweepMs: 300, sweepTimeoutMs: 600_000 }, measures: scaleMeasures('scale') },
  { id: 'scale-ttl', kind: 'scale', page: 'scale', browsers: ['chromium', 'firefox'], warmUp: false, maxRounds: 3, params: { big: 99_000, one: 1000, expired: 50_000, size: 100, afterReadyMs: 500, afterSweepMs: 300, sweepTimeoutMs: 600_000 }, measures: { ...scaleMeasures('scale-ttl'), sweep: 'scale-ttl-sweep' } },
]

function scaleMeasures(id) {
  return { ready: `${id}-ready`, longtask: `${id}-longtask`, keys: `${id}-keys`, clear: `${id}-clear`, firstGet: `${id}-first-get`, gap: `${id}-gap`, opsLongtask: `${id}-ops-longtask` }
}

/**
 * `baseline`: the contender the ratio is taken against (raw IndexedDB's setMany/getMany are its
 * one-transaction batch variant). `target`: issue 6's ceiling for visitstore's ratio.
 * `info`: reported, not a target (no ratio when only visitstore has it).
 */
export const MEASURES = [
  { id: 'seq-small-set', label: 'sequential set, 1,000 × 100 B', baseline: 'raw-idb', target: 1.10 },
  // Issue 15: W1 sequential get ≤ 1.05× (issue 6 asked ≤ 1.10×).
  { id: 'seq-small-get', label: 'sequential get, 1,000 × 100 B', baseline: 'raw-idb', target: 1.05 },
  { id: 'seq-large-set', label: 'sequential set, 200 × 100 KB', baseline: 'raw-idb', target: 1.10 },
  { id: 'seq-large-get', label: 'sequential get, 200 × 100 KB', baseline: 'raw-idb', target: 1.10 },
  { id: 'concurrent-set', label: 'concurrent set, 1,000 × 100 B (Promise.all)', baseline: 'raw-idb', target: 0.30 },
  { id: 'set-many', label: 'setMany, 1,000 × 100 B', baseline: 'raw-idb', baselineLabel: 'raw IndexedDB, one transaction', target: 1.10 },
  { id: 'get-many', label: 'getMany, 1,000 × 100 B', baseline: 'raw-idb', baselineLabel: 'raw IndexedDB, one transaction', target: 1.10 },
  { id: 'cookies', label: 'cookie set+get, 50 cookies × 24 B, 20 reps', baseline: 'raw-cookie', target: 1.20 },
  { id: 'w5', label: 'W5 (issue 14): 200 cookie sets over 50 names + 200 gets, 24 B, 10 reps', baseline: 'raw-cookie', target: 1.30 },
  // Issue 15: ≤ 1.10× (issue 6 asked ≤ 1.20×).
  { id: 'cold', label: 'cold start to first get', baseline: 'raw-idb', target: 1.10 },
  { id: 'library-load', label: 'cold start: page start to script start (library load)', baseline: 'raw-idb', info: true },
  // The whole wait a page has: library load and cold start together (a longer library load lets
  // the page's own start-up work finish first, which shortens the cold start row: see report.mjs).
  { id: 'cold-page', label: 'cold start: page start to first get (library load included)', baseline: 'raw-idb', info: true },
  { id: 'cold-ready', label: 'cold start: script start to `ready` (session checked)', info: true },
  // Issue 15's figures are times, not ratios: `limit` is the ceiling in ms for visitstore's median.
  // raw IndexedDB is shown beside it as a reference (same layout, open/getAllKeys/range deletes).
  ...['scale', 'scale-ttl'].flatMap((id) => {
    const what = id === 'scale' ? '100,000 entries' : '100,000 entries + 50,000 expired'
    return [
      { id: `${id}-ready`, label: `${what}: fresh page to \`ready\``, limit: 100 },
      { id: `${id}-longtask`, label: `${what}: longest main-thread task, start-up + sweep`, limit: 50, firefoxLabel: `${what}: longest main-thread stall, start-up + sweep (Firefox: no 'longtask', longest gap between 0 ms timer ticks)` },
      { id: `${id}-keys`, label: `${what}: keys('one:'), 1,000 keys`, limit: 50 },
      { id: `${id}-clear`, label: `${what}: clear({ lifetime: 'persistent' })`, limit: 2000 },
      { id: `${id}-first-get`, label: `${what}: fresh page to first get (issued before \`ready\`)`, info: true },
      ...(id === 'scale-ttl' ? [{ id: `${id}-sweep`, label: `${what}: fresh page to every expired record deleted (polled every 100 ms)`, info: true }] : []),
      { id: `${id}-gap`, label: `${what}: longest gap between 0 ms timer ticks, start-up + sweep`, info: true },
      { id: `${id}-ops-longtask`, label: `${what}: longest main-thread task during keys() + clear()`, info: true },
    ]
  }),
]

/** Measures of a Firefox phase are kept apart: `<id>@firefox`. */
export const FIREFOX = '@firefox'
MEASURES.push(...MEASURES.map((m) => ({ ...m, id: m.id + FIREFOX, label: `${m.firefoxLabel ?? m.label} — Firefox` })))

/** Issue 6's size target, checked on the same bundle the pages load. */
export const SIZE_TARGET = 4000
