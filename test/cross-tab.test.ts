import { afterEach, describe, expect, test, vi } from 'vitest'
import { exclusive, hasLocks, onCookieActivity, openChannel } from '../src/cross-tab.js'

afterEach(() => {
  vi.unstubAllGlobals()
  vi.useRealTimers()
})

describe('openChannel', () => {
  test('delivers messages to the other instances of the same store only', async () => {
    const a = openChannel<{ n: number }>('one')
    const b = openChannel<{ n: number }>('one')
    const other = openChannel<{ n: number }>('two')
    const got: number[] = []
    const elsewhere = vi.fn()
    b.on((m) => got.push(m.n))
    other.on(elsewhere)
    a.post({ n: 1 })
    a.post({ n: 2 })
    await vi.waitFor(() => expect(got).toEqual([1, 2]))
    expect(elsewhere).not.toHaveBeenCalled()
    for (const c of [a, b, other]) c.close()
  })

  test('without BroadcastChannel it degrades to this tab alone instead of throwing', () => {
    vi.stubGlobal('BroadcastChannel', undefined)
    const c = openChannel('x')
    const cb = vi.fn()
    c.on(cb)
    expect(() => c.post({})).not.toThrow()
    c.close()
    expect(cb).not.toHaveBeenCalled()
  })
})

describe('exclusive', () => {
  test('uses Web Locks when present, under the given name', async () => {
    const request = vi.fn((_name: string, fn: () => Promise<unknown>) => fn())
    vi.stubGlobal('navigator', { locks: { request } })
    expect(hasLocks()).toBe(true)
    expect(await exclusive('visitstore:x:session', () => 7)).toBe(7)
    expect(request).toHaveBeenCalledWith('visitstore:x:session', expect.any(Function))
  })

  test('runs at once without Web Locks', async () => {
    vi.stubGlobal('navigator', {})
    expect(hasLocks()).toBe(false)
    expect(await exclusive('n', async () => 'ran')).toBe('ran')
  })
})

describe('onCookieActivity', () => {
  test('checks on focus, on visibility changes and on the interval, until stopped', () => {
    vi.useFakeTimers()
    const check = vi.fn()
    const stop = onCookieActivity(check, 1000)
    window.dispatchEvent(new Event('focus'))
    document.dispatchEvent(new Event('visibilitychange'))
    expect(check).toHaveBeenCalledTimes(2)
    vi.advanceTimersByTime(3000)
    expect(check).toHaveBeenCalledTimes(5)
    stop()
    window.dispatchEvent(new Event('focus'))
    vi.advanceTimersByTime(3000)
    expect(check).toHaveBeenCalledTimes(5)
  })

  test('listens to Cookie Store API change events where present', () => {
    const cookieStore = new EventTarget()
    vi.stubGlobal('cookieStore', cookieStore)
    const check = vi.fn()
    const stop = onCookieActivity(check, 60_000)
    cookieStore.dispatchEvent(new Event('change'))
    expect(check).toHaveBeenCalledTimes(1)
    stop()
  })
})
