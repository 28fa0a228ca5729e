// Every test file gets a fresh in-memory IndexedDB as the global `indexedDB`.
import 'fake-indexeddb/auto'
