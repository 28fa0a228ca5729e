// Hand-written document.cookie, the cookie baseline: the same attributes visitstore writes for a
// persistent key (400 days, Path=/, SameSite=Lax), URL-encoded values, a read that parses the string.
(() => {
  'use strict'
  const MAX_AGE = 400 * 24 * 3600

  window.bench.define({
    name: 'raw document.cookie',
    ownCookies: 'r_',
    cookiePrefix: 'r_',
    open() {},
    cookieNames: (n) => Array.from({ length: n }, (_, i) => `r_${i}`),
    cookieSet(name, value) {
      document.cookie = `${name}=${encodeURIComponent(value)}; Max-Age=${MAX_AGE}; Path=/; SameSite=Lax`
    },
    cookieGet(name) {
      const head = `${name}=`
      for (const part of document.cookie.split('; ')) {
        if (part.startsWith(head)) return decodeURIComponent(part.slice(head.length))
      }
      return undefined
    },
    close() {},
  })
})()
