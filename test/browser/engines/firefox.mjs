// Firefox ESR (Debian's `firefox-esr`) through puppeteer-core over WebDriver BiDi: no geckodriver
// (not packaged in bookworm; the npm one downloads a binary). Headless, no X needed.
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import puppeteer from 'puppeteer-core'
import { packageVersion, sleep, withTimeout } from '../lib/util.mjs'

const BINARY = '/usr/bin/firefox-esr'
const OP_MS = 20000
const version = packageVersion('puppeteer-core')

function options(profile, prefs = {}) {
  return {
    browser: 'firefox',
    executablePath: BINARY,
    headless: true,
    timeout: 40000,
    protocolTimeout: OP_MS,
    ...(profile ? { userDataDir: profile } : {}),
    // Release builds ignore the remote-settings pref unless this variable is set; with both,
    // Firefox makes no request outside loopback.
    env: { ...process.env, MOZ_REMOTE_SETTINGS_DEVTOOLS: '1' },
    // `prefs`: a scenario's own (network.cookie.cookieBehavior…), after the suite's.
    extraPrefsFirefox: { 'services.settings.server': 'data:,#remote-settings-dummy/v1', ...prefs },
  }
}

function wrapPage(page, browser) {
  return {
    async cookies() {
      const host = new URL(page.url()).hostname
      const jar = await withTimeout(browser.cookies(), OP_MS, 'firefox cookies')
      // puppeteer: session: true and expires -1 for a session cookie.
      return jar.filter((c) => c.domain === host || c.domain === `.${host}`)
        .map((c) => ({ name: c.name, value: c.value, session: c.session === true, expires: c.session ? null : c.expires }))
    },
    /** Real user input (WebDriver BiDi input.performActions): a click near the top-left corner, then a Shift key press. */
    input: () => withTimeout((async () => {
      await page.mouse.click(5, 5)
      await page.keyboard.press('Shift')
    })(), OP_MS, 'firefox input'),
    goto: (url) => withTimeout(page.goto(url, { timeout: OP_MS }), OP_MS, `firefox goto ${url}`),
    reload: () => withTimeout(page.reload({ timeout: OP_MS }), OP_MS, 'firefox reload'),
    evaluate: (fn, arg) => withTimeout(page.evaluate(fn, arg), OP_MS, 'firefox evaluate'),
    close: () => withTimeout(page.close(), OP_MS, 'firefox close tab'),
  }
}

export const firefox = {
  name: 'firefox',
  driver: `puppeteer-core ${version} (WebDriver BiDi)`,
  async unavailable() {
    return existsSync(BINARY) ? null : `${BINARY} not found (apt-get install -y --no-install-recommends firefox-esr)`
  },
  async launch({ profile, prefs } = {}) {
    const browser = await withTimeout(puppeteer.launch(options(profile, prefs)), 45000, 'firefox launch')
    const pid = browser.process()?.pid
    const kill = () => {
      try {
        if (pid) process.kill(pid, 'SIGKILL')
      } catch {
        // Already gone.
      }
    }
    // On a kept profile puppeteer backs up user.js and prefs.js at launch and puts them back once
    // the process has exited, asynchronously: a relaunch on the profile (the crash test) waits for
    // that, or its own backup finds user.js gone under it (ENOENT).
    const child = browser.process()
    const exited = new Promise((resolve) => (!child || child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', resolve)))
    const settled = async () => {
      if (!profile) return
      await withTimeout(exited, OP_MS, 'firefox exit').catch(() => {})
      for (let i = 0; i < 100 && ['user.js', 'prefs.js'].some((f) => existsSync(join(profile, `${f}.puppeteer`))); i++) await sleep(50)
    }
    const spare = await withTimeout(browser.pages(), OP_MS, 'firefox pages')
    return {
      version: `Firefox ${(await withTimeout(browser.version(), OP_MS, 'firefox version')).replace(/^firefox\//, '')}`,
      async newTab() {
        return wrapPage(spare.shift() ?? await withTimeout(browser.newPage(), OP_MS, 'firefox newPage'), browser)
      },
      async close() {
        try {
          await withTimeout(browser.close(), OP_MS, 'firefox close')
        } catch (err) {
          kill()
          throw err
        } finally {
          await settled()
        }
      },
      kill,
    }
  },
}
