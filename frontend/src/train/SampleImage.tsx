// An image sample ([H, W], [1, H, W] or [3, H, W] nested lists) drawn as a picture, scaled to its
// own min..max; anything else is written out as before.
import { useEffect, useRef } from 'react'
import { formatSample } from './samples'

/** [channels, height, width] of a sample that is an image, else null. */
export function imageShape(v: unknown): [number, number, number] | null {
  const shape: number[] = []
  for (let x = v; Array.isArray(x); x = x[0]) shape.push(x.length)
  if (shape.length === 2) shape.unshift(1)
  if (shape.length !== 3 || (shape[0] !== 1 && shape[0] !== 3) || shape[1] < 4 || shape[2] < 4) return null
  return shape as [number, number, number]
}

export function Sample({ value, size = 40 }: { value: unknown; size?: number }) {
  const shape = imageShape(value)
  const ref = useRef<HTMLCanvasElement>(null)
  useEffect(() => {
    if (!shape || !ref.current) return
    const [c, h, w] = shape
    const planes = (c === 1 && Array.isArray(value) && !Array.isArray((value as unknown[][])[0]?.[0]) ? [value] : value) as number[][][]
    const flat = planes.flat(2)
    const lo = Math.min(...flat)
    const span = Math.max(...flat) - lo || 1
    const ctx = ref.current.getContext('2d')!
    const img = ctx.createImageData(w, h)
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) {
        const px = (k: number) => Math.round((((planes[k]?.[y]?.[x] ?? lo) - lo) / span) * 255)
        const p = (y * w + x) * 4
        img.data[p] = px(0)
        img.data[p + 1] = px(c === 3 ? 1 : 0)
        img.data[p + 2] = px(c === 3 ? 2 : 0)
        img.data[p + 3] = 255
      }
    ctx.putImageData(img, 0, 0)
  }, [value]) // eslint-disable-line react-hooks/exhaustive-deps
  if (!shape) return <code>{formatSample(value)}</code>
  return <canvas ref={ref} width={shape[2]} height={shape[1]} className="sample-img" style={{ width: size, height: (size * shape[1]) / shape[2] }} title={`image ${shape.join('×')}`} data-testid="sample-image" />
}
