import { afterEach, describe, expect, test, vi } from 'vitest'
import { createEmitter } from '../src/emitter.js'

type Events = { change: number, status: string }

afterEach(() => { vi.useRealTimers() })

describe('createEmitter', () => {
  test('calls every listener of an event with the payload, in order', () => {
    const emitter = createEmitter<Events>()
    const calls: string[] = []
    emitter.on('change', (n) => calls.push(`a${n}`))
    emitter.on('change', (n) => calls.push(`b${n}`))
    emitter.emit('change', 1)
    emitter.emit('change', 2)
    expect(calls).toEqual(['a1', 'b1', 'a2', 'b2'])
  })

  test('calls only the listeners of the emitted event', () => {
    const emitter = createEmitter<Events>()
    const change = vi.fn()
    const status = vi.fn()
    emitter.on('change', change)
    emitter.on('status', status)
    emitter.emit('status', 'memory')
    expect(status).toHaveBeenCalledExactlyOnceWith('memory')
    expect(change).not.toHaveBeenCalled()
  })

  test('emitting with no listener does nothing', () => {
    expect(() => createEmitter<Events>().emit('change', 1)).not.toThrow()
  })

  test('the function returned by on unsubscribes that listener only', () => {
    const emitter = createEmitter<Events>()
    const a = vi.fn()
    const b = vi.fn()
    const offA = emitter.on('change', a)
    emitter.on('change', b)
    offA()
    offA()
    emitter.emit('change', 5)
    expect(a).not.toHaveBeenCalled()
    expect(b).toHaveBeenCalledExactlyOnceWith(5)
  })

  test('has tells whether anyone listens, including after unsubscribing', () => {
    const emitter = createEmitter<Events>()
    expect(emitter.has('change')).toBe(false)
    const off = emitter.on('change', () => {})
    expect(emitter.has('change')).toBe(true)
    expect(emitter.has('status')).toBe(false)
    off()
    expect(emitter.has('change')).toBe(false)
  })

  test('listened names the events someone listens to now (what a clear or a purge has to notify)', () => {
    const emitter = createEmitter<Events>()
    expect(emitter.listened()).toEqual([])
    const off = emitter.on('change', () => {})
    emitter.on('status', () => {})
    expect(emitter.listened().sort()).toEqual(['change', 'status'])
    off()
    expect(emitter.listened()).toEqual(['status'])
  })

  test('the same function subscribed twice is called twice, and each subscription ends on its own', () => {
    const emitter = createEmitter<Events>()
    const cb = vi.fn()
    const first = emitter.on('change', cb)
    emitter.on('change', cb)
    emitter.emit('change', 1)
    expect(cb).toHaveBeenCalledTimes(2)
    first()
    emitter.emit('change', 2)
    expect(cb).toHaveBeenCalledTimes(3)
  })

  test('clear removes every listener', () => {
    const emitter = createEmitter<Events>()
    const a = vi.fn()
    emitter.on('change', a)
    emitter.on('status', a)
    emitter.clear()
    emitter.emit('change', 1)
    emitter.emit('status', 'x')
    expect(a).not.toHaveBeenCalled()
    expect(emitter.has('change')).toBe(false)
    expect(emitter.has('status')).toBe(false)
  })

  test('a listener that unsubscribes another during emit does not break the loop, and the removed one stays removed', () => {
    const emitter = createEmitter<Events>()
    const seen: string[] = []
    const offB = { call: () => {} }
    emitter.on('change', () => { seen.push('a'); offB.call() })
    offB.call = emitter.on('change', () => { seen.push('b') })
    emitter.on('change', () => { seen.push('c') })
    emitter.emit('change', 1)
    expect(seen[0]).toBe('a')
    expect(seen.at(-1)).toBe('c')
    seen.length = 0
    emitter.emit('change', 2)
    expect(seen).toEqual(['a', 'c'])
  })

  test('a throwing listener does not stop the others, and emit itself does not throw', () => {
    vi.useFakeTimers()
    const emitter = createEmitter<Events>()
    const before = vi.fn()
    const after = vi.fn()
    emitter.on('change', before)
    emitter.on('change', () => { throw new Error('app bug') })
    emitter.on('change', after)
    expect(() => emitter.emit('change', 7)).not.toThrow()
    expect(before).toHaveBeenCalledExactlyOnceWith(7)
    expect(after).toHaveBeenCalledExactlyOnceWith(7)
    vi.clearAllTimers()
  })

  test("the listener's error is rethrown asynchronously, unchanged, so it shows up as an uncaught error", () => {
    vi.useFakeTimers()
    const emitter = createEmitter<Events>()
    const bug = new Error('app bug')
    emitter.on('change', () => { throw bug })
    emitter.emit('change', 1)
    expect(vi.getTimerCount()).toBe(1)
    let rethrown: unknown
    try {
      vi.runAllTimers()
    } catch (err) {
      rethrown = err
    }
    expect(rethrown).toBe(bug)
  })
})
