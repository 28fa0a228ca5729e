// Loopback HTTP server for the browser suite: the built bundle, the test pages, and /echo.
import { createServer } from 'node:http'
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const TYPES = { '.js': 'text/javascript; charset=utf-8', '.html': 'text/html; charset=utf-8', '.map': 'application/json' }

/** The dist folder under test: VISITSTORE_DIST (absolute, or relative to the cwd) or the repo's own dist/. */
export function distDir() {
  return process.env.VISITSTORE_DIST ? resolve(process.env.VISITSTORE_DIST) : resolve(here, '../../dist')
}

/** Throws a message that says what to do when the IIFE bundle is not built. */
export function checkBundle(dir = distDir()) {
  const file = join(dir, 'visitstore.iife.js')
  if (!existsSync(file)) {
    throw new Error(`${file} is missing: run \`npm run build\` first (or point VISITSTORE_DIST at a folder holding visitstore.iife.js).`)
  }
  return file
}

/**
 * Splits a Cookie header as a server does: `a=1; b=2` → { a: '1', b: '2' }, each value URL-decoded.
 * A value that is not valid URL encoding is kept raw, flagged in `undecodable`.
 */
export function parseCookieHeader(header) {
  const cookies = {}
  const undecodable = []
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=')
    if (eq < 0) continue
    const name = part.slice(0, eq).trim()
    const raw = part.slice(eq + 1).trim()
    try {
      cookies[name] = decodeURIComponent(raw)
    } catch {
      cookies[name] = raw
      undecodable.push(name)
    }
  }
  return { cookies, undecodable }
}

/**
 * `/set-cookie?name=&value=&path=&domain=&httponly=1&maxage=`: a cookie set by the server (the
 * raw value as given), as an app's backend would: another path, HttpOnly, a CSRF token.
 */
function setCookie(url, res) {
  const q = url.searchParams
  let line = `${q.get('name')}=${q.get('value') ?? ''}; Path=${q.get('path') ?? '/'}; SameSite=Lax`
  if (q.get('domain')) line += `; Domain=${q.get('domain')}`
  if (q.get('httponly') === '1') line += '; HttpOnly'
  if (q.get('maxage')) line += `; Max-Age=${q.get('maxage')}`
  res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store', 'set-cookie': line })
  res.end(JSON.stringify({ set: line }))
}

function send(res, status, type, body) {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' })
  res.end(body)
}

/**
 * Starts the server on 127.0.0.1. `port` 0 picks a free one. The same server (so the same
 * origin, port included) must serve both halves of a restart test: IndexedDB is per origin.
 */
export async function startServer({ port = 0, dist = distDir() } = {}) {
  const bundle = checkBundle(dist)
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1')
    if (url.pathname === '/echo') {
      const header = req.headers.cookie ?? ''
      return send(res, 200, 'application/json', JSON.stringify({ header, ...parseCookieHeader(header) }))
    }
    if (url.pathname === '/set-cookie') return setCookie(url, res)
    if (url.pathname === '/visitstore.iife.js') return send(res, 200, TYPES['.js'], readFileSync(bundle))
    // The other built files (ESM entries and their chunks), for pages that import them.
    const built = /^\/dist\/([\w/.-]+\.js)$/.exec(url.pathname)?.[1]
    if (built && !built.includes('..') && existsSync(join(dist, built))) return send(res, 200, TYPES['.js'], readFileSync(join(dist, built)))
    // The test page answers at '/', '/page.html' and any folder ('/app/', '/help/x/'): scenarios
    // about cookie paths load the same page under several paths.
    if (url.pathname.endsWith('/') || url.pathname.endsWith('/page.html')) {
      return send(res, 200, TYPES['.html'], readFileSync(join(here, 'page/page.html')))
    }
    // Any other file of page/ by its name, from any folder ('/app/helpers.js'), so that scenario
    // files can add page-side scripts (workers, frames) without a route of their own.
    const file = /\/([\w.-]+\.(?:js|html))$/.exec(url.pathname)?.[1]
    if (file && existsSync(join(here, 'page', file))) {
      return send(res, 200, TYPES[file.slice(file.lastIndexOf('.'))], readFileSync(join(here, 'page', file)))
    }
    if (url.pathname === '/favicon.ico') return send(res, 204, 'text/plain', '')
    send(res, 404, 'text/plain', 'not found')
  })
  // Browsers keep connections open; close them too, or server.close() waits for them.
  const sockets = new Set()
  server.on('connection', (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)) })
  await new Promise((ok, fail) => {
    server.once('error', fail)
    server.listen(port, '127.0.0.1', ok)
  })
  const { port: actual } = server.address()
  return {
    origin: `http://127.0.0.1:${actual}`,
    url: (path = '/') => `http://127.0.0.1:${actual}${path}`,
    close: () => new Promise((ok) => {
      for (const s of sockets) s.destroy()
      server.close(() => ok())
    }),
  }
}
