// The visitstore demo server: Express 5 with express-session for a real server session, and the
// BUILT `visitstore/server` (dist/server.js) for the session endpoint the page syncs with.
// Run: `npm run demo` (= `npm run build && node demo/server.mjs`); PORT=… to change the port
// (0 picks a free one).
//
// Routes: the page (/, with the theme from the theme cookie; /app.js, /shop.mjs, /style.css) and
// the script-tag bundle (/visitstore.iife.js);
// GET|DELETE /session (the visitstore endpoint); POST /login, /logout, /rotate; GET /echo.
import { readFile } from 'node:fs/promises'
import { createServer } from 'node:http'
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import express from 'express'
import session from 'express-session'
import { shopOptions } from './shop.mjs'

const here = dirname(fileURLToPath(import.meta.url))
const dist = resolve(here, '../dist')
const DEFAULT_PORT = 5173

// The demo imports the built package, as an app would import `visitstore/server`.
const { readCookies, sessionEndpoint, toNodeHandler } = await import('../dist/server.js').catch((err) => {
  throw new Error(`${dist}/server.js could not be loaded: run \`npm run build\` in the repository root first.`, { cause: err })
})

// Fixed secrets, good for a demo on 127.0.0.1 only. A real app reads both from its environment
// and keeps them out of the repository; the tag secret must be at least 32 characters.
const COOKIE_SECRET = process.env.COOKIE_SECRET || 'visitstore-demo-cookie-secret-not-for-production'
const TAG_SECRET = process.env.SESSION_TAG_SECRET || 'visitstore-demo-tag-secret-not-for-production'

/** express-session's cookie: HttpOnly, so the page cannot read the ID; no Max-Age, so it ends with the browser session. */
export const SESSION_COOKIE = 'demo_sid'

/** The demo's own files, read on every request so edits show up on reload. */
const PAGES = {
  '/': ['index.html', 'text/html; charset=utf-8'],
  '/index.html': ['index.html', 'text/html; charset=utf-8'],
  '/app.js': ['app.js', 'text/javascript; charset=utf-8'],
  '/shop.mjs': ['shop.mjs', 'text/javascript; charset=utf-8'],
  '/style.css': ['style.css', 'text/css; charset=utf-8'],
}

/**
 * Splits a Cookie header as a server framework does: `a=1; b=x%20y` → { a: '1', b: 'x y' }.
 * A value that is not valid URL encoding is kept as it came.
 * @example parseCookieHeader('shop_theme=dark') // { shop_theme: 'dark' }
 */
export function parseCookieHeader(header) {
  const cookies = {}
  for (const part of header.split(';')) {
    const eq = part.indexOf('=')
    if (eq < 0) continue
    const name = part.slice(0, eq).trim()
    const raw = part.slice(eq + 1).trim()
    try {
      cookies[name] = decodeURIComponent(raw)
    } catch {
      cookies[name] = raw
    }
  }
  return cookies
}

/** Calls a callback-style express-session method (`regenerate`, `destroy`) as a promise. */
const settle = (fn) => new Promise((ok, fail) => fn((err) => (err ? fail(err) : ok())))

/** Ends the server session and tells the browser to drop its cookie. */
async function destroySession(req, res) {
  await settle((done) => req.session.destroy(done))
  res.clearCookie(SESSION_COOKIE, { path: '/', httpOnly: true, sameSite: 'lax' })
}

/**
 * Signs in under a NEW session ID: reusing the ID from before login would let anyone who planted
 * or saw it ride the signed-in session (session fixation). The new ID gives a new tag, and the
 * browser purges session data, except what `keepOnLogin` moves over from the guest session.
 */
async function login(req, res) {
  const name = typeof req.body?.name === 'string' ? req.body.name.trim() : ''
  if (name === '' || name.length > 40) return res.status(400).json({ error: 'Send { "name": "…" }: 1 to 40 characters.' })
  await settle((done) => req.session.regenerate(done))
  req.session.user = name
  res.json({ user: name })
}

/** A new session ID for the same user, as apps do after a privilege change or periodically. */
async function rotate(req, res) {
  const user = req.session.user
  if (!user) return res.status(409).json({ error: 'Not signed in: there is no session to rotate.' })
  await settle((done) => req.session.regenerate(done))
  req.session.user = user
  res.json({ user })
}

async function logout(req, res) {
  await destroySession(req, res)
  res.json({ user: null })
}

/** What the server received in the Cookie header of this very request, and who that makes you. */
function echo(req, res) {
  const cookieHeader = req.headers.cookie ?? ''
  res.set('cache-control', 'no-store').json({
    cookieHeader,
    bytes: Buffer.byteLength(cookieHeader),
    cookies: parseCookieHeader(cookieHeader),
    user: req.session.user ?? null,
  })
}

/**
 * The page with the user's theme on <html>, read from the theme cookie with the page's own store
 * definition: dark from the first paint, with no script (and none to wait for).
 */
function withTheme(html, cookieHeader) {
  const theme = readCookies(shopOptions, cookieHeader).theme === 'dark' ? 'dark' : 'light'
  return html.replace('<html lang="en">', `<html lang="en" data-theme="${theme}">`)
}

async function sendPage(req, res) {
  const [file, type] = PAGES[req.path]
  const body = await readFile(resolve(here, file))
  res.set({ 'content-type': type, 'cache-control': 'no-store' })
    .send(file === 'index.html' ? withTheme(body.toString('utf8'), req.headers.cookie) : body)
}

async function sendBundle(_req, res) {
  const file = resolve(dist, 'visitstore.iife.js')
  try {
    res.set({ 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'no-store' }).send(await readFile(file))
  } catch (err) {
    if (err.code !== 'ENOENT') throw err
    res.status(500).type('text/plain').send(`${file} is missing: run \`npm run build\` in the repository root, then reload.\n`)
  }
}

/**
 * The demo app. Every session route answers JSON; the page calls `store.session.refresh()`
 * after each, so the new tag (and any purge) reaches this tab and every other one at once.
 * @example createDemoApp().listen(5173, '127.0.0.1')
 */
export function createDemoApp() {
  const app = express()
  app.disable('x-powered-by')
  // saveUninitialized: false: a guest has no server session (tag null) until they sign in.
  // express-session's default MemoryStore is fine for a demo; a real app uses a shared store.
  app.use(session({
    name: SESSION_COOKIE,
    secret: COOKIE_SECRET,
    resave: false,
    saveUninitialized: false,
    cookie: { httpOnly: true, sameSite: 'lax', path: '/' },
  }))

  // The session endpoint: GET answers { tag, expiresAt? } (tag null for a guest), DELETE (sent by
  // store.session.end({ server: true })) ends the session. The tag is an HMAC of the session ID.
  app.all('/session', toNodeHandler(sessionEndpoint({
    secret: TAG_SECRET,
    getSessionId: (_request, req) => (req.session.user ? req.sessionID : null),
    getExpiresAt: (_request, req) => req.session.cookie.expires?.getTime(),
    endSession: (_request, req) => destroySession(req, req.res),
  })))

  const json = express.json({ limit: '1kb' })
  app.post('/login', json, login)
  app.post('/rotate', rotate)
  app.post('/logout', logout)
  app.get('/echo', echo)

  for (const path of Object.keys(PAGES)) app.get(path, sendPage)
  app.get('/visitstore.iife.js', sendBundle)
  app.get('/favicon.ico', (_req, res) => res.status(204).end())

  app.use((req, res) => res.status(404).type('text/plain').send(`not found: ${req.method} ${req.path}\n`))
  app.use((err, _req, res, _next) => {
    const status = Number.isInteger(err.status) && err.status >= 400 && err.status < 500 ? err.status : 500
    if (status === 500) console.error(err)
    if (res.headersSent) return res.destroy()
    res.status(status).json({ error: status === 500 ? `demo server error: ${err.message}` : err.message })
  })
  return app
}

/**
 * Starts the demo server on 127.0.0.1; `port: 0` picks a free port.
 * @example const { url, close } = await startDemoServer({ port: 0 }); await fetch(url + 'echo'); await close()
 */
export async function startDemoServer({ port = DEFAULT_PORT } = {}) {
  const server = createServer(createDemoApp())
  // Browsers keep connections alive; server.close() would wait for them, so track and end them.
  const sockets = new Set()
  server.on('connection', (socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  await new Promise((ok, fail) => {
    server.once('error', fail)
    server.listen(port, '127.0.0.1', () => {
      server.off('error', fail)
      ok()
    })
  })
  const url = `http://127.0.0.1:${server.address().port}/`
  return {
    url,
    close: () => new Promise((ok, fail) => {
      for (const socket of sockets) socket.destroy()
      server.close((err) => (err ? fail(err) : ok()))
    }),
  }
}

function portFromEnv() {
  const raw = process.env.PORT
  if (raw === undefined || raw === '') return DEFAULT_PORT
  const port = Number(raw)
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`PORT must be a whole number from 0 to 65535 (0 picks a free port); got ${JSON.stringify(raw)}.`)
  }
  return port
}

const runDirectly = process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)
if (runDirectly) {
  const { url, close } = await startDemoServer({ port: portFromEnv() })
  console.log(`visitstore demo: ${url}`)
  const stop = () => close().then(() => process.exit(0))
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
}
