// @vitest-environment node
import express from 'express'
import session from 'express-session'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { sessionEndpoint, sessionTag, toNodeHandler } from '../../src/server/index.js'

const secret = 'test-secret-test-secret-test-secret-0123'

describe('sessionTag', () => {
  test('is a keyed hash: stable per ID, different per ID and per secret, and hides the ID', async () => {
    const a = await sessionTag('sid-123', secret)
    expect(a).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(await sessionTag('sid-123', secret)).toBe(a)
    expect(await sessionTag('sid-124', secret)).not.toBe(a)
    expect(await sessionTag('sid-123', `${secret}x`)).not.toBe(a)
    expect(a).not.toContain('sid-123')
  })

  test('refuses a short secret and an empty ID', async () => {
    await expect(sessionTag('sid', 'short')).rejects.toThrow(/at least 32/)
    await expect(sessionTag('', secret)).rejects.toThrow(/session ID/)
    expect(() => sessionEndpoint({ secret: 'short', getSessionId: () => null })).toThrow(/at least 32/)
  })
})

describe('sessionEndpoint as a Fetch handler', () => {
  const handler = sessionEndpoint<{ id: string | null, anon?: boolean }>({
    secret,
    getSessionId: (_request, ctx) => ctx.id,
    getExpiresAt: () => 1_900_000_000_000,
    isAnonymous: (_request, ctx) => ctx.anon ?? false,
  })

  test('GET answers the wire format, uncacheable', async () => {
    const res = await handler(new Request('http://x/session'), { id: 'abc' })
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('application/json')
    expect(res.headers.get('cache-control')).toBe('no-store')
    expect(await res.json()).toEqual({ tag: await sessionTag('abc', secret), expiresAt: 1_900_000_000_000 })
  })

  test('no session is tag null; an anonymous session says so', async () => {
    expect(await (await handler(new Request('http://x/session'), { id: null })).json()).toEqual({ tag: null })
    expect(await (await handler(new Request('http://x/session'), { id: 'a', anon: true })).json()).toMatchObject({ anonymous: true })
  })

  test('DELETE without endSession and other methods are 405', async () => {
    const res = await handler(new Request('http://x/session', { method: 'DELETE' }), { id: 'a' })
    expect(res.status).toBe(405)
    expect(res.headers.get('allow')).toBe('GET, HEAD')
  })
})

describe('with express-session, through toNodeHandler', () => {
  let base = ''
  let close = () => {}
  beforeAll(async () => {
    const app = express()
    app.use(session({ secret: 'cookie-signing-secret', resave: false, saveUninitialized: false }))
    app.post('/login', (req, res) => {
      req.session.regenerate(() => {
        (req.session as unknown as { user: string }).user = 'ada'
        req.session.save(() => res.end('ok'))
      })
    })
    app.all('/session', toNodeHandler(sessionEndpoint({
      secret,
      getSessionId: (_request, req: express.Request) => ((req.session as unknown as { user?: string }).user ? req.sessionID : null),
      endSession: (_request, req: express.Request) => new Promise<void>((done) => req.session.destroy(() => done())),
    })))
    const server = app.listen(0, '127.0.0.1')
    await new Promise((r) => server.once('listening', r))
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    close = () => server.close()
  })
  afterAll(() => close())

  const cookieOf = (res: Response) => (res.headers.get('set-cookie') ?? '').split(';')[0] ?? ''

  test('login gives a tag derived from the session ID, re-login a new one, logout none', async () => {
    expect(await (await fetch(`${base}/session`)).json()).toEqual({ tag: null })
    const first = cookieOf(await fetch(`${base}/login`, { method: 'POST' }))
    const tag1 = (await (await fetch(`${base}/session`, { headers: { cookie: first } })).json() as { tag: string }).tag
    const sid = decodeURIComponent(first.split('=')[1] ?? '').slice(2).split('.')[0] ?? ''
    expect(tag1).toBe(await sessionTag(sid, secret))
    expect(tag1).not.toContain(sid)
    const second = cookieOf(await fetch(`${base}/login`, { method: 'POST', headers: { cookie: first } }))
    expect(second).not.toBe(first)
    const tag2 = (await (await fetch(`${base}/session`, { headers: { cookie: second } })).json() as { tag: string }).tag
    expect(tag2).not.toBe(tag1)
    const del = await fetch(`${base}/session`, { method: 'DELETE', headers: { cookie: second } })
    expect(await del.json()).toEqual({ tag: null })
    expect(await (await fetch(`${base}/session`, { headers: { cookie: second } })).json()).toEqual({ tag: null })
  })
})
