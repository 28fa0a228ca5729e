import { base64url } from '../codec.js'
import { VisitStoreError } from '../errors.js'
import type { SessionHost } from '../session-host.js'
import type { SessionAnswer, SessionSnapshot, SessionSyncOptions } from '../types.js'

/** Asks a source once; `signal` aborts it at the time-out. */
export type Ask = (signal: AbortSignal) => Promise<SessionSnapshot>

export const NONE: SessionSnapshot = { tag: null, state: 'none', expiresAt: undefined }

export function syncFailed(why: string, cause?: unknown): VisitStoreError {
  return new VisitStoreError('SESSION_SYNC_FAILED',
    `The server session could not be checked: ${why}. The last known session is kept and nothing was purged; ` +
    'the store retries with back-off.', cause === undefined ? undefined : { cause })
}

/** A source that cannot work in this page at all (not a passing failure): `status.session` says 'unavailable'. */
export class Unavailable extends Error {}

/**
 * Validates a source's answer (the endpoint's JSON); anything else is a sync failure. `offset` is
 * the server's clock minus this browser's: `expiresAt` (server time) comes back on this clock.
 */
export function parseAnswer(body: unknown, offset = 0): SessionSnapshot {
  if (typeof body !== 'object' || body === null) throw syncFailed('the answer is not a JSON object')
  const { tag, expiresAt, anonymous } = body as Record<string, unknown>
  if (tag !== null && (typeof tag !== 'string' || tag === '')) throw syncFailed('"tag" must be a non-empty string or null')
  if (expiresAt !== undefined && (typeof expiresAt !== 'number' || !Number.isFinite(expiresAt))) throw syncFailed('"expiresAt" must be milliseconds since the epoch')
  if (anonymous !== undefined && typeof anonymous !== 'boolean') throw syncFailed('"anonymous" must be true or false')
  if (tag === null) return NONE
  return { tag, state: anonymous ? 'anonymous' : 'active', expiresAt: expiresAt === undefined ? undefined : expiresAt - offset }
}

/**
 * How far the server's clock is from this browser's, from the answer's `Date` header (1 s
 * resolution, so differences under 2 s count as none): a wrong client clock must not make a
 * session look expired, or never expiring.
 */
function clockOffset(response: Response): number {
  const date = Date.parse(response.headers.get('date') ?? '')
  const offset = Number.isNaN(date) ? 0 : date - Date.now()
  return Math.abs(offset) < 2000 ? 0 : offset
}

/**
 * The tag of a script-readable session cookie (PHP's PHPSESSID): a SHA-256 of the ID. The ID
 * itself is a credential and goes nowhere else: not stored, not in events or errors.
 */
async function tagOfSessionId(id: string): Promise<string> {
  if (typeof crypto === 'undefined' || !crypto.subtle) throw new Unavailable('the cookie source needs crypto.subtle, which browsers give only to secure contexts (https or localhost)')
  return base64url(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(`visitstore-session:${id}`)))
}

async function askEndpoint(endpoint: string, credentials: RequestCredentials, signal: AbortSignal): Promise<SessionSnapshot> {
  let response: Response
  try {
    response = await fetch(endpoint, { credentials, headers: { accept: 'application/json' }, cache: 'no-store', signal })
  } catch (err) {
    throw syncFailed(signal.aborted ? `GET ${endpoint} did not answer in time` : `GET ${endpoint} did not reach the server`, err)
  }
  if (response.status !== 200) throw syncFailed(`GET ${endpoint} answered ${response.status}`)
  let body: unknown
  try {
    body = await response.json()
  } catch (err) {
    throw syncFailed(`GET ${endpoint} did not answer JSON`, err)
  }
  return parseAnswer(body, clockOffset(response))
}

/** The source of `options` as one asking function; undefined for the header source (answers arrive with `session.fetch`). */
export function sourceOf(o: SessionSyncOptions, host: SessionHost): Ask | undefined {
  if ('endpoint' in o) return (signal) => askEndpoint(o.endpoint, o.credentials ?? 'same-origin', signal)
  if ('cookie' in o) {
    return async () => {
      const id = host.readCookie(o.cookie)
      return id ? { tag: await tagOfSessionId(id), state: 'active', expiresAt: undefined } : NONE
    }
  }
  if ('read' in o) {
    return async () => {
      let answer: SessionAnswer | null
      try {
        answer = await o.read()
      } catch (err) {
        throw syncFailed('session.read() threw', err)
      }
      return answer === null ? NONE : parseAnswer(answer)
    }
  }
  return undefined
}

/**
 * Runs `ask` with a time-out: a request that never answers is aborted and counts as a failure.
 * `controller`: aborting it with an error (close()) fails the request at once, with that error.
 */
export function withTimeout(ask: Ask, ms: number, controller = new AbortController()): Promise<SessionSnapshot> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const late = new Promise<never>((_, reject) => {
    controller.signal.onabort = () => reject(controller.signal.reason instanceof VisitStoreError ? controller.signal.reason : syncFailed(`no answer within ${ms} ms (sessionSync's timeout)`))
    timer = setTimeout(() => controller.abort(), ms)
  })
  return Promise.race([ask(controller.signal), late]).finally(() => clearTimeout(timer))
}

/** `DELETE <endpoint>` with the time-out: `session.end({ server: true })`. A keepalive request: it is sent even if the page goes away right after. */
export async function deleteSession(endpoint: string, credentials: RequestCredentials, ms: number): Promise<void> {
  const controller = new AbortController()
  const timer = setTimeout(() => controller.abort(), ms)
  try {
    const response = await fetch(endpoint, { method: 'DELETE', credentials, signal: controller.signal, keepalive: true })
    if (!response.ok) throw syncFailed(`DELETE ${endpoint} answered ${response.status}; the session may still be alive on the server`)
  } catch (err) {
    throw err instanceof VisitStoreError ? err : syncFailed(`DELETE ${endpoint} did not reach the server in time; the session may still be alive on the server`, err)
  } finally {
    clearTimeout(timer)
  }
}
