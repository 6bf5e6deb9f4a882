/**
 * Collects items and hands them over once per animation frame, the newest item per key winning.
 * A drag reports every mouse move; when rendering what moves takes longer than a frame (300
 * selected nodes: ~50 ms a render), several moves arrive per frame and each would render the whole
 * canvas again. Batched, a frame renders once, inside requestAnimationFrame, so still before paint.
 */
export function frameBatch<K, V>(apply: (items: V[]) => void, key: (item: V) => K, schedule: (cb: () => void) => unknown) {
  let pending = new Map<K, V>()
  let scheduled = false
  const flush = () => {
    scheduled = false
    if (!pending.size) return
    const items = [...pending.values()]
    pending = new Map()
    apply(items)
  }
  return {
    push(items: V[]) {
      for (const it of items) pending.set(key(it), it)
      if (!scheduled) {
        scheduled = true
        schedule(flush)
      }
    },
    /** Apply what is pending now (before any other change, so changes keep their order). */
    flush,
  }
}
