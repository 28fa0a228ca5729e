// One node:http server per contender on 127.0.0.1, each on its own port, so each contender has
// its own origin (IndexedDB and Web Storage are per origin; cookies are per host, and the page
// harness clears them before every run). Files are read once at start: a rebuild of dist/ during
// a run cannot mix two builds.
import { createServer } from 'node:http'
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const JS = 'text/javascript; charset=utf-8'

/** The page: a clock mark, the contender's library (if any), the shared harness, the adapter. */
function page(contender) {
  return `<!doctype html>
<meta charset="utf-8">
<title>bench: ${contender.label}</title>
<script>window.benchT0 = performance.now()</script>
${contender.library ? '<script src="/lib.js"></script>\n' : ''}<script src="/harness.js"></script>
<script src="/adapter.js"></script>
`
}

/**
 * Starts the contender's server. Every response is `no-store`; the page is cross-origin isolated
 * (COOP + COEP), which gives performance.now() 5 µs resolution in Chromium instead of 100 µs.
 * The contender with `session: true` also answers GET /session like a visitstore endpoint.
 */
export async function startServer(contender) {
  const routes = new Map([
    ['/', ['text/html; charset=utf-8', page(contender)]],
    ['/harness.js', [JS, readFileSync(join(here, 'pages/harness.js'))]],
    ['/adapter.js', [JS, readFileSync(join(here, 'pages/adapters', contender.adapter))]],
  ])
  if (contender.library) routes.set('/lib.js', [JS, readFileSync(contender.library)])
  if (contender.session) routes.set('/session', ['application/json', JSON.stringify({ tag: 'bench-tag' })])

  const server = createServer((req, res) => {
    const { pathname } = new URL(req.url ?? '/', 'http://127.0.0.1')
    const route = req.method === 'GET' ? routes.get(pathname) : undefined
    const headers = {
      'cache-control': 'no-store',
      'cross-origin-opener-policy': 'same-origin',
      'cross-origin-embedder-policy': 'require-corp',
    }
    if (!route) {
      res.writeHead(pathname === '/favicon.ico' ? 204 : 404, headers)
      return res.end()
    }
    res.writeHead(200, { ...headers, 'content-type': route[0] })
    res.end(route[1])
  })
  // Browsers keep connections open; close them too, or server.close() waits for them.
  const sockets = new Set()
  server.on('connection', (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)) })
  await new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', resolve)
  })
  return {
    origin: `http://127.0.0.1:${server.address().port}`,
    close: () => new Promise((resolve) => {
      for (const s of sockets) s.destroy()
      server.close(() => resolve())
    }),
  }
}
