// The demo's store definition: one module for the page (app.js creates its store from it) and the
// server (server.mjs reads the theme cookie with it through visitstore/server's readCookies), so
// both sides read the same cookies the same way.

const DAY = 24 * 60 * 60

/**
 * The store's name and keys: what each value is. visitstore derives where it lives from this alone.
 * @example VisitStore.createStore({ ...shopOptions, session: VisitStore.sessionSync({ endpoint: '/session' }) })
 */
export const shopOptions = {
  name: 'shop',
  keys: {
    theme: { lifetime: 'persistent', serverVisible: true, maxAge: 365 * DAY },
    locale: { lifetime: 'session', serverVisible: true },
    cart: { lifetime: 'session' },
    draft: { lifetime: 'persistent', ttl: 7 * DAY },
    scroll: { lifetime: 'tab' },
  },
}
