import { expect, test } from 'vitest'
import { createStore } from '../src/index.js'

test('smoke', async () => {
  const store = createStore<{ theme: string, cart: string[], tab: number }>({ name: 'smoke', keys: {
    theme: { lifetime: 'persistent', serverVisible: true }, cart: { lifetime: 'session' }, tab: { lifetime: 'tab' } } })
  await store.ready
  await store.set('theme', 'dark')
  await store.set('cart', ['a'])
  await store.set('tab', 3)
  expect(document.cookie).toContain('smoke_theme=dark')
  expect(await store.get('cart')).toEqual(['a'])
  expect(store.peek('tab')).toBe(3)
  expect(store.status).toEqual({ indexeddb: 'ok', cookies: 'ok', sessionStorage: 'ok' })
  expect(await store.keys()).toEqual(['cart', 'tab', 'theme'])
  console.log(document.cookie)
})
