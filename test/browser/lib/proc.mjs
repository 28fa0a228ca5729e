// Finding and killing a browser this process started, through /proc (Linux): for engines whose
// driver does not give the browser's process (playwright's persistent context), so that a crash
// test can SIGKILL it as a power cut or the OOM killer would.
import { readdirSync, readFileSync } from 'node:fs'

/** The command line of `pid` as an array, or null when it is gone or unreadable. */
function commandLine(pid) {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean)
  } catch {
    return null
  }
}

/** `pid`'s process group, or null. (/proc/PID/stat: "pid (comm) state ppid pgrp …"; comm may hold spaces.) */
function processGroup(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2])
  } catch {
    return null
  }
}

/**
 * The main process of a Chromium-family browser started with `--user-data-dir=<dir>` (the one
 * whose arguments hold that switch and no `--type=`: the zygotes, renderers and utility processes
 * carry `--type=`), or null.
 */
export function browserPidByUserDataDir(dir) {
  const flag = `--user-data-dir=${dir}`
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    const args = commandLine(entry)
    if (args?.includes(flag) && !args.some((a) => a.startsWith('--type='))) return Number(entry)
  }
  return null
}

/**
 * SIGKILLs `pid` and, when it leads its own process group (drivers start browsers detached), the
 * whole group: the browser and every helper process it forked, at once. Never throws.
 */
export function killTree(pid) {
  if (!pid) return
  try {
    process.kill(processGroup(pid) === pid ? -pid : pid, 'SIGKILL')
  } catch {
    // Already gone.
  }
}
