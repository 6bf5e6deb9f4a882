import { useRef } from 'react'

/** `prev` while it holds the same elements as `next` (Object.is, in order), else `next`. */
export function keepSame<T extends readonly unknown[]>(prev: T | undefined, next: T): T {
  return prev && prev.length === next.length && prev.every((v, i) => Object.is(v, next[i])) ? prev : next
}

/**
 * Like zustand's useShallow, for a selector that returns an array (a tuple of values, a list of ids):
 * the previous array is handed back while every element is the same, so the component does not
 * render again. zustand 5's shallow builds two Maps for every comparison; canvas nodes and edges run
 * their selector on every mouse move of a drag (~600 times a move at 300 nodes), so this is a plain
 * loop instead.
 */
export function useTuple<S, T extends readonly unknown[]>(selector: (state: S) => T): (state: S) => T {
  const prev = useRef<T | undefined>(undefined)
  return (state) => (prev.current = keepSame(prev.current, selector(state)))
}
