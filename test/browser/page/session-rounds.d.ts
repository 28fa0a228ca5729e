// Types of session-rounds.js, for test/order-session.test.ts.
import type { VisitStore } from '../../../src/index.js'

export declare const ROUND_KEYS: {
  theme: { lifetime: 'persistent', serverVisible: true, type: 'string' }
  locale: { lifetime: 'session', serverVisible: true, type: 'string' }
  visits: { lifetime: 'persistent' }
  cart: { lifetime: 'session' }
  scroll: { lifetime: 'tab' }
}

export declare function sessionRounds(o: {
  store: VisitStore<never>
  rounds: number
  random: (n: number) => number
  keepOnLogin: boolean
  valueFor: (key: string, n: number) => unknown
  serverChange: (pick: number, n: number) => Promise<string>
  pause: (kind: number, call: Promise<unknown>) => Promise<void>
  cookieOf: (key: string) => string | undefined
  cookieReads: boolean
  settleMs: number
}): Promise<{ mismatches: string[], purges: number, moves: number }>
