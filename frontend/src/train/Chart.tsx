// A small uPlot wrapper: re-creates the plot when the series change, else just sets data.
import { useEffect, useRef } from 'react'
import uPlot from 'uplot'
import 'uplot/dist/uPlot.min.css'

/** `scatter`: points only, no line (predicted against true) */
export type SeriesSpec = { label: string; stroke: string; width?: number; dash?: number[]; points?: boolean; fill?: string; scatter?: boolean }

const AXIS = { stroke: '#8690a5', grid: { stroke: 'rgba(255,255,255,0.06)', width: 1 }, ticks: { stroke: 'rgba(255,255,255,0.12)', width: 1 }, font: '11px system-ui' }

export function Chart({
  data,
  series,
  height = 170,
  xLabel,
  logY = false,
  yRange,
  wholeX = true,
  testid,
}: {
  data: uPlot.AlignedData
  series: SeriesSpec[]
  height?: number
  xLabel?: string
  logY?: boolean
  yRange?: [number, number]
  /** x ticks at whole numbers only (steps, epochs); false for a value axis */
  wholeX?: boolean
  testid?: string
}) {
  const box = useRef<HTMLDivElement>(null)
  const plot = useRef<uPlot | null>(null)
  const key = JSON.stringify([series, logY, yRange, xLabel, height, wholeX])
  const dataRef = useRef(data)
  dataRef.current = data

  useEffect(() => {
    const el = box.current
    if (!el) return
    const width = Math.max(200, el.clientWidth)
    const opts: uPlot.Options = {
      width,
      height,
      legend: { show: true, live: false },
      cursor: { drag: { x: true, y: false }, points: { size: 5 } },
      scales: { x: { time: false }, y: logY ? { distr: 3 } : yRange ? { range: yRange } : {} },
      axes: [
        {
          ...AXIS,
          label: xLabel,
          labelSize: 14,
          labelFont: '11px system-ui',
          size: xLabel ? 36 : 28,
          // whole numbers only on step and epoch axes
          incrs: wholeX ? [1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10000, 20000, 50000, 100000, 200000, 500000, 1e6] : undefined,
        },
        { ...AXIS, size: 46 },
      ],
      series: [
        { label: xLabel ?? 'x' },
        ...series.map((s) => ({
          label: s.label,
          stroke: s.stroke,
          width: s.width ?? 1.5,
          dash: s.dash,
          fill: s.fill,
          spanGaps: true,
          points: { show: s.points ?? s.scatter ?? false, size: s.scatter ? 5 : 4, fill: s.stroke },
          ...(s.scatter ? { paths: () => null } : {}),
        })),
      ],
    }
    const u = new uPlot(opts, dataRef.current, el)
    plot.current = u
    const ro = new ResizeObserver(() => {
      const w = Math.max(200, el.clientWidth)
      if (Math.abs(w - u.width) > 2) u.setSize({ width: w, height })
    })
    ro.observe(el)
    return () => {
      ro.disconnect()
      u.destroy()
      plot.current = null
    }
  }, [key]) // eslint-disable-line react-hooks/exhaustive-deps

  useEffect(() => {
    plot.current?.setData(data)
  }, [data])

  return <div className="chart" ref={box} data-testid={testid} data-points={data[0]?.length ?? 0} />
}
