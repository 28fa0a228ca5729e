// Chromium (Debian's `chromium`) through playwright-core over CDP. Headless, no X needed.
import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import { chromium as playwright } from 'playwright-core'
import { packageVersion, withTimeout } from '../lib/util.mjs'
import { browserPidByUserDataDir, killTree } from '../lib/proc.mjs'

/** Debian's Chromium; the suite, the demo test and the benchmark all launch this one. */
export const BINARY = '/usr/bin/chromium'
/**
 * Flags for every Chromium this repo launches: headless as root, and nothing leaves 127.0.0.1
 * (no background networking, updates, sync, QUIC, or name lookups).
 */
export const FLAGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync',
  '--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1',
]
const OP_MS = 20000
const version = packageVersion('playwright-core')

const options = {
  executablePath: BINARY,
  headless: true,
  timeout: 30000,
  args: FLAGS,
}

/**
 * The launch options with `extra` switches (a scenario's --host-resolver-rules,
 * --unsafely-treat-insecure-origin-as-secure…) after FLAGS; an extra switch replaces FLAGS' own
 * switch of the same name, so FLAGS stays the default for everyone else.
 */
function withArgs(extra = []) {
  const names = new Set(extra.map((a) => a.split('=')[0]))
  return { ...options, args: [...FLAGS.filter((f) => !names.has(f.split('=')[0])), ...extra] }
}

function wrapPage(page, context) {
  let cdp
  return {
    /** A DevTools protocol command in this tab's session (Chromium only: scenario h6's quota override). */
    async cdp(method, params) {
      cdp ??= await withTimeout(context.newCDPSession(page), OP_MS, 'chromium newCDPSession')
      return withTimeout(cdp.send(method, params), OP_MS, `chromium CDP ${method}`)
    },
    async cookies() {
      const jar = await withTimeout(context.cookies(page.url()), OP_MS, 'chromium cookies')
      // playwright: expires -1 for a session cookie.
      return jar.map((c) => ({ name: c.name, value: c.value, session: c.expires === -1, expires: c.expires === -1 ? null : c.expires }))
    },
    /** Real user input (trusted events): a click near the page's top-left corner, then a Shift key press. */
    input: () => withTimeout((async () => {
      await page.mouse.click(5, 5)
      await page.keyboard.press('Shift')
    })(), OP_MS, 'chromium input'),
    goto: (url) => withTimeout(page.goto(url, { timeout: OP_MS }), OP_MS, `chromium goto ${url}`),
    reload: () => withTimeout(page.reload({ timeout: OP_MS }), OP_MS, 'chromium reload'),
    evaluate: (fn, arg) => withTimeout(page.evaluate(fn, arg), OP_MS, 'chromium evaluate'),
    close: () => withTimeout(page.close(), OP_MS, 'chromium close tab'),
  }
}

export const chromium = {
  name: 'chromium',
  driver: `playwright-core ${version}`,
  async unavailable() {
    return existsSync(BINARY) ? null : `${BINARY} not found (apt-get install -y --no-install-recommends chromium)`
  },
  async launch({ profile, args } = {}) {
    // A persistent context is the only way to keep a profile across launches in playwright.
    let browser
    let context
    if (profile) {
      context = await withTimeout(playwright.launchPersistentContext(profile, withArgs(args)), 40000, 'chromium launch (persistent)')
    } else {
      browser = await withTimeout(playwright.launch(withArgs(args)), 40000, 'chromium launch')
      context = await withTimeout(browser.newContext(), OP_MS, 'chromium newContext')
    }
    const name = (browser ?? context.browser())?.version()
    // launchPersistentContext opens one blank page: use it as the first tab.
    const spare = [...context.pages()]
    // A persistent context does not give its process: found by its profile, for kill() (the crash test's SIGKILL).
    const pid = profile ? browserPidByUserDataDir(resolve(profile)) : null
    return {
      version: `Chromium ${name ?? '?'}`,
      async newTab() {
        const page = spare.shift() ?? await withTimeout(context.newPage(), OP_MS, 'chromium newPage')
        return wrapPage(page, context)
      },
      async close() {
        // playwright kills the browser itself if it does not exit (and at node exit).
        await withTimeout(profile ? context.close() : browser.close(), OP_MS, 'chromium close')
      },
      /** SIGKILLs a persistent-profile browser and its helper processes (its process group); a no-op otherwise. */
      kill() { killTree(pid) },
    }
  },
}
