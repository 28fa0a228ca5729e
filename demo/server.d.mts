// Types for demo/server.mjs, so the TypeScript tests can import it.
import type { Express } from 'express'

/** A running demo server. `url` ends with `/`. */
export interface DemoServer {
  url: string
  close(): Promise<void>
}

/** The JSON body of `GET /echo`: what the server received in the Cookie header, and who that session is. */
export interface EchoBody {
  cookieHeader: string
  bytes: number
  cookies: Record<string, string>
  /** The signed-in user of the session the request carried, or null for a guest. */
  user: string | null
}

/** The JSON body of `POST /login`, `/rotate` and `/logout` on success (`user: null` after logout). */
export interface UserBody {
  user: string | null
}

/** The JSON body of a refused request (400 for a bad login name, 409 for `/rotate` as a guest). */
export interface ErrorBody {
  error: string
}

/** express-session's cookie name (HttpOnly, a browser-session cookie). */
export const SESSION_COOKIE: 'demo_sid'

/** The Express app: the page, the bundle, `/session` (visitstore/server), `/login`, `/logout`, `/rotate`, `/echo`. */
export function createDemoApp(): Express

/** Starts the demo server on 127.0.0.1; `port: 0` picks a free port (default 5173). */
export function startDemoServer(options?: { port?: number }): Promise<DemoServer>

/** Splits a Cookie header into URL-decoded values, as a server framework does. */
export function parseCookieHeader(header: string): Record<string, string>
