import { describe, expect, test } from 'vitest'
import { createMemoryBackend } from '../../src/tiers/memory.js'

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise
  } catch (err) {
    return err as Error
  }
  throw new Error('expected a rejection')
}

describe('createMemoryBackend', () => {
  test('stores and reads records, undefined for missing keys', async () => {
    const mem = createMemoryBackend()
    await mem.setMany([['a', { v: 1 }], ['b', { v: [2] }]])
    expect(await mem.getMany(['a', 'b', 'missing'])).toEqual([{ v: 1 }, { v: [2] }, undefined])
  })

  test('keeps a copy: changing the object after set does not change the store', async () => {
    const mem = createMemoryBackend()
    const value = { v: { items: ['x'] } }
    await mem.setMany([['cart', value]])
    value.v.items.push('y')
    expect(await mem.getMany(['cart'])).toEqual([{ v: { items: ['x'] } }])
  })

  test('returns copies: mutating what get returns does not change the store', async () => {
    const mem = createMemoryBackend()
    await mem.setMany([['cart', { v: { items: ['x'] } }]])
    const [first] = await mem.getMany(['cart']) as [{ v: { items: string[] } }]
    first.v.items.push('mutated')
    expect(await mem.getMany(['cart'])).toEqual([{ v: { items: ['x'] } }])
  })

  test('keeps what structured clone keeps (Dates, Maps), like IndexedDB', async () => {
    const mem = createMemoryBackend()
    await mem.setMany([['d', { v: new Date(5), m: new Map([['k', 1]]) }]])
    const [raw] = await mem.getMany(['d']) as [{ v: Date, m: Map<string, number> }]
    expect(raw.v).toBeInstanceOf(Date)
    expect(raw.v.getTime()).toBe(5)
    expect(raw.m.get('k')).toBe(1)
  })

  test('rejects a function with DataCloneError and writes none of the batch', async () => {
    const mem = createMemoryBackend()
    await mem.setMany([['a', { v: 'old' }]])
    const err = await rejection(mem.setMany([['a', { v: 'new' }], ['b', { v: { f: () => 1 } }]]))
    expect(err.name).toBe('DataCloneError')
    expect(await mem.getMany(['a', 'b'])).toEqual([{ v: 'old' }, undefined])
  })

  test('delMany removes only the given keys', async () => {
    const mem = createMemoryBackend()
    await mem.setMany([['a', 1], ['b', 2], ['c', 3]])
    await mem.delMany(['a', 'c', 'never-set'])
    expect(await mem.entries()).toEqual([['b', 2]])
  })

  test('update passes the current record (undefined when absent) and stores the result', async () => {
    const mem = createMemoryBackend()
    const seen: unknown[] = []
    await mem.update('n', (raw) => { seen.push(raw); return { v: 1 } })
    await mem.update('n', (raw) => { seen.push(raw); return { v: (raw as { v: number }).v + 1 } })
    expect(seen).toEqual([undefined, { v: 1 }])
    expect(await mem.getMany(['n'])).toEqual([{ v: 2 }])
  })

  test('update hands fn a copy and stores a copy of its result', async () => {
    const mem = createMemoryBackend()
    await mem.setMany([['list', { v: ['a'] }]])
    const result = { v: ['a', 'b'] }
    await mem.update('list', (raw) => { (raw as { v: string[] }).v.push('from-fn'); return result })
    result.v.push('after')
    expect(await mem.getMany(['list'])).toEqual([{ v: ['a', 'b'] }])
  })

  test('update whose fn throws writes nothing and rejects with that error', async () => {
    const mem = createMemoryBackend()
    await mem.setMany([['n', { v: 1 }]])
    const bug = new Error('fn failed')
    expect(await rejection(mem.update('n', () => { throw bug }))).toBe(bug)
    expect(await mem.getMany(['n'])).toEqual([{ v: 1 }])
  })

  test('update whose result cannot be cloned rejects with DataCloneError and keeps the old record', async () => {
    const mem = createMemoryBackend()
    await mem.setMany([['n', { v: 1 }]])
    expect((await rejection(mem.update('n', () => ({ v: () => 2 })))).name).toBe('DataCloneError')
    expect(await mem.getMany(['n'])).toEqual([{ v: 1 }])
  })

  test('entries lists every record as copies', async () => {
    const mem = createMemoryBackend()
    await mem.setMany([['a', { v: [1] }], ['b', { v: 2 }]])
    const all = await mem.entries()
    expect(all).toEqual([['a', { v: [1] }], ['b', { v: 2 }]])
    ;(all[0]?.[1] as { v: number[] }).v.push(99)
    expect(await mem.getMany(['a'])).toEqual([{ v: [1] }])
  })

  test('two backends do not share records', async () => {
    const one = createMemoryBackend()
    const two = createMemoryBackend()
    await one.setMany([['a', 1]])
    expect(await two.getMany(['a'])).toEqual([undefined])
  })

  test('rewrite keeps, deletes or replaces each record and resolves to the deleted keys', async () => {
    const mem = createMemoryBackend()
    await mem.setMany([['keep', { v: 1 }], ['drop', { v: 2 }], ['swap', { v: 3 }]])
    const dropped = await mem.rewrite((raw) => {
      const { v } = raw as { v: number }
      return v === 1 ? undefined : v === 2 ? null : { v: 30 }
    })
    expect(dropped).toEqual(['drop'])
    expect(await mem.entries()).toEqual([['keep', { v: 1 }], ['swap', { v: 30 }]])
  })

  test('rewrite hands decide copies, so mutating them changes nothing', async () => {
    const mem = createMemoryBackend()
    await mem.setMany([['a', { v: [1] }]])
    await mem.rewrite((raw) => { (raw as { v: number[] }).v.push(2); return undefined })
    expect(await mem.getMany(['a'])).toEqual([{ v: [1] }])
  })
})
