// The settings that differ between runs (their stored configs, flattened to dotted keys), for the
// side-by-side comparison. Pure.

function flatten(v: unknown, prefix: string, out: Record<string, string>) {
  if (v && typeof v === 'object' && !Array.isArray(v)) {
    for (const [k, x] of Object.entries(v)) flatten(x, prefix ? `${prefix}.${k}` : k, out)
  } else out[prefix] = JSON.stringify(v)
}

/** Each key whose value is not the same in every config, with each config's value ('–' where absent). */
export function settingsDiff(configs: unknown[]): { key: string; values: string[] }[] {
  const flat = configs.map((c) => {
    const out: Record<string, string> = {}
    flatten(c, '', out)
    return out
  })
  const keys = [...new Set(flat.flatMap((f) => Object.keys(f)))].sort()
  return keys.flatMap((key) => {
    const values = flat.map((f) => f[key] ?? '–')
    return values.every((v) => v === values[0]) ? [] : [{ key, values }]
  })
}
