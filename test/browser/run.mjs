#!/usr/bin/env node
// Browser suite runner: node test/browser/run.mjs [--engine=chromium,firefox,webkit] [--side-by-side]
// Serves the BUILT bundle (dist/, or VISITSTORE_DIST) on 127.0.0.1 and runs every scenario in
// every engine. One browser per engine for the 'live' group; the 'restart' group relaunches on a
// kept profile. Every wait is bounded; browsers, drivers, Xvfb and temp profiles are cleaned up
// on every exit path. Last line: "N passed, N failed, N skipped"; exit code 1 on any failure.
// With --side-by-side, the engines run at once, one child process each (its own server, browsers,
// temp folders and ports): they share nothing but the machine. On 2 cores that is a stress test
// (tabs are descheduled, launches take seconds), not the default: see test/browser/README.md.
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { engines } from './engines/index.mjs'
import { scenarios as mainScenarios } from './scenarios.mjs'
import { hardeningScenarios } from './scenarios-hardening.mjs'
import { reliabilityScenarios } from './scenarios-reliability.mjs'
import { hostileScenarios } from './scenarios-hostile.mjs'
import { cookieScenarios } from './scenarios-cookies.mjs'
import { tomcatScenarios } from './scenarios-tomcat.mjs'
import { ssrScenarios } from './scenarios-ssr.mjs'
import { checkBundle, distDir, startServer } from './server.mjs'
import { cleanupSync, removeDir, tempDir, TimeoutError, withTimeout } from './lib/util.mjs'

// 1a–9 (scenarios.mjs, scenarios-session.mjs), the hardening cases h1, h2, h6, h8, then one file per
// later concern: data safety (r*), hostile environments (n*), the cookie tier (c*), Tomcat (j*), SSR (s*).
const allScenarios = [...mainScenarios, ...hardeningScenarios, ...reliabilityScenarios, ...hostileScenarios, ...cookieScenarios, ...tomcatScenarios, ...ssrScenarios]
let scenarios = allScenarios

// Per scenario, unless it says otherwise (`timeoutMs`: the navigation trials run long). These bound
// a hang, they time nothing: a 'restart' scenario launches browsers again and again, and on a busy
// machine (--side-by-side) a launch can take several seconds.
const SCENARIO_MS = 60000
const RESTART_MS = 150000
const CLOSE_MS = 20000
const WATCHDOG_MS = 25 * 60 * 1000

/** Whether several engines run at once, one child process each (--side-by-side), instead of one after another. */
let sideBySide = false

function parseArgs(argv) {
  const wanted = new Set()
  for (const arg of argv) {
    const m = /^--engine=(.+)$/.exec(arg)
    if (arg === '--side-by-side') {
      sideBySide = true
      continue
    }
    const only = /^--only=(.+)$/.exec(arg)
    if (m) for (const name of m[1].split(',')) wanted.add(name.trim())
    else if (only) {
      // Ids, or prefixes ending in '*' (--only=r*,7a).
      const ids = only[1].split(',').map((id) => id.trim())
      scenarios = allScenarios.filter((s) => ids.some((id) => (id.endsWith('*') ? s.id.startsWith(id.slice(0, -1)) : s.id === id)))
      if (!scenarios.length) throw new Error(`--only=${only[1]} matches no scenario`)
    } else if (arg === '--help' || arg === '-h') {
      console.log(`usage: node test/browser/run.mjs [--engine=${engines.map((e) => e.name).join(',')}] [--only=id,prefix*] [--side-by-side]\n(--side-by-side: the engines at once, one process each; race scenarios still get the machine alone)\nenv: VISITSTORE_DIST=folder with visitstore.iife.js (default: dist/)`)
      process.exit(0)
    } else throw new Error(`unknown argument ${arg}; try --help`)
  }
  const unknown = [...wanted].filter((n) => !engines.some((e) => e.name === n))
  if (unknown.length) throw new Error(`unknown engine ${unknown.join(', ')}; known: ${engines.map((e) => e.name).join(', ')}`)
  return wanted.size ? engines.filter((e) => wanted.has(e.name)) : engines
}

const failures = []
const seconds = (ms) => `${(ms / 1000).toFixed(1)}s`
const oneLine = (err) => String(err?.message ?? err).split('\n').map((l) => l.trim()).filter(Boolean).join(' ').slice(0, 600)

/** Closes a browser within CLOSE_MS, or kills it. Never throws. */
async function shutBrowser(browser) {
  if (!browser) return
  try {
    await withTimeout(browser.close(), CLOSE_MS, 'browser close')
  } catch (err) {
    console.log(`    (browser close failed: ${oneLine(err)}; killed)`)
    browser.kill()
  }
}

/** What an engine lacks for a scenario, or null. */
async function skipReason(engine, scenario) {
  const missing = await engine.unavailable({ persistent: scenario.needs?.persistent === true })
  if (missing) return missing
  // A scenario may be for some engines only, or need a tool (php) this machine lacks.
  return (await scenario.unavailable?.(engine)) ?? null
}

async function runEngine(engine, server) {
  const started = Date.now()
  const tally = { passed: 0, failed: 0, skipped: 0 }
  const report = (status, scenario, detail, ms) => {
    tally[status]++
    const label = { passed: 'PASS', failed: 'FAIL', skipped: 'SKIP' }[status]
    console.log(`  ${label} ${scenario.id.padEnd(3)} ${scenario.name}${ms === undefined ? '' : ` (${seconds(ms)})`}${detail ? `\n       ${status === 'failed' ? '→' : 'reason:'} ${detail}` : ''}`)
    if (status === 'failed') failures.push(`${engine.name} ${scenario.id}: ${detail}`)
  }
  let browser = null
  let version = ''
  const profiles = []
  try {
    for (const scenario of scenarios) {
      const why = await skipReason(engine, scenario)
      if (why) {
        report('skipped', scenario, why)
        continue
      }
      // A race scenario has the machine to itself: the other engines' processes finish the scenario
      // they are in, then wait (its own check that the race really ran fails when tabs are descheduled).
      const release = await machine(scenario.quiet ? 'alone' : 'shared')
      const t0 = Date.now()
      const opened = []
      const launched = []
      let broken = false
      try {
        await withTimeout((async () => {
          if (scenario.group === 'live') {
            if (!browser) {
              browser = await engine.launch()
              // A tab that stays open, so closing scenario tabs never closes the last window.
              await browser.newTab()
              if (!version) console.log(`  (${browser.version})`)
              version = browser.version
            }
            const tab = async () => {
              const t = await browser.newTab()
              opened.push(t)
              return t
            }
            await scenario.run({ tab, server, engine })
          } else {
            const profile = tempDir(`${engine.name}-profile`)
            profiles.push(profile)
            const launch = async () => {
              const b = await engine.launch({ profile })
              launched.push(b)
              const close = b.close
              b.close = async () => { launched.splice(launched.indexOf(b), 1); await close() }
              return b
            }
            await scenario.run({ launch, server, engine })
          }
        })(), scenario.timeoutMs ?? (scenario.group === 'live' ? SCENARIO_MS : RESTART_MS), `scenario ${scenario.id}`)
        report('passed', scenario, '', Date.now() - t0)
      } catch (err) {
        broken = err instanceof TimeoutError
        report('failed', scenario, oneLine(err), Date.now() - t0)
      } finally {
        for (const b of launched) await shutBrowser(b)
        if (broken) {
          // A hung call leaves the browser in an unknown state: start a new one for the next scenario.
          await shutBrowser(browser)
          browser = null
        } else {
          for (const t of opened) await t.close().catch(() => {})
        }
        release()
      }
    }
  } finally {
    await shutBrowser(browser)
    for (const dir of profiles) {
      try {
        removeDir(dir)
      } catch {
        // Removed at exit instead.
      }
    }
  }
  const ran = tally.passed + tally.failed
  console.log(`${engine.name}: ${ran} ran, ${tally.passed} passed, ${tally.failed} failed, ${tally.skipped} skipped in ${seconds(Date.now() - started)}`)
  return tally
}

const children = new Set()

/**
 * The machine, shared by the engines running side by side: most scenarios take it 'shared', a
 * race scenario (`quiet: true`) 'alone'. In a child runner the parent grants it (waiting 'alone'
 * requests go first); run on its own, a runner always has it. Resolves to the release function.
 */
let asks = 0
const pending = new Map()
function machine(how) {
  if (!process.send) return Promise.resolve(() => {})
  const id = ++asks
  return new Promise((resolve) => {
    pending.set(id, () => resolve(() => process.send({ release: id })))
    process.send({ want: how, id })
  })
}
process.on('message', (m) => {
  pending.get(m?.granted)?.()
  pending.delete(m?.granted)
})

/** The parent's side of machine(): who holds it, who waits. */
function createMachineLock() {
  const held = new Map() // child → Map(id → how)
  const waiting = [] // [child, id, how]
  const holders = () => [...held.values()].flatMap((ids) => [...ids.values()])
  const grant = () => {
    for (let i = 0; i < waiting.length;) {
      const [child, id, how] = waiting[i]
      const now = holders()
      const aloneFirst = how === 'shared' && waiting.some((w) => w[2] === 'alone')
      const free = how === 'alone' ? now.length === 0 : !now.includes('alone') && !aloneFirst
      if (!free) {
        i++
        continue
      }
      waiting.splice(i, 1)
      if (!child.connected) continue
      if (!held.has(child)) held.set(child, new Map())
      held.get(child).set(id, how)
      child.send({ granted: id })
    }
  }
  return {
    attach(child) {
      child.on('message', (m) => {
        if (m?.want) waiting.push([child, m.id, m.want])
        else if (m?.release) held.get(child)?.delete(m.release)
        grant()
      })
      child.once('exit', () => {
        held.delete(child)
        for (let i = waiting.length - 1; i >= 0; i--) if (waiting[i][0] === child) waiting.splice(i, 1)
        grant()
      })
    },
  }
}

/**
 * Runs each engine in a child process of this runner (same arguments, one engine each), side by
 * side. Their reports come out whole, each when its engine ends; the totals are summed from their
 * last lines. A child that ends without one (it crashed) counts as a failure.
 */
async function runSideBySide(chosen) {
  const args = process.argv.slice(2).filter((a) => !a.startsWith('--engine=') && a !== '--side-by-side')
  const started = Date.now()
  console.log(`browser tests: ${chosen.map((e) => e.name).join(', ')} side by side, one process each`)
  const total = { passed: 0, failed: 0, skipped: 0 }
  const lost = []
  const lock = createMachineLock()
  await Promise.all(chosen.map((engine) => new Promise((resolve) => {
    const child = spawn(process.execPath, [fileURLToPath(import.meta.url), `--engine=${engine.name}`, ...args], { stdio: ['ignore', 'pipe', 'pipe', 'ipc'] })
    children.add(child)
    lock.attach(child)
    let out = ''
    child.stdout.on('data', (d) => { out += d })
    child.stderr.on('data', (d) => { out += d })
    let ended = false
    const done = (code, signal) => {
      if (ended) return
      ended = true
      children.delete(child)
      const lines = out.trimEnd().split('\n')
      const last = /^(\d+) passed, (\d+) failed(?:, (\d+) skipped)?$/.exec(lines.at(-1) ?? '')
      // Each child's header line (bundle, origin) says the same: it is left out.
      console.log(`\n${lines.slice(0, last ? -1 : undefined).filter((l) => !l.startsWith('browser tests: bundle ')).join('\n').trim()}`)
      if (last) {
        total.passed += Number(last[1])
        total.failed += Number(last[2])
        total.skipped += Number(last[3] ?? 0)
      }
      if (!last || (code !== 0 && !Number(last[2]))) lost.push(`${engine.name}: the runner ended (${signal ?? `exit ${code}`}) without a result line`)
      resolve()
    }
    child.once('error', (err) => { out += `\n${err.message}`; done(null, null) })
    child.once('exit', done)
  })))
  for (const line of lost) console.log(`\n${line}`)
  console.log(`\nall engines in ${seconds(Date.now() - started)}`)
  console.log(`\n${total.passed} passed, ${total.failed + lost.length} failed${total.skipped ? `, ${total.skipped} skipped` : ''}`)
  return total.failed + lost.length ? 1 : 0
}

async function main() {
  let chosen
  try {
    chosen = parseArgs(process.argv.slice(2))
  } catch (err) {
    console.log(`browser tests: ${err.message}`)
    console.log('0 passed, 1 failed')
    return 2
  }
  if (chosen.length > 1 && sideBySide) return runSideBySide(chosen)
  try {
    checkBundle()
  } catch (err) {
    console.log(`browser tests: ${err.message}`)
    console.log('0 passed, 1 failed')
    return 1
  }
  const server = await startServer()
  console.log(`browser tests: bundle ${distDir()}/visitstore.iife.js, served at ${server.origin}`)
  const total = { passed: 0, failed: 0, skipped: 0 }
  try {
    for (const engine of chosen) {
      console.log(`\n${engine.name} — ${engine.driver}`)
      const tally = await runEngine(engine, server)
      for (const k of Object.keys(total)) total[k] += tally[k]
    }
  } finally {
    for (const engine of chosen) engine.shutdown?.()
    await server.close()
  }
  if (failures.length) console.log(`\nfailures:\n${failures.map((f) => `  ${f}`).join('\n')}`)
  console.log(`\n${total.passed} passed, ${total.failed} failed${total.skipped ? `, ${total.skipped} skipped` : ''}`)
  return total.failed ? 1 : 0
}

process.on('exit', () => {
  for (const child of children) child.kill('SIGTERM')
  cleanupSync()
})
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    console.error(`\nbrowser tests: ${signal}, cleaning up`)
    process.exit(130)
  })
}
const watchdog = setTimeout(() => {
  console.error(`browser tests: still running after ${WATCHDOG_MS / 1000}s; giving up`)
  console.log('0 passed, 1 failed')
  process.exit(1)
}, WATCHDOG_MS)
watchdog.unref()

main().then((code) => {
  process.exitCode = code
  // Drivers may leave sockets or timers behind; do not wait for them.
  setTimeout(() => process.exit(code), 200).unref()
}, (err) => {
  console.error(`browser tests: ${err?.stack ?? err}`)
  console.log('0 passed, 1 failed')
  process.exit(1)
})
