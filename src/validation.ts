/**
 * The Standard Schema interface (standardschema.dev), which zod, valibot and arktype implement:
 * visitstore accepts any of them as a key's `validate` without depending on one.
 * @example import { z } from 'zod'; keys: { prefs: { lifetime: 'persistent', validate: z.object({ compact: z.boolean() }) } }
 */
export interface StandardSchemaV1<Input = unknown, Output = Input> {
  readonly '~standard': {
    readonly version: 1
    readonly vendor: string
    readonly validate: (value: unknown) => StandardResult<Output> | Promise<StandardResult<Output>>
    readonly types?: { readonly input: Input, readonly output: Output } | undefined
  }
}

/** What a Standard Schema's `validate` answers: the (possibly transformed) value, or issues. */
export type StandardResult<Output> =
  | { readonly value: Output, readonly issues?: undefined }
  | { readonly issues: readonly { readonly message: string, readonly path?: readonly unknown[] | undefined }[] }

/** A validation's outcome: the value to use, or why it was refused. */
export type Checked = { ok: true, value: unknown } | { ok: false, reason: string }

/** Whether `schema` looks like a Standard Schema (checked once, at createStore). */
export function isStandardSchema(schema: unknown): schema is StandardSchemaV1 {
  const std = (schema as { '~standard'?: { validate?: unknown } } | null)?.['~standard']
  return typeof std === 'object' && std !== null && typeof std.validate === 'function'
}

function toChecked(result: StandardResult<unknown>): Checked {
  if (!result.issues) return { ok: true, value: result.value }
  const reason = result.issues.map((i) => (i.path?.length ? `${i.path.map(String).join('.')}: ${i.message}` : i.message)).join('; ')
  return { ok: false, reason: reason || 'the validator refused it' }
}

/**
 * Runs a key's validator. Synchronous validators answer synchronously, so reads that must not
 * wait (`peek`, `update` inside its transaction) can use them; async ones answer a Promise.
 */
export function validate(schema: StandardSchemaV1 | undefined, value: unknown): Checked | Promise<Checked> {
  if (!schema) return { ok: true, value }
  let result: StandardResult<unknown> | Promise<StandardResult<unknown>>
  try {
    result = schema['~standard'].validate(value)
  } catch (err) {
    return { ok: false, reason: `the validator threw: ${err instanceof Error ? err.message : String(err)}` }
  }
  return result instanceof Promise ? result.then(toChecked, (err: unknown) => ({ ok: false, reason: `the validator threw: ${String(err)}` })) : toChecked(result)
}
