// Types for demo/server.mjs, so the TypeScript tests can import it.

/** A running demo server. `url` ends with `/`. */
export interface DemoServer {
  url: string
  close(): Promise<void>
}

/** The JSON body of `GET /echo`: what the server received in the Cookie header. */
export interface EchoBody {
  cookieHeader: string
  bytes: number
  cookies: Record<string, string>
}

/** Starts the demo server on 127.0.0.1; `port: 0` picks a free port (default 5173). */
export function startDemoServer(options?: { port?: number }): Promise<DemoServer>

/** Splits a Cookie header into URL-decoded values, as a server framework does. */
export function parseCookieHeader(header: string): Record<string, string>
