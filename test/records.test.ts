import { describe, expect, test } from 'vitest'
import type { KeySpec } from '../src/keys.js'
import { judge, livenessKey, makeRecord, newStamp, partsOf, STAMP } from '../src/records.js'

const persistent: KeySpec = { declared: 'prefs', lifetime: 'persistent', tier: 'indexeddb' }
const withTtl: KeySpec = { declared: 'draft:*', lifetime: 'persistent', tier: 'indexeddb', ttlMs: 60_000 }
const session: KeySpec = { declared: 'cart', lifetime: 'session', tier: 'indexeddb' }
const NOW = 1_700_000_000_000
const STAMP_A = 'aaaaaaaaaaaa'
const STAMP_B = 'bbbbbbbbbbbb'

describe('livenessKey / partsOf', () => {
  test('without session sync, session records carry the browser-session stamp alone', () => {
    expect(livenessKey(STAMP_A, undefined)).toBe(STAMP_A)
    expect(partsOf(STAMP_A)).toEqual([STAMP_A, undefined])
  })

  test('with session sync, the stamp and the server tag; "no server session" is an empty tag', () => {
    expect(livenessKey(STAMP_A, 'tag-1')).toBe(`${STAMP_A}=tag-1`)
    expect(livenessKey(STAMP_A, null)).toBe(`${STAMP_A}=`)
    expect(partsOf(`${STAMP_A}=tag-1`)).toEqual([STAMP_A, 'tag-1'])
    expect(partsOf(`${STAMP_A}=`)).toEqual([STAMP_A, ''])
  })

  test('"no server session" and "no sync" are different liveness keys', () => {
    expect(livenessKey(STAMP_A, null)).not.toBe(livenessKey(STAMP_A, undefined))
  })

  test('a tag holding "=" comes back whole (stamps never hold one)', () => {
    expect(partsOf(livenessKey(STAMP_A, 'a=b='))).toEqual([STAMP_A, 'a=b='])
  })
})

describe('makeRecord', () => {
  test('a session record carries the current liveness key', () => {
    expect(makeRecord('cart', ['sku-1'], session, STAMP_A, NOW)).toEqual({ p: 'cart', v: ['sku-1'], k: STAMP_A })
    expect(makeRecord('cart', 'x', session, `${STAMP_A}=tag-1`, NOW)).toEqual({ p: 'cart', v: 'x', k: `${STAMP_A}=tag-1` })
  })

  test('a record of a key with a ttl expires at now + ttl', () => {
    expect(makeRecord('draft:1', 'text', withTtl, STAMP_A, NOW)).toEqual({ p: 'draft:1', v: 'text', x: NOW + 60_000 })
  })

  test('a plain persistent record has neither a liveness key nor an expiry, whatever the session', () => {
    expect(makeRecord('prefs', { a: 1 }, persistent, `${STAMP_A}=tag-1`, NOW)).toEqual({ p: 'prefs', v: { a: 1 } })
  })

  test('falsy values are values', () => {
    expect(makeRecord('prefs', 0, persistent, '', NOW)).toEqual({ p: 'prefs', v: 0 })
    expect(makeRecord('prefs', null, persistent, '', NOW)).toEqual({ p: 'prefs', v: null })
    expect(makeRecord('prefs', '', persistent, '', NOW)).toEqual({ p: 'prefs', v: '' })
  })
})

describe('judge: liveness by the key\'s current declaration', () => {
  test('absent is not live, and not malformed', () => {
    expect(judge(undefined, persistent, STAMP_A, NOW)).toBe(false)
  })

  test('a record is live until its expiry, and dead from that millisecond on', () => {
    const record = makeRecord('draft:1', 'x', withTtl, STAMP_A, NOW)
    expect(judge(record, withTtl, STAMP_A, NOW + 59_999)).toBe(true)
    expect(judge(record, withTtl, STAMP_A, NOW + 60_000)).toBe(false)
    expect(judge(record, withTtl, STAMP_A, NOW + 3_600_000)).toBe(false)
  })

  test('a session record is live only under the liveness key that wrote it', () => {
    const record = makeRecord('cart', 'x', session, STAMP_A, NOW)
    expect(judge(record, session, STAMP_A, NOW)).toBe(true)
    expect(judge(record, session, STAMP_B, NOW)).toBe(false)
  })

  test('with session sync, only under the tag it was written with; "no session" is a tag of its own', () => {
    const record = makeRecord('cart', 'x', session, livenessKey(STAMP_A, 'tag-1'), NOW)
    expect(judge(record, session, livenessKey(STAMP_A, 'tag-1'), NOW)).toBe(true)
    expect(judge(record, session, livenessKey(STAMP_A, 'tag-2'), NOW)).toBe(false)
    expect(judge(record, session, livenessKey(STAMP_A, null), NOW)).toBe(false)
    expect(judge(record, session, STAMP_A, NOW)).toBe(false)
    const anonymous = makeRecord('cart', 'x', session, livenessKey(STAMP_A, null), NOW)
    expect(judge(anonymous, session, livenessKey(STAMP_A, null), NOW)).toBe(true)
  })

  test('a record of a key declared session-scoped TODAY but written without a stamp (an app upgrade) is dead', () => {
    // Written when the key was persistent: no k. The declaration now requires one.
    const old = makeRecord('cart', 'alice', { ...session, lifetime: 'persistent' }, STAMP_A, NOW)
    expect(old).toEqual({ p: 'cart', v: 'alice' })
    expect(judge(old, session, STAMP_A, NOW)).toBe(false)
    expect(judge(old, session, livenessKey(STAMP_A, 'tag-1'), NOW)).toBe(false)
  })

  test('a session key whose stamp is not known yet reads nothing as live', () => {
    expect(judge(makeRecord('cart', 'x', session, STAMP_A, NOW), session, undefined, NOW)).toBe(false)
  })

  test('a persistent record is live whatever the session, and whatever stamp it carries from an older declaration', () => {
    expect(judge(makeRecord('prefs', 'x', persistent, STAMP_A, NOW), persistent, STAMP_B, NOW + 10 ** 12)).toBe(true)
    expect(judge({ p: 'prefs', v: 'x', k: STAMP_A }, persistent, STAMP_B, NOW)).toBe(true)
  })

  test('a session record with a ttl must satisfy both', () => {
    const record = { p: 'cart', v: 1, k: STAMP_A, x: NOW + 10 }
    expect(judge(record, session, STAMP_A, NOW)).toBe(true)
    expect(judge(record, session, STAMP_B, NOW)).toBe(false)
    expect(judge(record, session, STAMP_A, NOW + 10)).toBe(false)
  })

  test('a record holding undefined is still a record', () => {
    expect(judge({ p: 'prefs', v: undefined }, persistent, STAMP_A, NOW)).toBe(true)
  })
})

describe('judge: foreign and malformed records are never live, and say why', () => {
  const malformed: [string, unknown, KeySpec][] = [
    ['null', null, persistent],
    ['a bare string', 'value', persistent],
    ['a number', 42, persistent],
    ['an object without v', { p: 'prefs', value: 1 }, persistent],
    ['an array', [1, 2], persistent],
    ['a version-1 envelope kept as it was', { p: 'prefs', old: 'x' }, persistent],
    ['a liveness key that is not a string', { p: 'cart', v: 1, k: 42 }, session],
    ['a liveness key that is an array', { p: 'cart', v: 1, k: [STAMP_A] }, session],
    ['a liveness key that is not a string, on a persistent key', { p: 'prefs', v: 1, k: null }, persistent],
    ['an expiry that is a string', { p: 'prefs', v: 1, x: 'tomorrow' }, persistent],
    ['an expiry that is a numeric string', { p: 'prefs', v: 1, x: String(NOW + 10 ** 9) }, persistent],
    ['an expiry that is NaN', { p: 'prefs', v: 1, x: Number.NaN }, persistent],
    ['an expiry that is null', { p: 'prefs', v: 1, x: null }, persistent],
    ['an expiry that is an object', { p: 'prefs', v: 1, x: {} }, persistent],
    ['a matching stamp but an expiry that is a string', { p: 'cart', v: 1, k: STAMP_A, x: 'never' }, session],
  ]

  test.each(malformed)('%s: a reason string, not true', (_what, raw, spec) => {
    const verdict = judge(raw, spec, STAMP_A, NOW)
    expect(typeof verdict).toBe('string')
    expect((verdict as string).length).toBeGreaterThan(20)
  })

  test('the reason tells a foreign record from a damaged stamp or expiry', () => {
    expect(judge({ p: 'prefs' }, persistent, STAMP_A, NOW)).toMatch(/not a visitstore record/)
    expect(judge({ p: 'cart', v: 1, k: 42 }, session, STAMP_A, NOW)).toMatch(/liveness stamp or expiry/)
    expect(judge({ p: 'prefs', v: 1, x: 'soon' }, persistent, STAMP_A, NOW)).toMatch(/liveness stamp or expiry/)
  })

  test('an expiry that is not a number never makes a record immortal: it is not live now, nor a year later', () => {
    for (const now of [NOW, NOW + 365 * 86_400_000]) expect(judge({ p: 'prefs', v: 1, x: 'never' }, withTtl, STAMP_A, now)).not.toBe(true)
  })
})

describe('newStamp', () => {
  test('is 12 characters of [0-9a-z], the marker cookie value format that STAMP recognises', () => {
    for (let i = 0; i < 200; i++) {
      const stamp = newStamp()
      expect(stamp).toMatch(/^[0-9a-z]{12}$/)
      expect(STAMP.test(stamp)).toBe(true)
    }
  })

  test('is unique across many calls', () => {
    const stamps = new Set(Array.from({ length: 10_000 }, () => newStamp()))
    expect(stamps.size).toBe(10_000)
  })

  test('STAMP refuses what a tampered or foreign marker cookie could hold', () => {
    for (const value of ['', 'short', 'AAAAAAAAAAAA', 'aaaaaaaaaaaaa', 'aaaaaaaaaaa=', 'aaaaaa aaaaa', `${STAMP_A}\n`]) expect(STAMP.test(value)).toBe(false)
  })
})
