// A real Express 5 + express-session app on 127.0.0.1 for the server-session scenarios, with the
// session endpoint from the BUILT visitstore/server (dist/server.js). Started in the test process,
// one per scenario (a fresh MemoryStore), closed by the scenario.
//
//   GET  /, /helpers.js, /visitstore.iife.js   the test page, as server.mjs serves it
//   POST /login?user=NAME    req.session.regenerate(), then user = NAME: a new session ID every time
//                            (with &same=1: user = NAME in the same session, its ID kept)
//   POST /visit              an anonymous session (no user): the endpoint answers "anonymous": true
//   POST /logout             req.session.destroy()
//   GET|DELETE /session      sessionEndpoint(); answers 500 while `app.failing` is true, never answers
//                            while `app.hanging` is true (a stalled proxy; the socket closes with the server),
//                            answers late after `app.hold()` (until the function it returns is called;
//                            `app.hold({ one: true })`: only the next request)
//   GET /<file>              any other file of page/ by name (frame.html, frame.js), as server.mjs does
//
// Options (the defaults are what 7a/7b use): `rolling` and `maxAge` (ms) of express-session's
// cookie, `cookieName` (so two servers on 127.0.0.1, which share cookies across ports, keep apart).
// `app.sessionAlive(id)` asks the session store itself (no touch) whether a session still lives.
//
// Every request is logged ({ seq, method, path, tab, at, cookie }) (`cookie`: its Cookie header), `tab` taken from the page URL's ?tab=N in
// the Referer, so a scenario can tell which tab asked the server; `at` is the server's Date.now().
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import express from 'express'
import session from 'express-session'
import { checkBundle, distDir } from './server.mjs'

const here = dirname(fileURLToPath(import.meta.url))

/** The HMAC key of the tags (server-only in real life; here the test also derives tags with it). */
export const TAG_SECRET = 'visitstore-browser-suite-tag-secret-not-for-production'

/** The built visitstore/server module: { sessionTag, sessionEndpoint, toNodeHandler }. */
export function loadServerModule(dist = distDir()) {
  return import(pathToFileURL(join(dist, 'server.js')).href)
}

function tabOf(referer) {
  try {
    return new URL(referer).searchParams.get('tab')
  } catch {
    return null
  }
}

export async function startExpressServer({ dist = distDir(), rolling = false, maxAge = 60 * 60 * 1000, cookieName = 'connect.sid' } = {}) {
  const bundle = checkBundle(dist)
  const { sessionEndpoint, toNodeHandler } = await loadServerModule(dist)
  const log = []
  /** The session IDs /login created, in order (the browser never sees them: the cookie is HttpOnly). */
  const sessionIds = []
  let failing = false
  let hanging = false
  let held = null
  const store = new session.MemoryStore()

  const app = express()
  app.disable('x-powered-by')
  app.disable('etag')
  app.use((req, _res, next) => {
    log.push({ seq: log.length, method: req.method, path: req.path, tab: tabOf(req.get('referer')), at: Date.now(), cookie: req.get('cookie') ?? '' })
    next()
  })
  app.use(session({
    secret: 'visitstore-browser-suite-cookie-secret',
    name: cookieName,
    store,
    resave: false,
    saveUninitialized: false,
    rolling,
    cookie: { httpOnly: true, sameSite: 'lax', maxAge },
  }))
  const file = (path, type) => (_req, res) => res.type(type).set('cache-control', 'no-store').send(readFileSync(path))
  app.get(['/', '/page.html'], file(join(here, 'page/page.html'), 'html'))
  app.get('/helpers.js', file(join(here, 'page/helpers.js'), 'js'))
  app.get('/pre.js', file(join(here, 'page/pre.js'), 'js'))
  app.get('/visitstore.iife.js', file(bundle, 'js'))
  app.get('/favicon.ico', (_req, res) => res.status(204).end())
  app.post('/login', (req, res, next) => {
    const signIn = (err) => {
      if (err) return next(err)
      req.session.user = String(req.query.user ?? 'someone')
      sessionIds.push(req.sessionID)
      res.set('cache-control', 'no-store').json({ user: req.session.user })
    }
    // ?same=1: a server that signs the user in without a new session ID.
    if (req.query.same) signIn()
    else req.session.regenerate(signIn)
  })
  app.post('/visit', (req, res) => {
    req.session.visitor = true
    res.set('cache-control', 'no-store').json({ visitor: true })
  })
  app.post('/logout', (req, res, next) => {
    req.session.destroy((err) => {
      if (err) return next(err)
      res.clearCookie(cookieName, { path: '/' }).set('cache-control', 'no-store').json({ user: null })
    })
  })
  const endpoint = toNodeHandler(sessionEndpoint({
    secret: TAG_SECRET,
    getSessionId: (_request, req) => (req.session.user || req.session.visitor ? req.sessionID : null),
    getExpiresAt: (_request, req) => req.session.cookie.expires?.getTime(),
    isAnonymous: (_request, req) => !req.session.user,
    endSession: (_request, req) => new Promise((done, fail) => req.session.destroy((err) => (err ? fail(err) : done()))),
  }))
  app.all('/session', (req, res, next) => {
    // Held open: no answer, no error, until the server closes (which destroys the socket).
    if (hanging) return undefined
    // Held: answered once the test lets it go (with the session as it was when the request came).
    if (held) {
      const { promise, one } = held
      if (one) held = null
      return promise.then(() => endpoint(req, res, next))
    }
    if (failing) return res.status(500).set('cache-control', 'no-store').json({ error: 'switched off by the test' })
    return endpoint(req, res, next)
  })
  // Any other file of page/ by its name (an iframe page and its script), as server.mjs serves them.
  app.get(/^\/(?:[\w.-]+\/)*[\w.-]+\.(?:js|html)$/, (req, res, next) => {
    const path = join(here, 'page', req.path.slice(req.path.lastIndexOf('/') + 1))
    if (!existsSync(path)) return next()
    return res.type(path.endsWith('.js') ? 'js' : 'html').set('cache-control', 'no-store').send(readFileSync(path))
  })
  app.use((_req, res) => res.status(404).type('text').send('not found'))
  // Errors answer 500 and land in the log; Express's default handler would print stacks.
  app.use((err, req, res, _next) => {
    log.push({ seq: log.length, method: req.method, path: req.path, error: String(err?.message ?? err) })
    res.status(500).json({ error: String(err?.message ?? err) })
  })

  const server = app.listen(0, '127.0.0.1')
  const sockets = new Set()
  server.on('connection', (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)) })
  await new Promise((ok, fail) => {
    server.once('listening', ok)
    server.once('error', fail)
  })
  const { port } = server.address()
  return {
    origin: `http://127.0.0.1:${port}`,
    url: (path = '/') => `http://127.0.0.1:${port}${path}`,
    log,
    sessionIds,
    /** While true, /session answers 500. */
    set failing(value) { failing = value },
    get failing() { return failing },
    /** While true, /session never answers. */
    set hanging(value) { hanging = value },
    get hanging() { return hanging },
    /** Holds every /session request from now on (`one`: only the next one) until the returned function lets them go. */
    hold({ one = false } = {}) {
      let release
      const promise = new Promise((resolve) => { release = resolve })
      held = { promise, one }
      return () => { if (held?.promise === promise) held = null; release() }
    },
    /** Whether the session store holds session `id`, unexpired (MemoryStore#get drops an expired one; it does not touch). */
    sessionAlive: (id) => new Promise((ok, fail) => store.get(id, (err, sess) => (err ? fail(err) : ok(Boolean(sess))))),
    close: () => new Promise((ok) => {
      for (const s of sockets) s.destroy()
      server.close(() => ok())
    }),
  }
}
