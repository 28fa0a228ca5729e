// Assertions shared by the scenario files: each throws an Error whose message names what was
// checked, what was expected and what came back (shortened), which is the scenario's FAIL line.
import { isDeepStrictEqual } from 'node:util'
import { sleep } from './util.mjs'

/** What page code sends instead of undefined (WebDriver has none): see vt.u() in page/helpers.js. */
export const UNDEF = '(undefined)'

export function show(value) {
  const text = value === undefined ? 'undefined' : JSON.stringify(value)
  return text.length > 160 ? `${text.slice(0, 157)}...` : text
}

export function eq(actual, expected, what) {
  if (!isDeepStrictEqual(actual, expected)) throw new Error(`${what}: expected ${show(expected)}, got ${show(actual)}`)
}

export function ok(condition, what, detail) {
  if (!condition) throw new Error(detail === undefined ? what : `${what} (${show(detail)})`)
}

/** Throws if a page-side vt.attempt() result is a failure, naming the error. */
export function succeeded(result, what) {
  if (!result.ok) throw new Error(`${what} was rejected: ${result.error.code ?? result.error.name}: ${result.error.message}`)
}

/**
 * Evaluates `fn(arg)` in `tab` until it returns something truthy, and returns that; fails after
 * `ms` with `what` and the last value seen. For things another tab causes asynchronously. (Not a
 * TimeoutError: the browser answered, so the runner need not relaunch it.)
 */
export async function until(tab, fn, arg, what, ms = 5000, every = 50) {
  const end = Date.now() + ms
  let last
  for (;;) {
    last = await tab.evaluate(fn, arg)
    if (last && last !== UNDEF) return last
    if (Date.now() > end) throw new Error(`${what}: not seen within ${ms} ms (last: ${show(last)})`)
    await sleep(every)
  }
}
