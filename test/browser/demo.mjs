#!/usr/bin/env node
// Real-browser test of the demo (demo/): Chromium (Debian's `chromium`, through playwright-core)
// against `startDemoServer` from demo/server.mjs, which serves the BUILT bundle, so run
// `npm run build` first. Clicks through what the walkthrough promises: a guest's cart survives
// login (keepOnLogin), a second tab follows changes live (source 'remote'), rotating the session
// purges the cart in both tabs, log out and "End session" purge too. Saves screenshot-desktop.png
// (1280 wide) and screenshot-phone.png (390 wide) to test-results/ (to demo/ with --update-screenshots). Any script error on the page fails it:
// an uncaught exception, a console error, or the page's own error panel.
// Usage: node test/browser/demo.mjs. Last line: "N passed, N failed"; exit code 1 on any failure.
import { existsSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium } from 'playwright-core'
import { BINARY, FLAGS as ARGS } from './engines/chromium.mjs'

const WAIT_MS = 10000
const WATCHDOG_MS = 3 * 60 * 1000
const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
const demoDir = resolve(root, 'demo')
/** Where a run leaves its screenshots, and a failing run a shot of the page (git-ignored). */
const failureDir = resolve(root, 'test-results')
// The committed screenshots in demo/ change only on purpose: `node test/browser/demo.mjs --update-screenshots`.
const shotDir = process.argv.includes('--update-screenshots') ? demoDir : failureDir
const SCREENSHOTS = {
  desktop: { path: resolve(shotDir, 'screenshot-desktop.png'), width: 1280, height: 800 },
  phone: { path: resolve(shotDir, 'screenshot-phone.png'), width: 390, height: 844 },
}

const sleep = (ms) => new Promise((ok) => setTimeout(ok, ms))

/** Script errors seen on any tab: uncaught exceptions and console errors. */
const scriptErrors = []

function trackErrors(page, name) {
  page.on('pageerror', (err) => scriptErrors.push(`${name}: uncaught ${err.name}: ${err.message}`))
  page.on('console', (msg) => {
    if (msg.type() === 'error') scriptErrors.push(`${name}: console.error ${msg.text()} (${msg.location().url || 'page'})`)
  })
}

/** Fails on any script error so far, and on the page's own error panel. */
async function assertNoErrors(tabs) {
  for (const [name, page] of Object.entries(tabs)) {
    if (await page.locator('#errors').isVisible()) {
      throw new Error(`${name}: the page shows its error panel: ${(await page.locator('#error-list').innerText()).replace(/\s+/g, ' ')}`)
    }
  }
  if (scriptErrors.length) throw new Error(`script errors: ${scriptErrors.join(' | ')}`)
}

/** Waits until `selector`'s text matches `expected` (a RegExp, or a substring); says what it showed instead. */
async function waitText(page, name, selector, expected, ms = WAIT_MS) {
  const matches = (text) => (expected instanceof RegExp ? expected.test(text) : text.includes(expected))
  const end = Date.now() + ms
  for (;;) {
    const last = (await page.locator(selector).first().textContent({ timeout: ms }).catch(() => null)) ?? '(missing)'
    if (matches(last)) return last
    if (Date.now() > end) throw new Error(`${name}: ${selector} should show ${expected}, but shows ${JSON.stringify(last.trim().slice(0, 200))} after ${ms} ms`)
    await sleep(50)
  }
}

/** Waits until an activity log line for `kind` ('cart', 'session', …) from `source` is on the page. */
async function waitActivity(page, name, kind, source) {
  const line = page.locator(`#activity li[data-kind="${kind}"][data-source="${source}"]`)
  await line.first().waitFor({ timeout: WAIT_MS }).catch(() => {
    throw new Error(`${name}: the activity log has no ${source} ${kind} line`)
  })
  return (await line.first().innerText()).replace(/\s+/g, ' ')
}

async function sessionTag(page) {
  return page.locator('#session-tag').getAttribute('title')
}

async function logIn(page, name, user) {
  await page.locator('#login-name').fill(user)
  await page.locator('#login').click()
  await waitText(page, name, '#session-state', 'active')
  await waitText(page, name, '#session-user', user)
}

// ---------------------------------------------------------------------------------------------

const steps = []
const step = (title, fn) => steps.push({ title, fn })

step('the page loads as a guest: state none, five keys in their tiers, no script error', async (t) => {
  await t.a.goto(t.url)
  await waitText(t.a, 'tab 1', '#session-state', 'none')
  await waitText(t.a, 'tab 1', '#session-user', 'guest')
  const tiers = await t.a.locator('#keys tr').evaluateAll((rows) => rows.map((row) =>
    `${row.querySelector('th code').textContent}:${row.querySelector('.tier').textContent}`))
  const want = ['theme:cookie', 'locale:cookie', 'cart:indexeddb', 'draft:indexeddb', 'scroll:sessionStorage']
  if (JSON.stringify(tiers) !== JSON.stringify(want)) throw new Error(`key table tiers: want ${want.join(' ')}, got ${tiers.join(' ')}`)
  await waitText(t.a, 'tab 1', '#cookie-header', 'Cookie: shop_$s=')
})

step('a guest cart survives login (keepOnLogin)', async (t) => {
  await t.a.locator('#add-to-cart').click()
  await waitText(t.a, 'tab 1', '#cart-summary', '1 item')
  await logIn(t.a, 'tab 1', 'Ada')
  await waitText(t.a, 'tab 1', '#cart-summary', '1 item')
  await waitText(t.a, 'tab 1', '#cookie-header', 'demo_sid=')
  const line = await waitActivity(t.a, 'tab 1', 'session', 'local')
  if (!line.includes('none → active')) throw new Error(`tab 1: the session log line should say none → active: ${line}`)
})

step('a second tab sees a cart change live, marked remote', async (t) => {
  await t.b.goto(t.url)
  // Tab 1 is where the clicks happen: playwright's clicks on a background tab are slow.
  await t.a.bringToFront()
  await waitText(t.b, 'tab 2', '#session-state', 'active')
  await waitText(t.b, 'tab 2', '#cart-summary', '1 item')
  await t.a.locator('#add-to-cart').click()
  await waitText(t.a, 'tab 1', '#cart-summary', '2 items')
  await waitText(t.b, 'tab 2', '#cart-summary', '2 items')
  const line = await waitActivity(t.b, 'tab 2', 'cart', 'remote')
  if (!line.includes('2 items')) throw new Error(`tab 2: the remote cart line should say 2 items: ${line}`)
})

step('rotating the session gives a new tag and purges the cart, in both tabs', async (t) => {
  const before = await sessionTag(t.a)
  await t.a.locator('#rotate').click()
  await waitText(t.a, 'tab 1', '#cart-summary', 'Empty.')
  // The purge's watch events may re-render the page before the session's change event does.
  let after = await sessionTag(t.a)
  for (const end = Date.now() + WAIT_MS; (!after || after === before || after === 'no session') && Date.now() < end; after = await sessionTag(t.a)) await sleep(50)
  if (!after || after === before || after === 'no session') throw new Error(`tab 1: the tag should change on rotation: ${before} → ${after}`)
  await waitText(t.a, 'tab 1', '#session-state', 'active')
  await waitText(t.a, 'tab 1', '#session-user', 'Ada')
  await waitText(t.b, 'tab 2', '#cart-summary', 'Empty.')
  await waitText(t.b, 'tab 2', '#session-tag', after.slice(0, 8))
  const line = await waitActivity(t.b, 'tab 2', 'session', 'remote')
  if (!line.includes('active → active')) throw new Error(`tab 2: the remote session line should say active → active: ${line}`)
})

step('log out, and "End session" (DELETE /session), purge the cart in both tabs', async (t) => {
  await t.a.locator('#add-to-cart').click()
  await waitText(t.b, 'tab 2', '#cart-summary', '1 item')
  await t.a.locator('#logout').click()
  await waitText(t.a, 'tab 1', '#session-state', 'none')
  await waitText(t.a, 'tab 1', '#cart-summary', 'Empty.')
  await waitText(t.b, 'tab 2', '#cart-summary', 'Empty.')
  await logIn(t.a, 'tab 1', 'Grace')
  await t.a.locator('#add-to-cart').click()
  await waitText(t.b, 'tab 2', '#cart-summary', '1 item')
  await t.a.locator('#end-session').click()
  await waitText(t.a, 'tab 1', '#session-state', 'none')
  await waitText(t.a, 'tab 1', '#session-user', 'guest')
  await waitText(t.a, 'tab 1', '#cart-summary', 'Empty.')
  await waitText(t.b, 'tab 2', '#session-state', 'none')
  await waitText(t.b, 'tab 2', '#cart-summary', 'Empty.')
})

step('a 5 KB cookie is refused with COOKIE_TOO_LARGE and the old theme stays', async (t) => {
  await t.a.locator('[data-theme-choice="dark"]').click()
  await waitText(t.a, 'tab 1', '#cookie-header', 'shop_theme=dark')
  await waitText(t.b, 'tab 2', '#keys tr:first-child .value', '"dark"')
  await t.a.locator('#cookie-5kb').click()
  await waitText(t.a, 'tab 1', '#limit-result', 'COOKIE_TOO_LARGE')
  await waitText(t.a, 'tab 1', '#limit-result', 'The old value is intact')
})

step('a page load is dark from the first paint with scripts switched off: the server reads the theme cookie', async (t) => {
  const context = await t.a.context().browser().newContext({ javaScriptEnabled: false })
  try {
    await context.addCookies(await t.a.context().cookies())
    const page = await context.newPage()
    await page.goto(t.url)
    const theme = await page.locator('html').getAttribute('data-theme')
    if (theme !== 'dark') throw new Error(`without scripts, <html data-theme> should be dark (the theme cookie), but is ${theme}`)
  } finally {
    await context.close()
  }
})

step('screenshots at desktop (1280) and phone (390) width', async (t) => {
  // A state worth looking at: signed in, a cart (one item added from tab 2, so the log shows a
  // remote line), a locale, a draft with an attachment, a refused cookie.
  await t.a.locator('[data-theme-choice="light"]').click()
  await logIn(t.a, 'tab 1', 'Ada')
  await t.a.locator('#locale').selectOption('en-GB')
  await t.a.locator('#add-to-cart').click()
  await waitText(t.b, 'tab 2', '#cart-summary', '1 item')
  await t.b.bringToFront()
  await t.b.locator('#add-to-cart').click()
  await t.a.bringToFront()
  await waitText(t.a, 'tab 1', '#cart-summary', '2 items')
  await t.a.locator('#draft-text').fill('Hello! Could the mug come in blue?')
  await t.a.locator('#attach-1mb').click()
  await waitText(t.a, 'tab 1', '#draft-summary', '1 attachment')
  await t.a.locator('#cookie-5kb').click()
  await waitText(t.a, 'tab 1', '#limit-result', 'COOKIE_TOO_LARGE')
  await waitText(t.a, 'tab 1', '#cookie-header', 'shop_locale=en-GB')
  await t.a.locator('#login-name').blur()
  for (const shot of Object.values(SCREENSHOTS)) {
    await t.a.setViewportSize({ width: shot.width, height: shot.height })
    await t.a.evaluate(() => window.scrollTo(0, 0))
    await sleep(300)
    await t.a.screenshot({ path: shot.path, fullPage: true, animations: 'disabled' })
    const overflow = await t.a.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)
    if (overflow > 0) throw new Error(`at ${shot.width} px the page scrolls sideways by ${overflow} px`)
  }
})

// ---------------------------------------------------------------------------------------------

async function main() {
  if (!existsSync(BINARY)) {
    console.log(`FAIL ${BINARY} not found (apt-get install -y --no-install-recommends chromium)\n0 passed, 1 failed`)
    return 1
  }
  const { startDemoServer } = await import('../../demo/server.mjs')
  const server = await startDemoServer({ port: 0 })
  let browser
  let passed = 0
  let failed = 0
  try {
    browser = await chromium.launch({ executablePath: BINARY, headless: true, args: ARGS, timeout: 30000 })
    // One image pixel per CSS pixel keeps the committed screenshots small.
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, deviceScaleFactor: 1 })
    context.setDefaultTimeout(WAIT_MS)
    const a = await context.newPage()
    const b = await context.newPage()
    await a.bringToFront()
    trackErrors(a, 'tab 1')
    trackErrors(b, 'tab 2')
    const t = { url: server.url, a, b }
    console.log(`demo: ${browser.version()}, ${server.url}`)
    for (const [i, { title, fn }] of steps.entries()) {
      const t0 = Date.now()
      try {
        await fn(t)
        await assertNoErrors(b.url() === 'about:blank' ? { 'tab 1': a } : { 'tab 1': a, 'tab 2': b })
        passed++
        console.log(`  PASS ${title} (${((Date.now() - t0) / 1000).toFixed(1)}s)`)
      } catch (err) {
        failed++
        // A failed wait is often explained by a script error: say so too.
        const errors = await assertNoErrors({ 'tab 1': a, 'tab 2': b }).then(() => '', (e) => `\n       → ${e.message}`)
        console.log(`  FAIL ${title}\n       → ${String(err?.message ?? err).split('\n')[0]}${errors}`)
        const shot = resolve(failureDir, 'demo-failure.png')
        await a.screenshot({ path: shot, fullPage: true }).then(() => console.log(`       (tab 1 as it was: ${shot})`), () => {})
        // Later steps build on this one: report them as not run rather than as more failures.
        for (const rest of steps.slice(i + 1)) console.log(`  ---- ${rest.title} (not run)`)
        break
      }
    }
  } finally {
    await browser?.close().catch(() => {})
    await server.close()
  }
  console.log(`${passed} passed, ${failed} failed`)
  return failed === 0 && passed === steps.length ? 0 : 1
}

const watchdog = setTimeout(() => {
  console.log(`demo test: still running after ${WATCHDOG_MS / 1000} s, giving up\n0 passed, 1 failed`)
  process.exit(1)
}, WATCHDOG_MS)
watchdog.unref()

main().then((code) => {
  process.exitCode = code
}, (err) => {
  console.log(`demo test could not run: ${err?.stack ?? err}\n0 passed, 1 failed`)
  process.exitCode = 1
})
