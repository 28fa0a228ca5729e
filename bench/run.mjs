// The benchmark of issue 6: visitstore against raw IndexedDB, idb-keyval, localForage, raw
// document.cookie and js-cookie in real headless Chromium (Debian's /usr/bin/chromium), on an
// on-disk profile. Prints a table and writes bench/RESULTS.md (method included there).
//
//   npm run build && node bench/run.mjs            # 7 rounds (npm run bench)
//   node bench/run.mjs --rounds=5                   # fewer rounds (at least 5 for RESULTS.md)
//   node bench/run.mjs --rounds=1 --no-write        # a quick smoke run; RESULTS.md untouched
//   node bench/run.mjs --no-control                # without the control contenders (faster)
//   node bench/run.mjs --only=seq-small,cookies     # some workloads only (ids in config.mjs); RESULTS.md untouched
//   node bench/run.mjs --browser=firefox --only=w5  # in Firefox ESR only (puppeteer-core, WebDriver BiDi); RESULTS.md untouched
//   node bench/run.mjs --firefox-async-stacks       # Firefox recording async stacks, as automation leaves it; RESULTS.md untouched
//   node bench/run.mjs --browser=chromium           # Chromium only (without the scale workloads' Firefox rows); RESULTS.md untouched
//   node bench/run.mjs --only=scale,scale-ttl       # issue 15's workloads, Chromium then Firefox; RESULTS.md untouched
//   VISITSTORE_DIST=/other/dist node bench/run.mjs  # benchmark another build of the bundle
import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { cpus, loadavg, release, tmpdir, totalmem, type } from 'node:os'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { brotliCompressSync, constants } from 'node:zlib'
import { chromium } from 'playwright-core'
import puppeteer from 'puppeteer-core'
import { CONTENDERS, CONTROLS, FIREFOX as FIREFOX_MEASURES, WORKLOADS, repoRoot, visitstoreBundle } from './config.mjs'
import { markdownReport, median, summarize, textReport } from './report.mjs'
import { BINARY, FLAGS } from '../test/browser/engines/chromium.mjs'
import { startServer } from './server.mjs'

const here = dirname(fileURLToPath(import.meta.url))
const CHROMIUM = BINARY
const RUN_TIMEOUT = 120_000
const MIN_ROUNDS_FOR_RESULTS = 5
/** Records written per page call when filling a scale workload's database (each call bounded by RUN_TIMEOUT). */
const SCALE_FILL = 20_000

const LAUNCH = {
  executablePath: CHROMIUM,
  headless: true,
  timeout: 60_000,
  args: FLAGS,
}

/** Debian's Firefox ESR, launched as the browser suite does (test/browser/engines/firefox.mjs): no request leaves loopback. */
const FIREFOX = '/usr/bin/firefox-esr'

/**
 * The browser under test, with `newPage()` and `close()`: Chromium, or Firefox (after Chromium for
 * the workloads that list it, or a run of its own).
 *
 * Firefox's async stacks. A page driven over WebDriver BiDi is a debuggee (the remote agent
 * evaluates scripts through a Debugger), and Firefox records an async stack for a debuggee at
 * every promise reaction and `await` (`javascript.options.asyncstack_capture_debuggee_only`,
 * true by default: a visitor's page, with no devtools open, records none). That made every
 * promise-returning API look slower under automation than for visitors: W5 with each raw
 * `document.cookie` call made in a promise reaction measured 1.35x to 1.65x raw with it on, 1.18x
 * to 1.23x with it off. The bench turns it off so that Firefox runs pages as it does for visitors;
 * `--firefox-async-stacks` (`firefoxAsyncStacks`) leaves it on.
 */
async function launchBrowser(browser, profile, { firefoxAsyncStacks }) {
  if (browser === 'chromium') return chromium.launchPersistentContext(profile, LAUNCH)
  const firefox = await puppeteer.launch({
    browser: 'firefox', executablePath: FIREFOX, headless: true, timeout: 60_000, protocolTimeout: RUN_TIMEOUT, userDataDir: profile,
    env: { ...process.env, MOZ_REMOTE_SETTINGS_DEVTOOLS: '1' },
    extraPrefsFirefox: { 'services.settings.server': 'data:,#remote-settings-dummy/v1', ...(firefoxAsyncStacks ? {} : { 'javascript.options.asyncstack': false }) },
  })
  return { newPage: () => firefox.newPage(), close: () => firefox.close() }
}

function parseArgs(argv) {
  // browser undefined: Chromium for every workload, then Firefox for those that list it (`browsers`).
  const options = { rounds: 7, write: true, control: true, only: undefined, browser: undefined, firefoxAsyncStacks: false }
  for (const arg of argv) {
    const [name, value] = arg.split('=')
    if (name === '--rounds' && /^\d+$/.test(value ?? '') && Number(value) >= 1) options.rounds = Number(value)
    else if (name === '--browser' && (value === 'chromium' || value === 'firefox')) {
      // RESULTS.md holds a whole run (Chromium, and Firefox for the workloads that list it); one browser's is printed only.
      options.browser = value
      options.write = false
    }
    else if (name === '--no-write') options.write = false
    else if (name === '--firefox-async-stacks' && value === undefined) {
      // A run as automation sees Firefox (see launchBrowser), not as visitors do: not for RESULTS.md.
      options.firefoxAsyncStacks = true
      options.write = false
    }
    else if (name === '--no-control') options.control = false
    else if (name === '--only' && value && value.split(',').every((id) => WORKLOADS.some((w) => w.id === id))) {
      // A partial run is for trying a change; RESULTS.md always holds a whole run.
      options.only = value.split(',')
      options.write = false
    }
    else {
      console.error(`unknown or bad argument: ${arg}\nusage: node bench/run.mjs [--rounds=N] [--no-write] [--no-control] [--only=${WORKLOADS.map((w) => w.id).join(',')}] [--browser=chromium|firefox] [--firefox-async-stacks]`)
      process.exit(2)
    }
  }
  return options
}

function withTimeout(promise, ms, what) {
  let timer
  const limit = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms / 1000} s`)), ms)
  })
  return Promise.race([promise, limit]).finally(() => clearTimeout(timer))
}

const brotli = (buf) => brotliCompressSync(buf, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length

function git(...args) {
  try {
    return execFileSync('git', ['-C', repoRoot, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim()
  } catch {
    return ''
  }
}

/** `Mozilla Firefox 153.8.0esr`: the binary's own answer. */
function firefoxVersion() {
  try {
    return execFileSync(FIREFOX, ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim()
  } catch {
    return 'Firefox (version unknown)'
  }
}

/** `Chromium 156.0.8078.108`: the binary's own answer (the user agent string is frozen at 156.0.0.0). */
function chromiumVersion() {
  try {
    const out = execFileSync(CHROMIUM, ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
    return /Chromium [\d.]+/.exec(out)?.[0] ?? out.trim()
  } catch {
    return 'Chromium (version unknown)'
  }
}

function machineInfo(loadAtStart, browsers) {
  const commit = git('rev-parse', '--short', 'HEAD')
  const dirty = git('status', '--porcelain', '--', 'src')
  const bundle = readFileSync(visitstoreBundle)
  return {
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    nproc: execFileSync('nproc', { encoding: 'utf8' }).trim(),
    cpu: cpus()[0]?.model.replace(/\s+/g, ' ').trim() ?? 'unknown CPU',
    memory: (totalmem() / 2 ** 30).toFixed(1),
    os: `${type()} ${release()}`,
    browser: chromiumVersion(),
    playwright: JSON.parse(readFileSync(join(repoRoot, 'node_modules/playwright-core/package.json'), 'utf8')).version,
    ...(browsers.includes('firefox') ? { firefox: firefoxVersion(), puppeteer: JSON.parse(readFileSync(join(repoRoot, 'node_modules/puppeteer-core/package.json'), 'utf8')).version } : {}),
    node: process.version,
    load: `${loadAtStart.toFixed(2)} → ${loadavg()[0].toFixed(2)}`,
    bundle: relative(repoRoot, visitstoreBundle),
    git: commit
      ? `built from commit ${commit}${dirty ? ' with uncommitted changes in src/' : ''}, bundle sha256 ${createHash('sha256').update(bundle).digest('hex').slice(0, 12)}`
      : 'not in a git checkout',
  }
}

/**
 * Firefox throttles the timers of background tabs (Chromium headless shows every tab): the
 * contender's tab goes in front, and the clock starts only once the page is visible and its
 * visibilitychange listeners (visitstore has some) have run.
 */
async function front(contender) {
  if (!contender.front) return
  await withTimeout(contender.page.bringToFront(), RUN_TIMEOUT, `${contender.label}: bring to front`)
  await inPage(contender, 'settle in front', () => new Promise((resolve) => {
    const settle = () => setTimeout(resolve, 20)
    if (document.visibilityState === 'visible') settle()
    else document.addEventListener('visibilitychange', settle, { once: true })
  }))
}

/** Evaluates `fn(arg)` in the contender's tab, bounded in time; a page that throws fails the benchmark. */
function inPage(contender, what, fn, arg) {
  return withTimeout(contender.page.evaluate(fn, arg), RUN_TIMEOUT, `${contender.label}: ${what}`)
}

/** Adds `{ phase: ms }` into `totals` as measure ids; checks that the page returned real times. */
function add(totals, workload, contender, result) {
  for (const [phase, ms] of Object.entries(result)) {
    const measure = workload.measures[phase]
    if (!measure) continue
    if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) throw new Error(`${contender.label} ${workload.id}: ${phase} took ${ms} ms?`)
    totals[measure] = (totals[measure] ?? 0) + ms
  }
}

/**
 * One rep of a workload for all its contenders, interleaved: each starts on a fresh page load
 * (storage cleared, contender opened), then step i runs for every contender before step i + 1,
 * then each checks its values. Resolves to Map(contender → { measure: ms summed over steps }).
 */
async function runRep(workload, order, nonce, seed) {
  const plans = []
  for (const c of order) {
    await c.page.goto(`${c.origin}/`)
    plans.push(await inPage(c, `begin ${workload.id}`, ([name, params]) => window.bench.begin(name, params), [workload.page, { ...workload.params, nonce }]))
  }
  const steps = plans[0].length
  if (plans.some((p) => JSON.stringify(p) !== JSON.stringify(plans[0]))) throw new Error(`${workload.id}: the pages planned different steps`)
  const totals = new Map(order.map((c) => [c, {}]))
  for (let i = 0; i < steps; i++) {
    for (const c of shuffle(order, seed * 1000 + i)) {
      await front(c)
      add(totals.get(c), workload, c, await inPage(c, `${workload.id} step ${i}`, (n) => window.bench.step(n), i))
    }
  }
  for (const c of order) await inPage(c, `${workload.id} check`, () => window.bench.end())
  return totals
}

/**
 * The cold start for all contenders: each writes its value (storage cleared first), then the
 * fresh page loads, interleaved. Resolves to Map(contender → [{ measure: ms } per load]).
 */
async function runCold(workload, order, nonce, seed, loadCount) {
  for (const c of order) {
    await c.page.goto(`${c.origin}/`)
    await inPage(c, 'cold-start seed', (p) => window.bench.seed(p), { nonce })
  }
  const loads = new Map(order.map((c) => [c, []]))
  for (let i = 0; i < loadCount; i++) {
    for (const c of shuffle(order, seed * 1000 + i)) {
      await front(c)
      await c.page.goto(`${c.origin}/?cold=${nonce}`)
      const totals = {}
      add(totals, workload, c, await inPage(c, 'cold start', () => window.bench.cold))
      loads.get(c).push(totals)
    }
  }
  return loads
}

/**
 * Issue 15's scale workload, contender after contender (each fills and reads its own database,
 * several seconds of work that would disturb another's timed start): the big database is written
 * on one page, then a fresh page (in front) starts the store on it. Resolves to Map(contender → [{ measure: ms }]).
 */
async function runScale(workload, order, nonce) {
  const runs = new Map()
  for (const c of order) {
    await front(c)
    await c.page.goto(`${c.origin}/`)
    const params = { ...workload.params, nonce }
    await inPage(c, `${workload.id} seed`, () => window.bench.scalePrepare())
    for (const [prefix, n] of [['big:', params.big], ['one:', params.one], ['tmp:', params.expired]]) {
      for (let from = 0; from < n; from += SCALE_FILL) {
        await inPage(c, `${workload.id} seed ${prefix}${from}`, ([p, f, a, b]) => window.bench.scaleFill(p, f, a, b), [params, prefix, from, Math.min(n, from + SCALE_FILL)])
      }
    }
    await inPage(c, `${workload.id} seed count`, (p) => window.bench.scaleCount(p), params)
    await c.page.goto(`${c.origin}/?scale=${nonce}`)
    const totals = {}
    await inPage(c, `${workload.id} start`, (p) => window.bench.scaleStart(p), params)
    while (!(await inPage(c, `${workload.id} sweep`, () => window.bench.scaleSwept())));
    add(totals, workload, c, await inPage(c, workload.id, () => window.bench.scaleOps()))
    runs.set(c, [totals])
  }
  return runs
}

/**
 * One round of one workload: resolves to Map(contender → { measure: ms }), a median over reps.
 * The warm-up round (0) runs one rep only.
 */
async function runWorkload(workload, order, round) {
  const repCount = round === 0 ? 1 : workload.reps ?? 1
  const nonce = () => `r${round}${workload.id}${Math.random().toString(36).slice(2, 8)}`
  const reps = new Map(order.map((c) => [c, []]))
  if (workload.page === 'scale') {
    for (const [c, runs] of await runScale(workload, order, nonce())) reps.get(c).push(...runs)
  } else if (workload.page === 'cold') {
    for (const [c, loads] of await runCold(workload, order, nonce(), round, repCount)) reps.get(c).push(...loads)
  } else {
    for (let r = 0; r < repCount; r++) {
      for (const [c, totals] of await runRep(workload, shuffle(order, round * 100 + r), nonce(), round * 100 + r)) reps.get(c).push(totals)
    }
  }
  return new Map([...reps].map(([c, list]) => [c, Object.fromEntries(Object.keys(list[0]).map((m) => [m, median(list.map((t) => t[m]))]))]))
}

/**
 * A shuffled copy of `list` (Fisher–Yates), the same for the same `seed`: each step and rep runs
 * the contenders in a new order, so no contender always follows the same other one (a rotation
 * would keep that, and the browser may still be busy with the previous contender's writes).
 */
function shuffle(list, seed) {
  let x = (seed * 2654435761) >>> 0 || 1
  const random = () => { x ^= x << 13; x ^= x >>> 17; x ^= x << 5; return (x >>> 0) / 2 ** 32 }
  const out = [...list]
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1))
    ;[out[i], out[j]] = [out[j], out[i]]
  }
  return out
}

async function main() {
  const options = parseArgs(process.argv.slice(2))
  if (!existsSync(visitstoreBundle)) {
    throw new Error(`${visitstoreBundle} is missing: run \`npm run build\` first (or set VISITSTORE_DIST to a folder holding visitstore.iife.js).`)
  }
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found: apt-get install -y --no-install-recommends chromium`)
  const phases = ['chromium', 'firefox']
    .filter((browser) => !options.browser || options.browser === browser)
    .map((browser) => ({
      browser,
      workloads: WORKLOADS.filter((w) => (!options.only || options.only.includes(w.id)) && (browser === 'chromium' || options.browser === browser || w.browsers?.includes(browser))),
    }))
    .filter((phase) => phase.workloads.length)
  if (phases.some((p) => p.browser === 'firefox') && !existsSync(FIREFOX)) throw new Error(`${FIREFOX} not found: apt-get install -y --no-install-recommends firefox-esr`)
  const bundle = readFileSync(visitstoreBundle)
  const size = {
    raw: bundle.length,
    brotli: brotli(bundle),
    localforage: brotli(readFileSync(CONTENDERS.find((c) => c.id === 'localforage').library)),
  }

  const started = Date.now()
  const loadAtStart = loadavg()[0]
  const cores = Number(execFileSync('nproc', { encoding: 'utf8' }).trim())
  if (loadAtStart > cores / 2) {
    console.error(`note: load average ${loadAtStart.toFixed(2)} on ${cores} cores: other work is running; ratios (taken per round) cope, times will not.`)
  }
  const contenders = []
  const profiles = []
  let context
  try {
    for (const c of [...CONTENDERS, ...(options.control ? CONTROLS : [])]) contenders.push({ ...c, ...(await startServer(c)) })
    // Each browser in turn (Chromium, then Firefox for the workloads that list it), on a profile of its own.
    const samples = {}
    for (const { browser, workloads } of phases) {
      const profile = mkdtempSync(join(tmpdir(), 'visitstore-bench-'))
      profiles.push(profile)
      context = await launchBrowser(browser, profile, options)
      if (phases.length > 1 || browser !== 'chromium') console.error(`browser: ${browser} (${workloads.map((w) => w.id).join(', ')})`)
      const suffix = browser === 'chromium' ? '' : FIREFOX_MEASURES
      const used = contenders.filter((c) => workloads.some((w) => c.kinds.includes(w.kind)))
      // The profile's first (blank) tab stays open, so closing a tab never ends the browser.
      for (const c of used) {
        c.page = await context.newPage() // each contender keeps its own tab
        c.front = browser !== 'chromium'
      }

      // Round 0 warms up (first database of each origin, first page of each tab, JIT) and is checked
      // like the others, but not kept.
      for (let round = 0; round <= options.rounds; round++) {
        const roundStart = Date.now()
        const spent = []
        for (const workload of workloads) {
          // A workload may skip the warm-up round and cap its rounds (the scale ones: minutes of filling each).
          if ((round === 0 && workload.warmUp === false) || round > (workload.maxRounds ?? Infinity)) continue
          const order = shuffle(used.filter((c) => c.kinds.includes(workload.kind)), round)
          const workloadStart = Date.now()
          const results = await runWorkload(workload, order, round)
          spent.push(`${workload.id} ${((Date.now() - workloadStart) / 1000).toFixed(1)}`)
          if (round === 0) continue
          for (const [c, totals] of results) {
            for (const [measure, ms] of Object.entries(totals)) ((samples[measure + suffix] ??= {})[c.id] ??= []).push(ms)
          }
        }
        const what = round === 0 ? 'warm-up round' : `round ${round}/${options.rounds}`
        if (spent.length) console.error(`${browser}: ${what} done in ${((Date.now() - roundStart) / 1000).toFixed(1)} s (${spent.join(', ')})`)
      }
      await context.close().catch(() => {})
      context = undefined
    }
    const seconds = (Date.now() - started) / 1000

    // Every sample, for a second look (bench/out/ is not committed).
    mkdirSync(join(here, 'out'), { recursive: true })
    writeFileSync(join(here, 'out/samples.json'), JSON.stringify({ rounds: options.rounds, samples, size }, null, 2))

    const rows = summarize(samples)
    console.log(textReport(rows, size))
    console.log(`\n${options.rounds} rounds in ${seconds.toFixed(0)} s`)
    if (!options.write) return
    if (options.rounds < MIN_ROUNDS_FOR_RESULTS) {
      console.log(`bench/RESULTS.md not written: it needs at least ${MIN_ROUNDS_FOR_RESULTS} rounds.`)
      return
    }
    const machine = machineInfo(loadAtStart, phases.map((p) => p.browser))
    writeFileSync(join(here, 'RESULTS.md'), markdownReport(rows, { machine, size, rounds: options.rounds, seconds, params: WORKLOADS }))
    console.log('wrote bench/RESULTS.md')
  } finally {
    await context?.close().catch(() => {})
    for (const c of contenders) await c.close()
    for (const profile of profiles) rmSync(profile, { recursive: true, force: true })
  }
}

main().catch((err) => {
  console.error(`\nbenchmark FAILED: ${err?.stack ?? err}`)
  process.exitCode = 1
})
