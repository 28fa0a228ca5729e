import { base64url } from '../codec.js'
import { VisitStoreError } from '../errors.js'

export { readCookies, setCookieHeaders } from './cookies.js'
export { VisitStoreError } from '../errors.js'
/**
 * The answer of the session endpoint, as the browser side of visitstore reads it.
 * `tag: null` means no session; `expiresAt` is milliseconds since the epoch.
 * @example { "tag": "q1w2…", "expiresAt": 1767225600000, "anonymous": false }
 */
export interface SessionState {
  tag: string | null
  expiresAt?: number
  anonymous?: boolean
}

const encoder = new TextEncoder()

function checkSecret(secret: unknown): asserts secret is string {
  if (typeof secret !== 'string' || secret.length < 32) {
    throw new VisitStoreError('INVALID_OPTIONS', 'visitstore/server: secret must be a string of at least 32 characters (for example 32 random bytes, base64); keep it on the server.')
  }
}

/**
 * Derives the session tag the browser may see from the session ID it must not: an HMAC-SHA-256
 * keyed with `secret`, base64url. It changes whenever the ID changes and cannot be turned back
 * into the ID or used as a session cookie.
 * @example const tag = await sessionTag(req.sessionID, process.env.SESSION_TAG_SECRET)
 */
export async function sessionTag(sessionId: string, secret: string): Promise<string> {
  checkSecret(secret)
  if (typeof sessionId !== 'string' || sessionId === '') throw new VisitStoreError('INVALID_VALUE', 'visitstore/server: sessionTag needs a non-empty session ID.')
  const key = await crypto.subtle.importKey('raw', encoder.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign'])
  return base64url(await crypto.subtle.sign('HMAC', key, encoder.encode(sessionId)))
}

type Maybe<T> = T | Promise<T>

/**
 * Options of {@link sessionEndpoint}. Each callback gets the Fetch `Request` and the adapter's
 * context (with {@link toNodeHandler}: Node's / Express's `req`, where express-session puts `req.session`).
 * @example { secret, getSessionId: (_request, req) => req.session.user ? req.sessionID : null }
 */
export interface SessionEndpointOptions<Context = undefined> {
  /** Key of the tag's HMAC; at least 32 characters, never sent to the browser. */
  secret: string
  /** The current session's ID, or null/undefined when there is no session. */
  getSessionId(request: Request, context: Context): Maybe<string | null | undefined>
  /** When the session ends, in milliseconds since the epoch. */
  getExpiresAt?(request: Request, context: Context): Maybe<number | null | undefined>
  /** True for a session with no signed-in user (lets the browser keep anonymous data at login). */
  isAnonymous?(request: Request, context: Context): Maybe<boolean>
  /** Ends the session; enables `DELETE` (sent by `store.session.end({ server: true })`). */
  endSession?(request: Request, context: Context): Maybe<void>
}

function json(body: SessionState, status = 200): Response {
  // no-store: a cached answer would hide a login or logout from the browser.
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', 'cache-control': 'no-store' } })
}

/**
 * A framework-neutral handler for the session endpoint: `GET` answers `{ tag, expiresAt?, anonymous? }`,
 * `DELETE` ends the session when `endSession` is given. Mount it on any Fetch-API server, or on
 * Node/Express through {@link toNodeHandler}.
 * @example
 * // Express + express-session:
 * app.all('/session', toNodeHandler(sessionEndpoint({
 *   secret: process.env.SESSION_TAG_SECRET,
 *   getSessionId: (_request, req) => (req.session.user ? req.sessionID : null),
 *   getExpiresAt: (_request, req) => req.session.cookie.expires?.getTime(),
 *   endSession: (_request, req) => new Promise((done) => req.session.destroy(done)),
 * })))
 */
export function sessionEndpoint<Context = undefined>(options: SessionEndpointOptions<Context>): (request: Request, context: Context) => Promise<Response> {
  checkSecret(options.secret)
  const state = async (request: Request, context: Context): Promise<SessionState> => {
    const id = await options.getSessionId(request, context)
    if (!id) return { tag: null }
    const result: SessionState = { tag: await sessionTag(id, options.secret) }
    const expiresAt = await options.getExpiresAt?.(request, context)
    if (typeof expiresAt === 'number' && Number.isFinite(expiresAt)) result.expiresAt = expiresAt
    if (options.isAnonymous && (await options.isAnonymous(request, context))) result.anonymous = true
    return result
  }
  return async (request, context) => {
    if (request.method === 'GET' || request.method === 'HEAD') return json(await state(request, context))
    if (request.method === 'DELETE' && options.endSession) {
      await options.endSession(request, context)
      return json({ tag: null })
    }
    return new Response(null, { status: 405, headers: { allow: options.endSession ? 'GET, HEAD, DELETE' : 'GET, HEAD' } })
  }
}

/** The parts of Node's `IncomingMessage` (and Express's `req`) the adapter reads. */
export interface NodeRequest {
  method?: string
  url?: string
  headers: Record<string, string | string[] | undefined>
}

/** The parts of Node's `ServerResponse` (and Express's `res`) the adapter writes. */
export interface NodeResponse {
  statusCode: number
  setHeader(name: string, value: string): unknown
  end(body?: Uint8Array): unknown
}

/**
 * Adapts a Fetch-API handler to Node's `http` and to Express: `(req, res) => …`, passing `req` on
 * as the handler's context.
 * @example app.all('/session', toNodeHandler(sessionEndpoint({ secret, getSessionId: (_r, req) => req.sessionID })))
 */
export function toNodeHandler<Req extends NodeRequest>(handler: (request: Request, context: Req) => Promise<Response>): (req: Req, res: NodeResponse, next?: (err?: unknown) => void) => Promise<void> {
  return async (req, res, next) => {
    try {
      const headers = new Headers()
      for (const [name, value] of Object.entries(req.headers)) {
        if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value)
      }
      const host = req.headers.host
      const url = new URL(req.url ?? '/', `http://${typeof host === 'string' ? host : 'localhost'}`)
      const response = await handler(new Request(url, { method: req.method ?? 'GET', headers }), req)
      res.statusCode = response.status
      response.headers.forEach((value, name) => res.setHeader(name, value))
      res.end(req.method === 'HEAD' ? undefined : new Uint8Array(await response.arrayBuffer()))
    } catch (err) {
      if (next) next(err)
      else {
        res.statusCode = 500
        res.end()
      }
    }
  }
}
