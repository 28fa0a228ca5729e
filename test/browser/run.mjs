#!/usr/bin/env node
// Browser suite runner: node test/browser/run.mjs [--engine=chromium,firefox,webkit]
// Serves the BUILT bundle (dist/, or VISITSTORE_DIST) on 127.0.0.1 and runs every scenario in
// every engine. One browser per engine for the 'live' group; the 'restart' group relaunches on a
// kept profile. Every wait is bounded; browsers, drivers, Xvfb and temp profiles are cleaned up
// on every exit path. Last line: "N passed, N failed, N skipped"; exit code 1 on any failure.
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

// Per scenario, unless it says otherwise (`timeoutMs`: the crash and navigation trials run long).
const SCENARIO_MS = 60000
const CLOSE_MS = 20000
const WATCHDOG_MS = 25 * 60 * 1000

function parseArgs(argv) {
  const wanted = new Set()
  for (const arg of argv) {
    const m = /^--engine=(.+)$/.exec(arg)
    const only = /^--only=(.+)$/.exec(arg)
    if (m) for (const name of m[1].split(',')) wanted.add(name.trim())
    else if (only) {
      // Ids, or prefixes ending in '*' (--only=r*,7a).
      const ids = only[1].split(',').map((id) => id.trim())
      scenarios = allScenarios.filter((s) => ids.some((id) => (id.endsWith('*') ? s.id.startsWith(id.slice(0, -1)) : s.id === id)))
      if (!scenarios.length) throw new Error(`--only=${only[1]} matches no scenario`)
    } else if (arg === '--help' || arg === '-h') {
      console.log(`usage: node test/browser/run.mjs [--engine=${engines.map((e) => e.name).join(',')}] [--only=id,prefix*]\nenv: VISITSTORE_DIST=folder with visitstore.iife.js (default: dist/)`)
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
        })(), scenario.timeoutMs ?? SCENARIO_MS, `scenario ${scenario.id}`)
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

async function main() {
  let chosen
  try {
    chosen = parseArgs(process.argv.slice(2))
  } catch (err) {
    console.log(`browser tests: ${err.message}`)
    console.log('0 passed, 1 failed')
    return 2
  }
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

process.on('exit', cleanupSync)
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
