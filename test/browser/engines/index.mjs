// The one driver interface the scenarios use, over three engines and three npm drivers.
//
//   engine.name, engine.driver                       'chromium', 'playwright-core 1.65.1'
//   await engine.unavailable({ persistent })          null, or why this engine cannot run here
//   const browser = await engine.launch({ profile })  profile: a folder kept across launches, or undefined; a
//                                                     scenario may add Chromium switches (`args`, replacing FLAGS'
//                                                     switch of the same name), Firefox prefs (`prefs`) or MiniBrowser
//                                                     switches (`args`, ephemeral WebKit launches only)
//   browser.version                                   e.g. 'Chromium 156.0.8078.108'
//   const tab = await browser.newTab()                a tab in the same browser (shared cookies and IndexedDB); the first
//                                                     call may return the window the browser opened with
//   await tab.goto(url); await tab.reload(); await tab.close()
//   await tab.input()                                 real user input (trusted pointerdown and keydown events): a click
//                                                     near the top-left corner and a Shift key press
//   await tab.evaluate(fn, arg)                       runs fn(arg) in the page, awaits a returned promise, gives back JSON
//                                                     (undefined may come back as null: WebDriver has no undefined)
//   await tab.cookies()                               the browser's own jar for the tab's URL: [{ name, value, session,
//                                                     expires }] (expires: seconds since the epoch, null for a session
//                                                     cookie); an engine whose driver cannot read it has no `cookies`
//   await tab.cdp(method, params)                     Chromium only: a DevTools protocol command (Storage.overrideQuotaForOrigin);
//                                                     other engines have no `cdp`
//   await browser.close()                             a full browser exit (the profile is flushed); kills it if it hangs
//   browser.kill()                                    last resort, synchronous
//
// Every call is bounded by a timeout; a TimeoutError means the browser is unusable.
import { chromium } from './chromium.mjs'
import { firefox } from './firefox.mjs'
import { webkit } from './webkit.mjs'

export const engines = [chromium, firefox, webkit]
