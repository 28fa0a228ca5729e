// The script-tag build: everything on the global `VisitStore`.
export { createStore } from './store.js'
export { sessionSync } from './session/sync.js'
export { VisitStoreError } from './errors.js'
