// Byte budgets, brotli-compressed, for what users download: the whole script-tag bundle, and what
// a bundler pulls in for each import (dependencies included, minified; React left out).
import { nodeResolve } from '@rollup/plugin-node-resolve'
import terser from '@rollup/plugin-terser'
import { readFileSync } from 'node:fs'
import { brotliCompressSync, constants } from 'node:zlib'
import { rollup } from 'rollup'

// The budgets hold today's sizes with ~1.5 % headroom. They MISS the targets of issue 11: the
// IIFE was to stay at or under 12,300 B and `import { createStore }` at or under 8,800 B. Splitting
// the session sync out did take its ~2,700 B out of the core import, but the data-safety work of
// issues 12-15 landed in the same code: the cross-tier journal and its replay, the browser-session
// protocol (cookie lock, live-stamp Web Locks, Worker adoption, restamping), the cookie tier's
// sections (burst lock, Cookie Store view, probes, the IndexedDB lock and its shadow), layout 2
// with upgrade and repair, sliced sweeps and declaration changes, request-scoped SSR stores.
// Where the bytes are (marginal brotli per module, core import): cookie tier ~1.9 K, option
// checks ~1.5 K, keys/clear/sweep ~1.1 K, write path ~1.1 K, IndexedDB backend ~1.0 K, the
// journal ~0.5 K, the marker ~0.4 K; error messages (string literals over 24 characters) ~3 K of
// the total. The "Data safety rules" outrank size (shared/DESIGN.md): see the closing note.
// Raised by ~300 B once more (IIFE 18,300 -> 18,600): a tab's writes in call order (a later set
// was overtaken by an earlier cross-tier setMany's cookies, and clear() deleted writes called after
// it: ~200 B) and the cookie short path (a set inside an open burst is written at once: ~70 B; it
// took about half of Firefox's W5 gap), and a burst ended by a message, not a throttled timer (~100 B).
// Raised by ~200 B (IIFE 18,600 -> 18,800; core + session 18,500 -> 18,750): call order for every tier and for reads (a write
// that waited for the session's state or an async validator was overtaken by later calls; an
// update right after a set read the old value; test/order.test.ts, browser r12), with each call
// waiting only for the earlier calls it crosses (a persistent get never waits on the network).
// Raised by 150 B (IIFE 18,800 -> 18,950; core 16,000 -> 16,150; core + session 18,750 -> 18,900):
// a cross-tier batch writes the cookies of earlier batches between the commit mark and its own
// before moving the mark (a tab gone halfway while another tab's batch went on lost its cookies
// for good: rule 3; test/store.test.ts, browser r13). Then by 50 B more (19,000; 16,200; 18,950):
// after a browser restart the replay takes a missing cookie of the newest unmarked batch as lost
// (a killed WebKitGTK deletes a cookie before inserting its new value; rule 3, browser rc).
// Raised by 50 B (19,050; 16,300; 19,000): two tabs' cross-tier batches whose cookie writes crossed
// ended as a mix of both (one's cookie, the other's record); a batch the mark has passed now reads
// the later entries and leaves their keys to them (test/store.test.ts, browser r14); and a failed
// batch's undo takes back only records still its own (`j`, its journal number: another tab's write
// in between was lost).
// Raised by 100 B (19,150; 16,400; 19,100): a Firefox page whose copy of the cookies missed a write
// the page before made as it went away read the older cookie beside the batch's records (rule 3, as
// the reader sees it; browser r6): each section brings the copy to the Cookie Store's values
// (~75 B); and the quota-retry write gate (~20 B).
// Raised by 250 B (19,400; 16,650; 19,350): a set or setMany called before session.end() (or a
// session change this tab applied) that reached storage after its purge outlived the session it
// was called in, cookie and record alike; such a write now loses its session-lifetime part
// (store/write.ts dropPurged; test/session.test.ts). ~200 B measured, the rest is brotli's noise.
// Raised by 150 B (19,550; 16,800; 19,500): two losses of written data. The first session answer's
// purge removed a session cookie the page wrote while waiting for it (~20 B; purges.fresh). A session
// record planned before a move of its liveness key (a login with keepOnLogin, a new browser-session
// stamp) and written after it kept the old key and read as missing (~100 B; purges.moves;
// test/session.test.ts, test/store.test.ts, browser 7c).
// Raised by 100 B (IIFE 19,650; core + session 19,600): an answer to an older session request that
// arrived after a newer one (a slow check asked before a login, answered after the login's refresh;
// or another tab's) switched back to the old session and purged the new one's data. Answers are
// ordered by when their request started (session/sync.ts stale, tick), ~100 B.
// Raised by 600 B (IIFE 20,250; core 17,350; core + session 20,150). ~70 B: a tab that missed a
// session change and learned of it from its own answer purged the new session's cookies; a change
// of state under the same tag removed the session cookies (test/session.test.ts, browser 7i, 7j).
// ~310 B: a clear() in one tab split another tab's cross-tier batch (its cookie kept, its record
// cleared) in most interleavings; clear() is now a journal entry, ordered with the batches
// (store/journal.ts clearAcrossTiers; test/cross-tab.test.ts, test/store.test.ts, browser r16).
// Raised by 250 B (IIFE 20,500; core 17,600; core + session 20,400). ~120 B: a batch interrupted
// halfway brought its session cookie back into a later session, after a browser restart or a purge
// (store/journal.ts purgeInOrder, catchUpAll; browser rc, r18). ~220 B: cookies removed on purpose
// (Clear-Site-Data, a consent tool) came back with the journal's replay, or an older value over a
// later write (WRITTEN, noteWritten: the marks proved on disk; test/store.test.ts, browser r19).
// Raised by 150 B (IIFE 20,650; core 17,750; core + session 20,550): ~115 B: where IndexedDB cannot be
// used, every page load of a synced session removed the session cookies the last page wrote (no
// state saved, so taken for another session's); the state is kept in a session cookie
// (store/session-binding.ts saved; test/session.test.ts, browser 7k).
// Raised by 100 B (IIFE 20,750; core 17,850; core + session 20,650): ~20 B: a get right after an
// update read the value before it (tiers/client.ts: a readwrite transaction ends the read batch;
// test/order.test.ts, browser r12). ~70 B: session writes called after an un-awaited end() were
// purged by it, and reads after it (or after a delete called before it) gave the ended session's
// values (store/session-binding.ts, context.ts endedCookie; test/order-session.test.ts, browser r20).
// Raised by 50 B (IIFE 20,800; core 17,900; core + session 20,700): ~60 B: a page that called
// end() and navigated away at once left the ended session's cookies to the next request; end()
// now removes them in its call (tiers/cookie.ts removeNow; test/order-session.test.ts, browser r21).
// Raised by 150-200 B (IIFE 20,950; core 18,100; core + session 20,900): ~180 B: a page that called
// end() and navigated away at once left the ended session's records readable on the next page (and
// an unheard tab's records written after an end() stayed live): end() gives the marker a new stamp
// and names the ended one in <name>_$x, in its call; tabs follow it (store/session-binding.ts
// endStamp, store/marker.ts followEnd; test/order-session.test.ts, browser r21).
// Raised by 30 B (IIFE 20,980; core 18,130; core + session 20,930), after this stop's cookie set path
// had won 6 B back: ~20 B: a logout page's end() (before its marker was settled) took no new stamp,
// and the page that followed read the ended session's records (browser r23); ~30 B: an end()'s purge
// deleted the records another tab wrote after following it (every liveness key, the new stamp's
// too; store/session-binding.ts endStamp, applyNow; test/order-session.test.ts, browser r24).
// Raised by 30 B (IIFE 21,010; core + session 20,960): ~30 B: end({ server: true }) sent its DELETE
// only after the local purge, so a logout page that navigated away at once left the server session
// alive; it is now sent in the call, as a keepalive request (session/sync.ts end, session/sources.ts
// deleteSession; test/session.test.ts, browser 7o).
// Raised by 80 B (IIFE 21,090; core 18,200; core + session 21,045): two tabs whose end() ran at
// the same moment lost one tab's later writes (browser r25). A tab reads the marker from the
// browser's cookie store, not its copy (Firefox and WebKit kept the losing stamp there for good),
// asking again when its own end() came in between (~40 B); an end() also ends the jar's stamp
// where it differs from its own, and its purge deletes only the stamps ended (~40 B).
// Raised by 50 B (IIFE 21,140; core 18,220; core + session 21,095): calls waiting for a session
// answer that never came stayed pending after close() until the session time-out (10 s), then wrote
// anyway. close() aborts the request under way (session/sync.ts, sources.ts withTimeout, ~30 B) and
// those calls reject STORAGE_UNAVAILABLE (store/marker.ts sessionLive, ~18 B; test/session.test.ts).
// Raised by 340 B (IIFE 21,480; core 18,545; core + session 21,415): a dedicated Worker went on
// writing session records under a stamp a page's end() had ended, which no page reads, and its own
// end() left the session cookies (browser r26; test/store.test.ts). A Worker now follows the stamp
// an end()'s message names, and asks a page to carry out its own end(), waiting for it at most 10 s
// (store/session-binding.ts endByPage, store/marker.ts endAsked, store/watch.ts).
// Raised by 25 B (IIFE 21,505; core 18,560; core + session 21,435): a logout a Worker's session
// sync learnt first left the pages' session cookies for good: the Worker cannot remove them, and
// the pages took the change as applied (browser r27; test/session.test.ts). Its message now says so
// (noJar) and the pages apply it themselves; a Worker does not save the session state.
// Raised by 30 B (IIFE 21,535; core 18,570; core + session 21,475): with a session sync, a tab's
// write called after its own end() and still on its way when another tab's end() of the same
// moment was heard lost its session part (test/session.test.ts); the sync now passes on whether the
// other end() covers this tab's writes (session/sync.ts apply, with its options in one object).
// Raised by 245 B (IIFE 21,780; core 18,815; core + session 21,730): a Worker's clear() resolved
// and left the store's cookies, which a Worker cannot remove (browser r29; test/store.test.ts). A
// page of the browser session now carries it out: the Worker leaves a request record and a message,
// the page that takes the record clears (store/maintenance.ts clearByPage, clearAsked), and both
// Worker calls wait for their page through one helper (store/marker.ts askPage).
// Raised by 50 B (IIFE 21,830; core 18,870; core + session 21,785): two tabs that learnt of a
// logout at the same moment, each from its own answer, both purged, and the later purge took the
// session cookie the other tab wrote once its refresh() resolved (browser r30: records in memory,
// all three engines; test/session.test.ts). A change a tab learnt itself is applied by one tab at
// a time (a Web Lock), and the state it finds saved is read in the cookie section's view, not a
// content process's copy (store/session-binding.ts oneTabAtATime, saved).
// Raised by 45 B (IIFE 21,880; core 18,900; core + session 21,820): a tab's answer to a request
// older than the change another tab was applying (a logout's answer held by the server while bob
// signed in) was applied over it: the state saved for the next page became the older one, and that
// page purged what bob's session wrote (browser r31; test/session.test.ts); with the lock above it
// also took the other tab's cookie. The saved state now carries when its request started, and a
// change older than it is not applied (store/session-binding.ts saved, SessionApply.at).
// Raised by 15 B (IIFE 21,895; core + session 21,835): two tabs' requests of one millisecond
// carried the same time, and where their answers disagreed each tab took the other's as the later
// one: the tabs ended on different sessions (test/session.test.ts). Each tab's request clock adds
// a fraction of a millisecond of its own (session/sync.ts tick).
// Raised by 105 B (IIFE 21,990; core 19,010; core + session 21,935): without the Cookie Store API
// (insecure origins, the IndexedDB lock), a Firefox tab's copy of a cookie went back to the other
// tab's earlier value after two tabs' bursts of update() and kept it, while the browser sent the
// latest (browser n5 failed 3 of 26 runs under load, 2 of the last 5 CI runs; test/cookies.test.ts).
// Half a second after a tab's last cookie write, the keys it wrote are written again with the
// values the lock's record names where the copy shows another (tiers/cookie.ts repairs), not after
// close() (CookieTierOptions.closed).
// Raised by 180 B (IIFE 22,170; core 19,200; core + session 22,120): issue 15's sequential get.
// A get with nothing ahead of it asks for its readonly transaction in the call, and the other
// reads of its tick join that transaction (tiers/idb.ts readNow); before, every get waited about
// five ticks for the read batch's turn. What is ahead is counted (tiers/client.ts createOrder), so
// a get still waits for the writes and calls made before it; a transaction that dies with its
// connection is read again on a new one (test/hardening.test.ts 7b).
// Raised by 190 B (IIFE 22,360; core 19,370; core + session 22,295): in WebKitGTK, right after
// clear() resolved, peek and get of the removed cookie keys read the old values in 2 to 8% of
// cycles (browser c9: 4 and 7 of 200; the page's copy of the jar showed a value from before the
// removal for a moment). For a second after this tab removes a cookie, a copy showing one of the
// values it wrote or replaced just before reads as missing (tiers/cookie.ts createReader own;
// test/cookies.test.ts).
// Raised by 15 B (core + session 22,310; the IIFE and core stay under theirs: 22,342 and 19,369):
// a cold start's first get reads in the transaction the open asked for to check the layout, and is
// answered once its own record is in, not the start-up's other reads (tiers/idb.ts joinable,
// tiers/client.ts; test/coalescing.test.ts).
// Raised by 40 B (IIFE 22,400; core 19,420; core + session 22,340): a read asked for while the
// success event of the read before runs (a loop of awaited gets) joins that read's transaction,
// unless another transaction was asked for since, at most 32 reads a transaction: a sequential
// get costs no transaction of its own (tiers/idb.ts again; test/tiers/backends.test.ts, browser
// r33).
// Raised by 10 B (core 19,430; core + session 22,350; the IIFE stays under its 22,400: 22,376): the
// values a removal hides (above) were all dropped once a key's chain held 256, so in WebKitGTK's c9
// cycle 128 a copy showing the cycle before's value read back (1 of 200, a CI failure). A full chain
// now drops its oldest values, never the ones just replaced (test/cookies.test.ts, "more writes of
// the key than the chain holds").
const budgets = [
  { name: 'dist/visitstore.iife.js (script tag, everything)', limit: 22400, bytes: async () => readFileSync('dist/visitstore.iife.js') },
  { name: "import { createStore } from 'visitstore'", limit: 19430, bytes: () => bundle("export { createStore } from './dist/visitstore.js'") },
  { name: "… plus import { sessionSync } from 'visitstore/session'", limit: 22350, bytes: () => bundle("export { createStore } from './dist/visitstore.js'; export { sessionSync } from './dist/session.js'") },
  { name: "import { useStoreValue } from 'visitstore/react' (without React)", limit: 600, bytes: () => bundle("export { useStoreValue } from './dist/react.js'") },
]

async function bundle(code) {
  const entry = '\0entry'
  const built = await rollup({
    input: entry,
    external: ['react'],
    plugins: [
      { name: 'entry', resolveId: (id) => (id === entry ? id : null), load: (id) => (id === entry ? code : null) },
      nodeResolve({ browser: true }),
      terser(),
    ],
  })
  const { output } = await built.generate({ format: 'es' })
  await built.close()
  return Buffer.from(output[0].code)
}

const brotli = (buf) => brotliCompressSync(buf, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length

let failed = 0
for (const { name, limit, bytes } of budgets) {
  const size = brotli(await bytes())
  const ok = size <= limit
  if (!ok) failed++
  console.log(`${ok ? 'ok  ' : 'OVER'} ${name}: ${size} B brotli (budget ${limit} B)`)
}
if (failed) {
  console.error(`size: ${failed} budget(s) exceeded; make the code smaller or justify a new budget in scripts/size.mjs`)
  process.exit(1)
}
