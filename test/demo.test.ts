// @vitest-environment node
// The demo server: it serves the page and the built bundle, and /echo reports the Cookie header as
// a server sees it. Runs after `npm run build` (the bundle must exist).
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { startDemoServer, type DemoServer, type EchoBody } from '../demo/server.mjs'

let server: DemoServer

beforeAll(async () => {
  server = await startDemoServer({ port: 0 })
})

afterAll(async () => {
  await server.close()
})

describe('demo server', () => {
  test('listens on a free loopback port when asked for port 0', () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/)
    expect(server.url).not.toBe('http://127.0.0.1:0/')
  })

  test.each([
    ['/', 'text/html', '<script src="/visitstore.iife.js"></script>'],
    ['/app.js', 'text/javascript', 'VisitStore.createStore'],
    ['/style.css', 'text/css', '[data-theme="dark"]'],
    ['/visitstore.iife.js', 'text/javascript', 'var VisitStore='],
  ])('serves %s as %s', async (path, type, excerpt) => {
    const response = await fetch(new URL(path, server.url))
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toContain(type)
    expect(await response.text()).toContain(excerpt)
  })

  test('/echo reports the Cookie header it received, URL-decoded, with its size', async () => {
    const cookieHeader = 'shop_theme=dark; shop_locale=fr%20FR'
    const response = await fetch(new URL('/echo', server.url), { headers: { cookie: cookieHeader } })
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toContain('application/json')
    const body = await response.json() as EchoBody
    expect(body).toEqual({ cookieHeader, bytes: 36, cookies: { shop_theme: 'dark', shop_locale: 'fr FR' } })
  })

  test('/echo with no cookies reports an empty header', async () => {
    const body = await (await fetch(new URL('/echo', server.url))).json() as EchoBody
    expect(body).toEqual({ cookieHeader: '', bytes: 0, cookies: {} })
  })

  test('an unknown path is a 404, not the page', async () => {
    const response = await fetch(new URL('/nope', server.url))
    expect(response.status).toBe(404)
  })
})
