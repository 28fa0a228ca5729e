// Runs before the bundle. `?skew=<ms>` moves this page's clock (Date.now, new Date()) by that
// many milliseconds, as a user's wrong system clock would: the scenarios about clock skew use it
// in every engine, without driver support.
(() => {
  const skew = Number(new URLSearchParams(location.search).get('skew') || 0)
  if (!skew) return
  const RealDate = Date
  const now = () => RealDate.now() + skew
  class SkewedDate extends RealDate {
    constructor(...args) {
      super(...(args.length ? args : [now()]))
    }
    static now() { return now() }
  }
  window.Date = SkewedDate
})()
