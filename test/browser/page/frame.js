// The test frame's side of vt-in-a-frame: the parent page posts { id, fn, arg } (fn: a function's
// source text), the frame runs fn(arg) and posts back { id, result } or { id, thrown }. A
// sandboxed or cross-site frame cannot be scripted from its parent directly; messages cross both.
window.addEventListener('message', async (event) => {
  const { id, fn, arg } = event.data ?? {}
  if (typeof id !== 'string' || typeof fn !== 'string') return
  let reply
  try {
    reply = { id, result: await new Function(`return (${fn})`)()(arg) }
  } catch (err) {
    reply = { id, thrown: `${err?.name}: ${err?.message ?? err}` }
  }
  event.source.postMessage(reply, '*')
})
