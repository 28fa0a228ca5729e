import { describe, expect, test } from 'vitest'
import { isStandardSchema, validate, type StandardSchemaV1 } from '../src/validation.js'

const schema = (check: (v: unknown) => boolean, message = 'nope'): StandardSchemaV1 => ({
  '~standard': { version: 1, vendor: 'test', validate: (v) => (check(v) ? { value: v } : { issues: [{ message, path: ['a', 0] }] }) },
})

describe('validate', () => {
  test('no schema accepts the value as it is', () => {
    expect(validate(undefined, 5)).toEqual({ ok: true, value: 5 })
  })

  test('a synchronous schema answers synchronously, with the (possibly transformed) value or the issues and their paths', () => {
    const trimmed: StandardSchemaV1 = { '~standard': { version: 1, vendor: 't', validate: (v) => ({ value: String(v).trim() }) } }
    expect(validate(trimmed, '  x ')).toEqual({ ok: true, value: 'x' })
    expect(validate(schema(() => false, 'too big'), 1)).toEqual({ ok: false, reason: 'a.0: too big' })
  })

  test('an async schema answers a promise', async () => {
    const later: StandardSchemaV1 = { '~standard': { version: 1, vendor: 't', validate: async (v) => (v === 1 ? { value: v } : { issues: [{ message: 'not one' }] }) } }
    const ok = validate(later, 1)
    expect(ok).toBeInstanceOf(Promise)
    expect(await ok).toEqual({ ok: true, value: 1 })
    expect(await validate(later, 2)).toEqual({ ok: false, reason: 'not one' })
  })

  test('a schema that throws refuses the value instead of throwing into the app', async () => {
    const throws: StandardSchemaV1 = { '~standard': { version: 1, vendor: 't', validate: () => { throw new Error('bug') } } }
    expect(validate(throws, 1)).toEqual({ ok: false, reason: 'the validator threw: bug' })
    const rejects: StandardSchemaV1 = { '~standard': { version: 1, vendor: 't', validate: () => Promise.reject(new Error('later bug')) } }
    expect(await validate(rejects, 1)).toMatchObject({ ok: false, reason: expect.stringMatching(/later bug/) })
  })
})

describe('isStandardSchema', () => {
  test('recognises the ~standard interface only', () => {
    expect(isStandardSchema(schema(() => true))).toBe(true)
    for (const other of [null, undefined, {}, { '~standard': {} }, { '~standard': { validate: 1 } }, () => true]) expect(isStandardSchema(other)).toBe(false)
  })
})
