// The visitstore demo page. Plain JavaScript, a module loaded after /visitstore.iife.js (global
// `VisitStore`). The theme needs no script: the server renders <html data-theme> from the theme
// cookie (readCookies from visitstore/server, with the same shop.mjs). This script only follows
// changes, and runs once the document is parsed.
import { shopOptions } from './shop.mjs'

const DAY = 24 * 60 * 60
/** The keys: what each value is (shop.mjs, shared with the server). */
const KEYS = shopOptions.keys
const STORE_NAME = shopOptions.name
/** visitstore's default budget for all of a store's cookies; `cookie: { budget }` changes it. */
const COOKIE_BUDGET = 2048
const COOKIE_PREFIX = `${STORE_NAME}_`

const CATALOG = [
  { sku: 'mug', name: 'Enamel mug', price: 12 },
  { sku: 'tote', name: 'Canvas tote', price: 18.5 },
  { sku: 'notebook', name: 'Dot-grid notebook', price: 9.9 },
  { sku: 'pen', name: 'Fountain pen', price: 34 },
]
const MB = 1024 * 1024
const ACTIVITY_LIMIT = 40
/** Changes to one key from one source closer together than this share a log line. */
const MERGE_MS = 2000

/** Errors raised before the DOM exists wait here until there is a place to show them. */
const earlyErrors = []
let store = null

function applyTheme(theme) {
  document.documentElement.dataset.theme = theme === 'dark' ? 'dark' : 'light'
}

try {
  if (typeof VisitStore === 'undefined') {
    throw new Error('/visitstore.iife.js did not load, so there is no VisitStore global. Run `npm run build`, then reload.')
  }
  // The server session: GET /session answers its tag (demo/server.mjs). keepOnLogin: what a guest
  // made (no session) moves into the session they sign in to, instead of being purged.
  store = VisitStore.createStore({ ...shopOptions, session: VisitStore.sessionSync({ endpoint: '/session', keepOnLogin: true }) })
  watchStore()
} catch (err) {
  earlyErrors.push(err)
}

// ---------------------------------------------------------------------------------------------
// Small helpers

const $ = (id) => document.getElementById(id)

/** Creates an element; children are text or elements (never HTML strings: values are user data). */
function el(tag, props = {}, ...children) {
  const node = document.createElement(tag)
  for (const [name, value] of Object.entries(props)) {
    if (name === 'className') node.className = value
    else node.setAttribute(name, value)
  }
  for (const child of children) {
    if (child !== null && child !== undefined && child !== false) node.append(child)
  }
  return node
}

function formatBytes(n) {
  if (n >= MB) return `${(n / MB).toFixed(1)} MB`
  if (n >= 1024) return `${(n / 1024).toFixed(1)} KB`
  return `${n} B`
}

function debounce(fn, ms) {
  let timer
  return (...args) => {
    clearTimeout(timer)
    timer = setTimeout(() => fn(...args), ms)
  }
}

function currentLocale() {
  return store?.peek('locale') || navigator.language || 'en-US'
}

function formatPrice(amount) {
  return new Intl.NumberFormat(currentLocale(), { style: 'currency', currency: 'EUR' }).format(amount)
}

/** HH:MM:SS, the same in every locale, so log lines line up. */
const formatTime = (ms) => new Date(ms).toTimeString().slice(0, 8)

/** A session tag is 43 characters of base64url; its first 8 are plenty to tell two apart. */
const shortTag = (tag) => (tag === null ? 'none' : `${tag.slice(0, 8)}…`)

/** JSON of a value with long strings shortened, so a 1 MB draft still fits in a table cell. */
function summarize(value) {
  return JSON.stringify(value, (_key, v) =>
    typeof v === 'string' && v.length > 40 ? `${v.slice(0, 12)}… (${formatBytes(v.length)})` : v)
}

/** A one-line description of a value for the activity log. */
function describe(key, value) {
  if (value === undefined) return 'deleted'
  if (key === 'cart' && Array.isArray(value)) return `${value.length} item${value.length === 1 ? '' : 's'}`
  if (key === 'draft') return `${value.text.length} characters, ${value.attachments.length} attachment${value.attachments.length === 1 ? '' : 's'}`
  const text = summarize(value)
  return text.length > 40 ? `${text.slice(0, 40)}…` : text
}

/** The store's cookies as the browser holds them: store key → raw `name=value` bytes. */
function cookieBytesByKey() {
  const bytes = new Map()
  for (const part of document.cookie.split(';')) {
    const pair = part.trim()
    const eq = pair.indexOf('=')
    if (eq < 0 || !pair.startsWith(COOKIE_PREFIX)) continue
    // name + value, as visitstore counts them against the budget (both are ASCII once encoded).
    bytes.set(pair.slice(COOKIE_PREFIX.length, eq), eq + (pair.length - eq - 1))
  }
  return bytes
}

/** When a key's value ends, in words (an array of text and elements): its expiry, or what ends its session. */
function lifetimeDetail(options) {
  if (options.lifetime === 'tab') return ['this tab only; survives a reload']
  if (options.lifetime === 'session') {
    const { tag, state } = store.session
    if (tag !== null) return ['ends with session ', el('span', { className: 'tag' }, shortTag(tag)), ' (logout, rotation, end) or when the browser closes']
    if (state === 'none') return ['guest data: moves into your session at login (keepOnLogin); gone when the browser closes']
    return ['until the session changes or the browser closes']
  }
  if (options.maxAge) return [`cookie expires ${Math.round(options.maxAge / DAY)} days after the last write`]
  if (options.ttl) return [`expires ${Math.round(options.ttl / DAY)} days after the last write`]
  return ['no expiry']
}

// ---------------------------------------------------------------------------------------------
// Errors: every failure is shown on the page, never only in the console

function showError(err, context) {
  const list = $('error-list')
  if (!list) {
    earlyErrors.push(err)
    return
  }
  const code = err && typeof err === 'object' && 'code' in err ? el('code', {}, String(err.code)) : null
  const message = err instanceof Error ? err.message : String(err)
  list.prepend(el('li', {}, context ? el('strong', {}, `${context}: `) : null, code, code ? ' ' : null, message))
  while (list.children.length > 6) list.lastElementChild.remove()
  $('errors').hidden = false
  console.error(context ?? 'visitstore demo', err)
}

/** Wraps an event handler so that any failure, thrown or rejected, is shown on the page. */
function action(label, fn) {
  return (event) => {
    try {
      // Called synchronously: event.currentTarget is null once the event has been dispatched.
      Promise.resolve(fn(event)).catch((err) => showError(err, label))
    } catch (err) {
      showError(err, label)
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Activity: session changes and watch callbacks, with where they came from

/** The last change of each key, shown in the key table: { source, at }. */
const lastChange = new Map()

function sourceChip(source) {
  return el('span', { className: `source source-${source}` }, source)
}

/** Log lines from before the DOM was ready. */
const earlyActivity = []

/**
 * Adds a log line. A burst of changes to one key from one source (typing a draft) updates the
 * newest line and bumps its count instead: it shows the latest value and how many writes there were.
 */
function logActivity({ kind, source, text, detail, value, at: now = Date.now() }) {
  const list = $('activity')
  if (!list) {
    earlyActivity.push({ kind, source, text, detail, value, at: now })
    return
  }
  const newest = list.firstElementChild
  // Deletions stand alone: a purge must not hide in a burst of writes.
  const burst = newest && kind !== 'session' && value !== undefined && newest.dataset.deleted !== 'true' &&
    newest.dataset.kind === kind && newest.dataset.source === source && now - Number(newest.dataset.at) < MERGE_MS
  if (burst) {
    const count = Number(newest.dataset.count) + 1
    newest.dataset.count = String(count)
    newest.dataset.at = String(now)
    newest.querySelector('time').textContent = formatTime(now)
    newest.querySelector('.what').textContent = text
    newest.querySelector('.count').textContent = `(${count} writes)`
    return
  }
  list.prepend(el('li', { 'data-kind': kind, 'data-source': source, 'data-count': '1', 'data-at': String(now), 'data-deleted': String(value === undefined && kind !== 'session') },
    el('time', {}, formatTime(now)),
    sourceChip(source),
    el('span', { className: 'subject' }, kind === 'session' ? 'session' : el('code', {}, kind)),
    el('span', { className: 'what' }, text),
    el('span', { className: 'count' }),
    detail ? el('span', { className: 'detail' }, detail) : null))
  while (list.children.length > ACTIVITY_LIMIT) list.lastElementChild.remove()
}

function logSessionChange({ previous, current, source }) {
  const tags = previous.tag === current.tag ? `tag ${shortTag(current.tag)}` : `tag ${shortTag(previous.tag)} → ${shortTag(current.tag)}`
  logActivity({ kind: 'session', source, text: `${previous.state} → ${current.state}`, detail: tags })
}

function logKeyChange(key, value, source) {
  lastChange.set(key, { source, at: Date.now() })
  // Every scroll writes `scroll`; logged, it would drown everything else.
  if (key !== 'scroll') logActivity({ kind: key, source, text: describe(key, value), value })
}

// ---------------------------------------------------------------------------------------------
// Rendering: the key table, the session, the server's view and the status, redone after every change

async function renderKeys() {
  const values = await store.getMany(Object.keys(KEYS))
  const cookieBytes = cookieBytesByKey()
  const rows = Object.entries(KEYS).map(([key, options]) => {
    const placement = store.placement(key)
    const value = values[key]
    const json = value === undefined ? undefined : JSON.stringify(value)
    const sent = cookieBytes.has(key)
    const bytes = sent ? `${cookieBytes.get(key)} B` : '0 B'
    const why = placement.tier !== 'cookie' ? 'never sent' : sent ? null : 'not set'
    const change = lastChange.get(key)
    return el('tr', {},
      el('th', { scope: 'row', 'data-label': 'Key' }, el('code', {}, key),
        change ? el('span', { className: 'changed' }, 'changed ', formatTime(change.at), ' ', sourceChip(change.source)) : null),
      el('td', { 'data-label': 'Value', className: 'value' },
        value === undefined ? el('span', { className: 'muted' }, 'not set') : el('code', {}, summarize(value)),
        json !== undefined && json.length > 40 ? el('span', { className: 'size' }, `${formatBytes(json.length)} as JSON`) : null),
      el('td', { 'data-label': 'Tier' }, el('span', { className: `tier tier-${placement.tier}` }, placement.tier)),
      el('td', { 'data-label': 'Lifetime', className: 'lifetime' }, el('strong', {}, placement.lifetime), el('span', { className: 'size' }, ...lifetimeDetail(options))),
      el('td', { 'data-label': 'Why', className: 'reason' }, placement.reason),
      el('td', { 'data-label': 'Per request', className: sent ? 'bytes cookie' : 'bytes' }, bytes, why ? el('span', { className: 'size' }, why) : null),
    )
  })
  $('keys').replaceChildren(...rows)
  renderSummaries(values)
}

function renderSummaries({ cart, draft, locale }) {
  const items = Array.isArray(cart) ? cart : []
  const total = items.reduce((sum, item) => sum + item.price, 0)
  $('cart-summary').textContent = items.length === 0
    ? 'Empty.'
    : `${items.length} item${items.length === 1 ? '' : 's'}, ${formatPrice(total)}: ${items.map((i) => i.name).join(', ')}`
  const attachments = draft?.attachments ?? []
  $('draft-summary').textContent = draft === undefined
    ? 'No draft saved.'
    : `Saved: ${draft.text.length} characters, ${attachments.length} attachment${attachments.length === 1 ? '' : 's'}` +
      (attachments.length ? ` (${attachments.map((a) => `${a.name}, ${formatBytes(a.bytes)}`).join('; ')})` : '') + '.'
  const textarea = $('draft-text')
  // Never overwrite what is being typed; otherwise follow the store (discard, another tab).
  if (document.activeElement !== textarea) textarea.value = draft?.text ?? ''
  $('locale').value = locale ?? ''
  // Neither button is pressed until a theme is stored: the light look is then only the default.
  const theme = store.peek('theme')
  for (const button of document.querySelectorAll('[data-theme-choice]')) {
    button.setAttribute('aria-pressed', String(button.dataset.themeChoice === theme))
  }
}

function renderSession() {
  const { state, tag, expiresAt } = store.session
  const badge = $('session-state')
  badge.textContent = state
  badge.className = `state state-${state}`
  $('session-tag').textContent = tag === null ? 'null (no session)' : shortTag(tag)
  $('session-tag').title = tag ?? 'no session'
  $('session-expires').textContent = tag === null ? '—'
    : expiresAt !== undefined ? new Date(expiresAt).toLocaleString(currentLocale())
      : 'when the browser closes (demo_sid is a session cookie)'
}

/** Who the server thinks you are, from the same /echo answer; drives which session buttons make sense. */
function renderUser(user) {
  const field = $('session-user')
  field.textContent = user ?? 'nobody (guest)'
  field.className = user ? '' : 'muted'
  $('logout').disabled = !user
  $('rotate').disabled = !user
  $('login').textContent = user ? 'Log in as someone else' : 'Log in'
}

function renderStatus() {
  const chips = Object.entries(store.status).map(([tier, state]) =>
    el('span', { className: `chip ${state === 'ok' ? 'ok' : 'bad'}` }, `${tier}: ${state}`))
  $('status').replaceChildren(...chips)
}

async function renderServerView() {
  const response = await fetch('/echo', { cache: 'no-store' })
  if (!response.ok) throw new Error(`GET /echo answered ${response.status} ${response.statusText}`)
  const { cookieHeader, bytes, cookies, user } = await response.json()
  renderUser(user)
  $('cookie-header').textContent = cookieHeader === '' ? '(no Cookie header: no cookies were sent)' : `Cookie: ${cookieHeader}`

  let used = 0
  const rows = []
  for (const [name, value] of Object.entries(cookies)) {
    const ours = name.startsWith(COOKIE_PREFIX)
    const raw = cookieHeader.split(/;\s*/).find((pair) => pair.startsWith(`${name}=`)) ?? ''
    if (ours) used += raw.length - 1
    const shown = value.length > 60 ? `${value.slice(0, 40)}… (${formatBytes(value.length)})` : value
    rows.push(el('tr', { className: ours ? '' : 'muted' }, el('td', {}, el('code', {}, name)), el('td', {}, el('code', {}, shown))))
  }
  $('server-cookies').replaceChildren(...(rows.length ? rows : [el('tr', {}, el('td', { colspan: '2', className: 'muted' }, 'none'))]))

  $('budget-used').textContent = `${used} of ${COOKIE_BUDGET} bytes`
  const bar = $('budget-bar')
  bar.style.width = `${Math.min(100, (used / COOKIE_BUDGET) * 100)}%`
  bar.classList.toggle('warn', used > COOKIE_BUDGET * 0.75)
  $('header-bytes').textContent = `The whole header is ${bytes} bytes, separators and other cookies ` +
    `for 127.0.0.1 included (cookies are per host, not per port). It travels with every request to this site.`
}

let rendering = false
let renderAgain = false
let scrollRestored = false

/** Re-renders everything; calls that arrive while a render runs are folded into one more pass. */
function refresh() {
  if (document.readyState === 'loading') return // the first render happens at DOMContentLoaded
  if (rendering) {
    renderAgain = true
    return
  }
  rendering = true
  void (async () => {
    try {
      do {
        renderAgain = false
        renderStatus()
        renderSession()
        await renderKeys()
        if (!scrollRestored) {
          // Only now is the page as tall as it was when the position was saved.
          scrollRestored = true
          restoreScroll()
        }
        await renderServerView()
      } while (renderAgain)
    } catch (err) {
      showError(err, 'Refreshing the page')
    } finally {
      rendering = false
    }
  })()
}

// ---------------------------------------------------------------------------------------------
// Controls: data

function setTheme(event) {
  return store.set('theme', event.currentTarget.dataset.themeChoice)
}

function setLocale(event) {
  const locale = event.currentTarget.value
  return locale === '' ? store.delete('locale') : store.set('locale', locale)
}

function addToCart() {
  return store.update('cart', (cart = []) => [...cart, CATALOG[cart.length % CATALOG.length]])
}

const emptyDraft = () => ({ text: '', attachments: [] })

const saveDraftText = debounce(() => {
  const text = $('draft-text').value
  store.update('draft', (draft = emptyDraft()) => ({ ...draft, text }))
    .catch((err) => showError(err, 'Saving the draft'))
}, 300)

function attachOneMegabyte() {
  return store.update('draft', (draft = emptyDraft()) => {
    const n = draft.attachments.length + 1
    const attachment = { name: `scan-${n}.pdf`, bytes: MB, data: 'x'.repeat(MB) }
    return { ...draft, text: $('draft-text').value, attachments: [...draft.attachments, attachment] }
  })
}

function discardDraft() {
  $('draft-text').value = ''
  return store.delete('draft')
}

/** Shows a refused write: its code and message, and the key's value before and after. */
function showRefusal(title, key, before, err) {
  const after = store.peek(key)
  const kept = JSON.stringify(after) === JSON.stringify(before)
  const box = $('limit-result')
  box.className = 'result refused'
  box.replaceChildren(
    el('p', {}, el('strong', {}, title)),
    el('p', {}, el('code', {}, `${err.name} ${err.code}`)),
    el('p', { className: 'message' }, err.message),
    el('p', { className: kept ? 'kept' : 'lost' },
      kept ? `The old value is intact: right after the refusal, store.peek('${key}') was still ${JSON.stringify(after) ?? 'undefined'}.`
        : `Unexpected: ${key} changed from ${JSON.stringify(before)} to ${JSON.stringify(after)}.`),
  )
  box.hidden = false
}

/** Tries a write that must be refused; anything else (accepted, or another error) is a real error. */
async function tryRefusedWrite(title, key, value, expectedCode) {
  const before = store.peek(key)
  try {
    await store.set(key, value)
  } catch (err) {
    if (err instanceof VisitStore.VisitStoreError && err.code === expectedCode) return showRefusal(title, key, before, err)
    throw err
  }
  throw new Error(`${title}: the write was accepted, but visitstore should have refused it with ${expectedCode}.`)
}

function putFiveKilobytesIntoCookie() {
  return tryRefusedWrite(`store.set('theme', <5 KB string>)`, 'theme', 'x'.repeat(5 * 1024), 'COOKIE_TOO_LARGE')
}

function putTwoKilobytesIntoLocale() {
  return tryRefusedWrite(`store.set('locale', <2 KB string>)`, 'locale', 'x'.repeat(2040), 'COOKIE_BUDGET_EXCEEDED')
}

function clearSessionData() {
  return store.clear({ lifetime: 'session' })
}

// The scroll position is tab data: a reload of this tab restores it, a new tab starts at the top.
const saveScroll = debounce(() => {
  store.set('scroll', { y: Math.round(window.scrollY) }).catch((err) => showError(err, 'Saving the scroll position'))
}, 200)

function restoreScroll() {
  const saved = store.peek('scroll')
  if (saved) window.scrollTo(0, saved.y)
}

// ---------------------------------------------------------------------------------------------
// Controls: the server session. Each route changes the session on the server; refresh() then asks
// GET /session at once (instead of at the next poll), applies the new tag and tells the other tabs.

async function post(path, body) {
  const response = await fetch(path, {
    method: 'POST',
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  const answer = await response.json().catch(() => ({}))
  if (!response.ok) throw new Error(`POST ${path} answered ${response.status}: ${answer.error ?? response.statusText}`)
  return answer
}

async function changeSession(path, body) {
  await post(path, body)
  await store.session.refresh()
  refresh()
}

function logIn(event) {
  event.preventDefault()
  return changeSession('/login', { name: $('login-name').value })
}

const logOut = () => changeSession('/logout')
const rotate = () => changeSession('/rotate')

async function endSession() {
  // Purges session data here and in every tab, then DELETE /session ends it on the server.
  await store.session.end({ server: true })
  refresh()
}

// ---------------------------------------------------------------------------------------------
// Start-up

function wireControls() {
  for (const button of document.querySelectorAll('[data-theme-choice]')) {
    button.addEventListener('click', action('Setting the theme', setTheme))
  }
  $('locale').addEventListener('change', action('Setting the locale', setLocale))
  $('add-to-cart').addEventListener('click', action('Adding to the cart', addToCart))
  $('draft-text').addEventListener('input', saveDraftText)
  $('attach-1mb').addEventListener('click', action('Attaching 1 MB', attachOneMegabyte))
  $('discard-draft').addEventListener('click', action('Discarding the draft', discardDraft))
  $('cookie-5kb').addEventListener('click', action('Putting 5 KB into a cookie', putFiveKilobytesIntoCookie))
  $('cookie-over-budget').addEventListener('click', action('Putting 2 KB into locale', putTwoKilobytesIntoLocale))
  $('clear-session').addEventListener('click', action('Clearing session data', clearSessionData))
  $('login-form').addEventListener('submit', action('Logging in', logIn))
  $('logout').addEventListener('click', action('Logging out', logOut))
  $('rotate').addEventListener('click', action('Rotating the session', rotate))
  $('end-session').addEventListener('click', action('Ending the session', endSession))
  $('clear-activity').addEventListener('click', () => $('activity').replaceChildren())
  window.addEventListener('scroll', saveScroll, { passive: true })
}

function watchStore() {
  for (const key of Object.keys(KEYS)) {
    store.watch(key, (value, { source }) => {
      if (key === 'theme') applyTheme(value)
      logKeyChange(key, value, source)
      refresh()
    })
  }
  store.session.on('change', (change) => {
    logSessionChange(change)
    refresh()
  })
  store.on('status', refresh)
  store.on('error', (err) => showError(err, 'visitstore reported'))
  store.on('invalid', ({ key, reason }) => showError(new Error(`A stored value of "${key}" was ignored: ${reason}.`), 'visitstore reported'))
}

window.addEventListener('error', (event) => showError(event.error ?? event.message, 'Uncaught error'))
window.addEventListener('unhandledrejection', (event) => showError(event.reason, 'Unhandled rejection'))

document.addEventListener('DOMContentLoaded', () => {
  $('dismiss-errors').addEventListener('click', () => {
    $('error-list').replaceChildren()
    $('errors').hidden = true
  })
  for (const err of earlyErrors.splice(0)) showError(err, 'Starting the demo')
  if (!store) {
    for (const control of document.querySelectorAll('main .card :is(button, select, textarea, input)')) control.disabled = true
    return
  }
  if ('scrollRestoration' in window.history) window.history.scrollRestoration = 'manual'
  for (const entry of earlyActivity.splice(0)) logActivity(entry)
  wireControls()
  refresh()
  // The first session answer may equal the state saved by an earlier visit (no change event).
  void store.ready.then(refresh)
})
