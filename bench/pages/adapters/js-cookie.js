// js-cookie 3 (global `Cookies`), with the same attributes as the raw baseline.
(() => {
  'use strict'
  const attributes = { expires: 400, path: '/', sameSite: 'Lax' }

  window.bench.define({
    name: 'js-cookie',
    ownCookies: 'j_',
    cookiePrefix: 'j_',
    open() {},
    cookieNames: (n) => Array.from({ length: n }, (_, i) => `j_${i}`),
    cookieSet(name, value) { window.Cookies.set(name, value, attributes) },
    cookieGet: (name) => window.Cookies.get(name),
    close() {},
  })
})()
