// A private X display for WebKitGTK, which has no headless mode: MiniBrowser and the restart
// browser are GTK windows. Started only when DISPLAY is unset, killed at exit.
import { spawn } from 'node:child_process'
import { existsSync, readFileSync, rmSync } from 'node:fs'
import { atExit, isAlive, killGroup, trackProcessGroup, waitFor } from './util.mjs'

const XVFB = '/usr/bin/Xvfb'

const lockFile = (n) => `/tmp/.X${n}-lock`
const socketFile = (n) => `/tmp/.X11-unix/X${n}`

function removeDisplayFiles(n) {
  rmSync(lockFile(n), { force: true })
  rmSync(socketFile(n), { force: true })
}

/**
 * A display number with no live X server. A lock file whose pid is dead (an X server killed with
 * SIGKILL leaves it) is stale: it and its socket are removed, as X servers do themselves.
 */
function isFree(n) {
  if (existsSync(lockFile(n))) {
    let pid
    try {
      pid = Number(readFileSync(lockFile(n), 'utf8').trim())
    } catch {
      return false
    }
    if (!Number.isInteger(pid) || pid <= 0 || isAlive(pid)) return false
    removeDisplayFiles(n)
    return true
  }
  return !existsSync(socketFile(n))
}

/** Starts `Xvfb :N` on the first free N from 99; resolves to { display, stop }. */
export async function startXvfb({ first = 99, tries = 20, timeoutMs = 10000 } = {}) {
  if (!existsSync(XVFB)) throw new Error(`${XVFB} not found: apt-get install -y --no-install-recommends xvfb xauth`)
  for (let n = first; n < first + tries; n++) {
    if (!isFree(n)) continue
    const child = spawn(XVFB, [`:${n}`, '-screen', '0', '1280x1024x24', '-nolisten', 'tcp'], { stdio: 'ignore', detached: true })
    trackProcessGroup(child.pid)
    let exited = false
    child.once('exit', () => { exited = true })
    child.once('error', () => { exited = true })
    try {
      // Ready when its socket exists; an early exit means another server won the race for :N.
      await waitFor(() => exited || existsSync(`/tmp/.X11-unix/X${n}`), timeoutMs, `Xvfb :${n} start`)
    } catch (err) {
      killGroup(child.pid)
      throw err
    }
    if (exited) {
      killGroup(child.pid)
      continue
    }
    child.unref()
    // At an abrupt exit Xvfb is SIGKILLed and cannot remove its lock and socket: do it for it.
    const forget = atExit(() => {
      killGroup(child.pid)
      removeDisplayFiles(n)
    })
    return {
      display: `:${n}`,
      // SIGTERM: Xvfb removes its own lock file and socket.
      stop: () => { forget(); killGroup(child.pid, 'SIGTERM') },
    }
  }
  throw new Error(`no free X display in :${first}..:${first + tries - 1}`)
}
