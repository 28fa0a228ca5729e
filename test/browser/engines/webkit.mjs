// WebKitGTK through WebKitWebDriver (Debian's webkit2gtk-driver) and webdriverio, WebDriver classic.
// No headless mode: runs on $DISPLAY, or on a private Xvfb started here when DISPLAY is unset.
// Ephemeral launches use MiniBrowser; profile launches (restart test) use ./wkbrowser.py, because
// MiniBrowser --automation never keeps a profile.
import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { remote } from 'webdriverio'
import { startXvfb } from '../lib/xvfb.mjs'
import { freePort, isAlive, killGroup, packageVersion, sleep, spawnGroup, waitFor, withTimeout } from '../lib/util.mjs'

const DRIVER = '/usr/bin/WebKitWebDriver'
const MINIBROWSER = '/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser'
const PYTHON = '/usr/bin/python3'
const WKBROWSER = join(dirname(fileURLToPath(import.meta.url)), '../wkbrowser.py')
const OP_MS = 20000
const version = packageVersion('webdriverio')

let xvfb
let display
let gi

/** $DISPLAY, or a private Xvfb started on first use (so plain `npm test` works without xvfb-run). */
async function ensureDisplay() {
  if (display) return display
  if (process.env.DISPLAY) return (display = process.env.DISPLAY)
  xvfb = await startXvfb()
  return (display = xvfb.display)
}

/** Whether python3-gi with WebKit2 4.1 and Gtk 3 is installed (needed only for the restart browser). */
function hasGi() {
  gi ??= spawnSync(PYTHON, ['-c', "import gi; gi.require_version('Gtk', '3.0'); gi.require_version('WebKit2', '4.1'); from gi.repository import Gtk, WebKit2"],
    { stdio: 'ignore', timeout: 10000 }).status === 0
  return gi
}

/** Starts WebKitWebDriver in its own process group, so that killing the group also ends the browser it spawned. */
async function startDriver(env) {
  const port = await freePort()
  const { child, output: log, exited } = spawnGroup(DRIVER, [`--port=${port}`, '--host=127.0.0.1'], { env })
  try {
    await waitFor(async () => {
      if (exited()) throw new Error(`WebKitWebDriver exited: ${log().trim()}`)
      try {
        return (await fetch(`http://127.0.0.1:${port}/status`)).ok
      } catch {
        return false
      }
    }, 10000, 'WebKitWebDriver start')
  } catch (err) {
    killGroup(child.pid)
    throw err
  }
  return { port, pid: child.pid, log, stop: () => killGroup(child.pid) }
}

function capabilities(profile, args = []) {
  const common = {
    // webdriverio 9 asks for BiDi by default; WebKitWebDriver answers "Failed to match capabilities".
    'wdio:enforceWebDriverClassic': true,
    timeouts: { script: OP_MS, pageLoad: OP_MS, implicit: 0 },
  }
  if (!profile) {
    // `args`: a scenario's own MiniBrowser switches (--cookies-policy=never…).
    return { ...common, browserName: 'MiniBrowser', 'webkitgtk:browserOptions': { binary: MINIBROWSER, args: ['--automation', ...args] } }
  }
  // The python file is run through Debian's interpreter, so neither its exec bit nor $PATH's python matters.
  return { ...common, 'webkitgtk:browserOptions': { binary: PYTHON, args: [WKBROWSER, `--profile=${profile}`] } }
}

/**
 * The script for a page function whose result comes back one level down, as { r: result }: the
 * driver answers { value: result }, and webdriverio reads an answer whose value has an `error`
 * key (a page result like { ok: false, error }) as a WebDriver error ("WebDriverError: [object Object]").
 */
function wrapResult(fn) {
  return `return Promise.resolve((${fn}).apply(null, arguments)).then((r) => ({ r }))`
}

/** Waits for the restart browser to exit by itself (it flushes cookies and IndexedDB on the way out). */
async function waitForBrowserExit(profile, ms) {
  const pidFile = join(profile, 'wkbrowser.pid')
  if (!existsSync(pidFile)) return
  const pid = Number(readFileSync(pidFile, 'utf8'))
  await waitFor(() => !isAlive(pid), ms, 'wkbrowser.py exit')
}

export const webkit = {
  name: 'webkit',
  driver: `webdriverio ${version} + WebKitWebDriver (WebDriver classic)`,
  async unavailable({ persistent } = {}) {
    for (const file of [DRIVER, MINIBROWSER]) {
      if (!existsSync(file)) return `${file} not found (apt-get install -y --no-install-recommends webkit2gtk-driver)`
    }
    if (!process.env.DISPLAY && !existsSync('/usr/bin/Xvfb')) return 'no DISPLAY and no /usr/bin/Xvfb (apt-get install -y --no-install-recommends xvfb xauth)'
    if (persistent && !hasGi()) {
      return 'MiniBrowser --automation cannot keep a profile, and the persistent-profile browser test/browser/wkbrowser.py ' +
        'needs python3-gi (apt-get install -y --no-install-recommends python3-gi gir1.2-webkit2-4.1 gir1.2-gtk-3.0)'
    }
    return null
  },
  async launch({ profile, args } = {}) {
    const env = { ...process.env, DISPLAY: await ensureDisplay() }
    const driver = await startDriver(env)
    let b
    try {
      b = await withTimeout(remote({
        hostname: '127.0.0.1', port: driver.port, path: '/', logLevel: 'silent',
        connectionRetryTimeout: 20000, connectionRetryCount: 0, capabilities: capabilities(profile, args),
      }), 30000, 'webkit session start')
    } catch (err) {
      driver.stop()
      throw new Error(`${err.message}${driver.log() ? ` (driver log: ${driver.log().trim().slice(-500)})` : ''}`, { cause: err })
    }
    // One WebDriver session drives every tab: switch to a tab's window before each command, one command at a time.
    let queue = Promise.resolve()
    let current = await withTimeout(b.getWindowHandle(), OP_MS, 'webkit getWindowHandle')
    const spare = [current]
    const inTab = (handle, what, fn) => {
      const run = queue.then(async () => {
        if (current !== handle) {
          await b.switchToWindow(handle)
          current = handle
        }
        return fn()
      })
      queue = run.catch(() => {})
      return withTimeout(run, OP_MS, `webkit ${what}`)
    }
    return {
      version: `WebKitGTK ${b.capabilities.browserVersion ?? '?'} (${b.capabilities.browserName ?? '?'})`,
      async newTab() {
        let handle = spare.shift()
        if (!handle) {
          handle = await inTab(current, 'newTab', async () => (await b.createWindow('tab')).handle)
        }
        return {
          // WebDriver "Get All Cookies" reads the jar for the tab's current document. A session cookie has no `expiry`.
          cookies: () => inTab(handle, 'getCookies', async () => (await b.getCookies())
            .map((c) => ({ name: c.name, value: c.value, session: c.expiry === undefined, expires: c.expiry ?? null }))),
          // Real user input: WebDriver Element Click on <body> (pointerdown, mousedown, click) and a Shift key press.
          // (Pointer actions never return in a tab made by createWindow('tab'): WebKitGTK shows it as hidden.)
          input: () => inTab(handle, 'input', async () => {
            await (await b.$('body')).click()
            await b.keys(['Shift'])
          }),
          goto: (url) => inTab(handle, `goto ${url}`, () => b.url(url)),
          reload: () => inTab(handle, 'reload', () => b.refresh()),
          /** History back, through the driver (a back started by page script can leave the next command hanging). */
          back: () => inTab(handle, 'back', () => b.back()),
          evaluate: (fn, arg) => inTab(handle, 'evaluate', async () => (await b.execute(wrapResult(fn), arg))?.r),
          close: () => inTab(handle, 'close tab', async () => {
            const left = await b.closeWindow()
            if (left[0]) {
              await b.switchToWindow(left[0])
              current = left[0]
            }
          }),
        }
      },
      async close() {
        try {
          await withTimeout(b.deleteSession(), 15000, 'webkit deleteSession')
          if (profile) await waitForBrowserExit(profile, 10000)
        } finally {
          // Ends the driver and, being its process group, a browser that did not exit.
          await sleep(50)
          driver.stop()
        }
      },
      kill: () => driver.stop(),
    }
  },
  /** Stops the private Xvfb, if one was started. */
  shutdown() {
    xvfb?.stop()
    xvfb = undefined
    display = undefined
  },
}
