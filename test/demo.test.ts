// @vitest-environment node
// The demo server (Express 5 + express-session + visitstore/server): it serves the page and the
// built bundle, answers the session endpoint, changes the session on /login, /rotate, /logout and
// DELETE /session, and /echo reports the Cookie header as a server sees it. Runs after
// `npm run build` (the server imports dist/server.js, and serves dist/visitstore.iife.js).
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { startDemoServer, type DemoServer, type EchoBody, type ErrorBody, type UserBody } from '../demo/server.mjs'

let server: DemoServer

beforeAll(async () => {
  server = await startDemoServer({ port: 0 })
})

afterAll(async () => {
  await server.close()
})

const url = (path: string) => new URL(path, server.url)

/** The `demo_sid=…` pair a response sets, or undefined. */
function sessionCookie(response: Response): string | undefined {
  const line = response.headers.getSetCookie().find((c) => c.startsWith('demo_sid='))
  return line?.split(';')[0]
}

async function tagOf(cookie?: string): Promise<string | null> {
  const response = await fetch(url('/session'), { headers: cookie ? { cookie } : {} })
  expect(response.status).toBe(200)
  expect(response.headers.get('cache-control')).toBe('no-store')
  return ((await response.json()) as { tag: string | null }).tag
}

async function post(path: string, { cookie, body }: { cookie?: string, body?: unknown } = {}) {
  const headers: Record<string, string> = {}
  if (cookie) headers.cookie = cookie
  if (body !== undefined) headers['content-type'] = 'application/json'
  return fetch(url(path), { method: 'POST', headers, body: body === undefined ? undefined : JSON.stringify(body) })
}

/** Signs in as `name` and returns the new session cookie. */
async function logIn(name: string, cookie?: string): Promise<string> {
  const response = await post('/login', { cookie, body: { name } })
  expect(response.status).toBe(200)
  expect(await response.json()).toEqual({ user: name } satisfies UserBody)
  const set = sessionCookie(response)
  expect(set).toBeDefined()
  return set as string
}

describe('demo server: files', () => {
  test('listens on a free loopback port when asked for port 0', () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/)
    expect(server.url).not.toBe('http://127.0.0.1:0/')
  })

  test.each([
    ['/', 'text/html', '<script src="/visitstore.iife.js"></script>'],
    ['/app.js', 'text/javascript', 'VisitStore.createStore('],
    ['/style.css', 'text/css', '[data-theme="dark"]'],
    ['/visitstore.iife.js', 'text/javascript', 'var VisitStore='],
  ])('serves %s as %s', async (path, type, excerpt) => {
    const response = await fetch(url(path))
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toContain(type)
    expect(await response.text()).toContain(excerpt)
  })

  test('the page creates its store with VisitStore.sessionSync (a plain object as session is INVALID_OPTIONS)', async () => {
    const app = await (await fetch(url('/app.js'))).text()
    expect(app).toMatch(/VisitStore\.sessionSync\(\{[^}]*endpoint: '\/session'[^}]*keepOnLogin: true[^}]*\}\)/)
    expect(app).not.toMatch(/session:\s*\{/)
    // What the page tells the user about how the store is made shows the same form.
    const page = await (await fetch(url('/'))).text()
    expect(page).not.toMatch(/session:\s*\{/)
  })

  test('the page comes with the theme of the theme cookie (readCookies), so its first paint needs no script', async () => {
    const page = async (cookie?: string) => (await fetch(url('/'), { headers: cookie ? { cookie } : {} })).text()
    expect(await page('shop_theme=dark')).toContain('<html lang="en" data-theme="dark">')
    expect(await page()).toContain('<html lang="en" data-theme="light">')
    // Anything but a stored "dark" is the light default, never text copied into the page.
    expect(await page('shop_theme=%22%3E%3Cscript%3E')).toContain('<html lang="en" data-theme="light">')
  })

  test('an unknown path is a 404, not the page', async () => {
    const response = await fetch(url('/nope'))
    expect(response.status).toBe(404)
    expect(await response.text()).not.toContain('<html')
  })
})

describe('demo server: /echo', () => {
  test('reports the Cookie header it received, URL-decoded, with its size', async () => {
    const cookieHeader = 'shop_theme=dark; shop_locale=fr%20FR'
    const response = await fetch(url('/echo'), { headers: { cookie: cookieHeader } })
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toContain('application/json')
    const body = await response.json() as EchoBody
    expect(body).toEqual({ cookieHeader, bytes: 36, cookies: { shop_theme: 'dark', shop_locale: 'fr FR' }, user: null })
  })

  test('with no cookies reports an empty header and a guest', async () => {
    const body = await (await fetch(url('/echo'))).json() as EchoBody
    expect(body).toEqual({ cookieHeader: '', bytes: 0, cookies: {}, user: null })
  })

  test('names the signed-in user of the session the request carried', async () => {
    const cookie = await logIn('Ada')
    const body = await (await fetch(url('/echo'), { headers: { cookie } })).json() as EchoBody
    expect(body.user).toBe('Ada')
    expect(Object.keys(body.cookies)).toEqual(['demo_sid'])
  })
})

describe('demo server: the session', () => {
  test('a guest has no session: tag null, and no cookie is set', async () => {
    const response = await fetch(url('/session'))
    expect(await response.json()).toEqual({ tag: null })
    expect(sessionCookie(response)).toBeUndefined()
  })

  test('login sets an HttpOnly, SameSite=Lax browser-session cookie and gives a tag that is not the ID', async () => {
    const response = await post('/login', { body: { name: 'Ada' } })
    const line = response.headers.getSetCookie().find((c) => c.startsWith('demo_sid=')) ?? ''
    expect(line).toMatch(/; HttpOnly/)
    expect(line).toMatch(/; SameSite=Lax/)
    expect(line).not.toMatch(/Expires=|Max-Age=/)
    const cookie = line.split(';')[0] as string
    const tag = await tagOf(cookie)
    expect(tag).toMatch(/^[A-Za-z0-9_-]{43}$/) // HMAC-SHA-256, base64url
    const id = /^s:([^.]+)\./.exec(decodeURIComponent(cookie.slice('demo_sid='.length)))?.[1]
    expect(id).toBeDefined()
    expect(tag).not.toContain(id)
    expect(await tagOf(cookie)).toBe(tag) // stable while the session lasts
  })

  test('login from a signed-in session starts a new session (no fixation)', async () => {
    const first = await logIn('Ada')
    const second = await logIn('Grace', first)
    expect(second).not.toBe(first)
    expect(await tagOf(first)).toBeNull()
    expect(await tagOf(second)).not.toBe(await tagOf(first))
  })

  test('rotate: a new session ID and tag for the same user; the old ID is dead', async () => {
    const cookie = await logIn('Ada')
    const before = await tagOf(cookie)
    const response = await post('/rotate', { cookie })
    expect(response.status).toBe(200)
    expect(await response.json()).toEqual({ user: 'Ada' } satisfies UserBody)
    const rotated = sessionCookie(response) as string
    expect(rotated).not.toBe(cookie)
    const after = await tagOf(rotated)
    expect(after).not.toBeNull()
    expect(after).not.toBe(before)
    expect(await tagOf(cookie)).toBeNull()
    expect(((await (await fetch(url('/echo'), { headers: { cookie: rotated } })).json()) as EchoBody).user).toBe('Ada')
  })

  test('logout ends the session and clears the cookie', async () => {
    const cookie = await logIn('Ada')
    const response = await post('/logout', { cookie })
    expect(response.status).toBe(200)
    expect(await response.json()).toEqual({ user: null } satisfies UserBody)
    expect(response.headers.getSetCookie().join('\n')).toMatch(/^demo_sid=; .*Expires=Thu, 01 Jan 1970/m)
    expect(await tagOf(cookie)).toBeNull()
  })

  test('DELETE /session (store.session.end({ server: true })) ends the session', async () => {
    const cookie = await logIn('Ada')
    const response = await fetch(url('/session'), { method: 'DELETE', headers: { cookie } })
    expect(response.status).toBe(200)
    expect(await response.json()).toEqual({ tag: null })
    expect(response.headers.getSetCookie().join('\n')).toMatch(/^demo_sid=;/m)
    expect(await tagOf(cookie)).toBeNull()
  })

  test('refuses a login without a name, a rotation without a session, and other methods on /session', async () => {
    for (const body of [{}, { name: '   ' }, { name: 'x'.repeat(41) }, { name: 42 }]) {
      const response = await post('/login', { body })
      expect(response.status).toBe(400)
      expect(((await response.json()) as ErrorBody).error).toMatch(/name/)
    }
    const rotate = await post('/rotate')
    expect(rotate.status).toBe(409)
    expect(((await rotate.json()) as ErrorBody).error).toMatch(/Not signed in/)
    const put = await fetch(url('/session'), { method: 'PUT' })
    expect(put.status).toBe(405)
    expect(put.headers.get('allow')).toBe('GET, HEAD, DELETE')
  })
})
