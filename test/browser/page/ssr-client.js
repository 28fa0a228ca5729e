// The client bundle of browser scenario s1: built by scenarios-ssr.mjs with Vite from this file,
// React and the BUILT visitstore (dist/visitstore.js, dist/react.js; `visitstore` and
// `visitstore/react` are aliased to them), then served as /client.js. Hydrates the server's HTML.
import * as React from 'react'
import { hydrateRoot } from 'react-dom/client'
import { createStore } from 'visitstore'
import { useStoreValue } from 'visitstore/react'
import { makeApp, S1_OPTIONS } from './ssr-app.js'

const store = createStore(S1_OPTIONS)
const App = makeApp(React, useStoreValue)
window.s1 = { store, mounted: false }
hydrateRoot(document.getElementById('root'), React.createElement(App, { store, onMount: () => { window.s1.mounted = true } }), {
  // React reports a hydration mismatch it recovered from here; the page's console capture sees it.
  onRecoverableError: (err) => console.error('recoverable error:', err?.message ?? err),
})
