// Small process and timing helpers for the browser suite: every wait is bounded, every child is
// killed at exit, every temp folder removed.
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

/** Raised when a bounded wait runs out; the runner treats the browser as unusable after one. */
export class TimeoutError extends Error {
  constructor(what, ms) {
    super(`${what} did not finish within ${ms} ms`)
    this.name = 'TimeoutError'
  }
}

/** Resolves like `promise`, or rejects with a TimeoutError after `ms` (the timer never keeps node alive). */
export function withTimeout(promise, ms, what) {
  let timer
  const limit = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(what, ms)), ms)
    timer.unref?.()
  })
  return Promise.race([Promise.resolve(promise), limit]).finally(() => clearTimeout(timer))
}

/** Polls `probe` until it returns a truthy value; rejects with a TimeoutError after `ms`. */
export async function waitFor(probe, ms, what, every = 50) {
  const end = Date.now() + ms
  for (;;) {
    const value = await probe()
    if (value) return value
    if (Date.now() > end) throw new TimeoutError(what, ms)
    await sleep(every)
  }
}

/** A free TCP port on 127.0.0.1 (for WebKitWebDriver, which needs one given). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address()
      srv.close(() => resolve(port))
    })
  })
}

const groups = new Set()
const dirs = new Set()
const exitHooks = new Set()

/** Runs `fn` (synchronous) at exit unless the returned function is called first. */
export function atExit(fn) {
  exitHooks.add(fn)
  return () => exitHooks.delete(fn)
}

/** Remembers a detached child's process group so that it is killed at exit whatever happens. */
export function trackProcessGroup(pid) {
  if (pid) groups.add(pid)
  return () => groups.delete(pid)
}

/** SIGKILLs a tracked process group now (no-op if it is gone). */
export function killGroup(pid, signal = 'SIGKILL') {
  groups.delete(pid)
  try {
    process.kill(-pid, signal)
  } catch {
    // Already gone.
  }
}

/**
 * Spawns `command` in a process group of its own (killGroup ends it and whatever it started; the
 * runner kills it at exit), keeping the last 4,000 characters of its output for error messages.
 * `exited()`: whether it has exited or could not start.
 */
export function spawnGroup(command, args, options) {
  const child = spawn(command, args, { ...options, detached: true, stdio: ['ignore', 'pipe', 'pipe'] })
  trackProcessGroup(child.pid)
  let output = ''
  let exited = false
  const keep = (d) => { output = (output + d).slice(-4000) }
  child.stdout.on('data', keep)
  child.stderr.on('data', keep)
  child.once('exit', () => { exited = true })
  child.once('error', (err) => { exited = true; keep(String(err)) })
  return { child, output: () => output, exited: () => exited }
}

export function isAlive(pid) {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/** A new temp folder, removed at exit. */
export function tempDir(label) {
  const dir = mkdtempSync(join(tmpdir(), `visitstore-${label}-`))
  dirs.add(dir)
  return dir
}

export function removeDir(dir) {
  dirs.delete(dir)
  rmSync(dir, { recursive: true, force: true, maxRetries: 3 })
}

/** Synchronous last-resort cleanup: runs on every exit path, including an uncaught error. */
export function cleanupSync() {
  for (const fn of [...exitHooks]) {
    exitHooks.delete(fn)
    try {
      fn()
    } catch {
      // Best effort: keep cleaning up.
    }
  }
  for (const pid of [...groups]) killGroup(pid)
  for (const dir of [...dirs]) {
    try {
      removeDir(dir)
    } catch {
      // A browser still writing into it; the OS temp cleaner takes it.
    }
  }
}

/** The installed version of an npm package, found from its entry point (some packages do not export package.json). */
export function packageVersion(name) {
  let dir = dirname(fileURLToPath(import.meta.resolve(name)))
  for (;;) {
    const file = join(dir, 'package.json')
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, 'utf8'))
      if (pkg.name === name) return pkg.version
    }
    const up = dirname(dir)
    if (up === dir) return '?'
    dir = up
  }
}
