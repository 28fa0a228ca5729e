// The visitstore demo server: plain node:http, no dependencies. It serves the demo page, the
// built script-tag bundle, and /echo, which shows what the server received in the Cookie header.
// Run: `npm run build && node demo/server.mjs` (PORT=0 picks a free port).
import { createServer } from 'node:http'
import { readFile } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const bundleFile = resolve(here, '../dist/visitstore.iife.js')
const DEFAULT_PORT = 5173

const TYPES = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  json: 'application/json; charset=utf-8',
  text: 'text/plain; charset=utf-8',
}

/** The demo's own files, read on every request so edits show up on reload. */
const STATIC = {
  '/': { file: join(here, 'index.html'), type: TYPES.html },
  '/index.html': { file: join(here, 'index.html'), type: TYPES.html },
  '/app.js': { file: join(here, 'app.js'), type: TYPES.js },
  '/style.css': { file: join(here, 'style.css'), type: TYPES.css },
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

function send(res, status, type, body) {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' })
  res.end(body)
}

/** What the server received in the Cookie header of this very request. */
function echo(req, res) {
  const cookieHeader = req.headers.cookie ?? ''
  const body = { cookieHeader, bytes: Buffer.byteLength(cookieHeader), cookies: parseCookieHeader(cookieHeader) }
  send(res, 200, TYPES.json, JSON.stringify(body))
}

async function serveBundle(res) {
  try {
    send(res, 200, TYPES.js, await readFile(bundleFile))
  } catch (err) {
    if (err.code !== 'ENOENT') throw err
    send(res, 500, TYPES.text, `${bundleFile} is missing: run \`npm run build\` in the repository root, then reload.\n`)
  }
}

async function handle(req, res) {
  const { pathname } = new URL(req.url ?? '/', 'http://127.0.0.1')
  if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, TYPES.text, 'method not allowed\n')
  if (pathname === '/echo') return echo(req, res)
  if (pathname === '/visitstore.iife.js') return serveBundle(res)
  const page = STATIC[pathname]
  if (page) return send(res, 200, page.type, await readFile(page.file))
  if (pathname === '/favicon.ico') return send(res, 204, TYPES.text, '')
  send(res, 404, TYPES.text, `not found: ${pathname}\n`)
}

/**
 * Starts the demo server on 127.0.0.1; `port: 0` picks a free port.
 * @example const { url, close } = await startDemoServer({ port: 0 }); await fetch(url + 'echo'); await close()
 */
export async function startDemoServer({ port = DEFAULT_PORT } = {}) {
  const server = createServer((req, res) => {
    handle(req, res).catch((err) => {
      console.error(err)
      if (!res.headersSent) send(res, 500, TYPES.text, `demo server error: ${err.message}\n`)
      else res.destroy()
    })
  })
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
