import { afterEach, describe, expect, test, vi } from 'vitest'
import { isLive, newSessionStamp, wrapEntry } from '../src/lifetimes.js'
import type { KeySpec } from '../src/placement.js'

const persistent: KeySpec = { declared: 'prefs', lifetime: 'persistent', home: 'client' }
const withTtl: KeySpec = { declared: 'draft:*', lifetime: 'persistent', home: 'client', ttlMs: 60_000 }
const session: KeySpec = { declared: 'cart', lifetime: 'session', home: 'client' }
const NOW = 1_700_000_000_000

afterEach(() => { vi.unstubAllGlobals() })

describe('wrapEntry', () => {
  test('stamps a session entry with the current browser session', () => {
    expect(wrapEntry(['sku-1'], session, 'stampaaaaaaa', NOW)).toEqual({ v: ['sku-1'], s: 'stampaaaaaaa' })
  })

  test('sets the expiry of an entry with a ttl to now + ttl', () => {
    expect(wrapEntry('text', withTtl, 'stampaaaaaaa', NOW)).toEqual({ v: 'text', x: NOW + 60_000 })
  })

  test('a persistent entry without ttl has neither expiry nor stamp', () => {
    expect(wrapEntry({ a: 1 }, persistent, 'stampaaaaaaa', NOW)).toEqual({ v: { a: 1 } })
  })

  test('keeps falsy values as the value', () => {
    expect(wrapEntry(0, persistent, 's', NOW)).toEqual({ v: 0 })
    expect(wrapEntry(null, persistent, 's', NOW)).toEqual({ v: null })
  })
})

describe('wrapEntry with a server session tag', () => {
  test('a session entry carries the tag it was written under, null included', () => {
    expect(wrapEntry('x', session, 'stampaaaaaaa', NOW, 'tag-1')).toEqual({ v: 'x', s: 'stampaaaaaaa', t: 'tag-1' })
    expect(wrapEntry('x', session, 'stampaaaaaaa', NOW, null)).toEqual({ v: 'x', s: 'stampaaaaaaa', t: null })
  })

  test('a persistent entry is not bound to the server session', () => {
    expect(wrapEntry('x', withTtl, 'stampaaaaaaa', NOW, 'tag-1')).toEqual({ v: 'x', x: NOW + 60_000 })
  })
})

describe('isLive', () => {
  test('an entry is live until its expiry, and dead from that millisecond on', () => {
    const entry = wrapEntry('x', withTtl, 's', NOW)
    expect(isLive(entry, 's', NOW + 59_999)).toBe(true)
    expect(isLive(entry, 's', NOW + 60_000)).toBe(false)
    expect(isLive(entry, 's', NOW + 3_600_000)).toBe(false)
  })

  test('a session entry is live only in the session that stamped it', () => {
    const entry = wrapEntry('x', session, 'aaaaaaaaaaaa', NOW)
    expect(isLive(entry, 'aaaaaaaaaaaa', NOW)).toBe(true)
    expect(isLive(entry, 'bbbbbbbbbbbb', NOW)).toBe(false)
  })

  test('a persistent entry is unaffected by the session stamp', () => {
    const entry = wrapEntry('x', persistent, 'aaaaaaaaaaaa', NOW)
    expect(isLive(entry, 'bbbbbbbbbbbb', NOW + 10 ** 12)).toBe(true)
  })

  test('a session entry with a ttl must satisfy both', () => {
    const entry = { v: 1, s: 'a', x: NOW + 10 }
    expect(isLive(entry, 'a', NOW)).toBe(true)
    expect(isLive(entry, 'b', NOW)).toBe(false)
    expect(isLive(entry, 'a', NOW + 10)).toBe(false)
  })

  test('with a server session tag, a session entry is live only under the tag it was written with', () => {
    const entry = wrapEntry('x', session, 'aaaaaaaaaaaa', NOW, 'tag-1')
    expect(isLive(entry, 'aaaaaaaaaaaa', NOW, 'tag-1')).toBe(true)
    expect(isLive(entry, 'aaaaaaaaaaaa', NOW, 'tag-2')).toBe(false)
    expect(isLive(entry, 'aaaaaaaaaaaa', NOW, null)).toBe(false)
    expect(isLive(wrapEntry('x', session, 'aaaaaaaaaaaa', NOW, null), 'aaaaaaaaaaaa', NOW, null)).toBe(true)
  })

  test('a persistent entry is unaffected by the server session tag', () => {
    expect(isLive(wrapEntry('x', persistent, 'aaaaaaaaaaaa', NOW), 'aaaaaaaaaaaa', NOW, 'tag-2')).toBe(true)
  })

  test('an envelope holding undefined is still an envelope', () => {
    expect(isLive({ v: undefined }, 's', NOW)).toBe(true)
  })

  test.each([
    ['undefined', undefined],
    ['null', null],
    ['a bare string', 'value'],
    ['a number', 42],
    ['an object without v', { value: 1 }],
    ['an array', [1, 2]],
  ])('%s is not a live entry', (_what, raw) => {
    expect(isLive(raw, 's', NOW)).toBe(false)
  })
})

describe('newSessionStamp', () => {
  test('is 12 characters of [0-9a-z] (the marker cookie value format)', () => {
    for (let i = 0; i < 200; i++) expect(newSessionStamp()).toMatch(/^[0-9a-z]{12}$/)
  })

  test('is unique across many calls', () => {
    const stamps = new Set(Array.from({ length: 10_000 }, () => newSessionStamp()))
    expect(stamps.size).toBe(10_000)
  })

  test('still works without crypto.getRandomValues', () => {
    vi.stubGlobal('crypto', undefined)
    const stamps = new Set(Array.from({ length: 1000 }, () => newSessionStamp()))
    expect(stamps.size).toBe(1000)
    for (const s of stamps) expect(s).toMatch(/^[0-9a-z]{12}$/)
  })
})
