// Progress goes to stderr, stamped with seconds since start, so stdout holds only the summary.
const t0 = Date.now()

/** Seconds since the bench started, e.g. "12.3". */
export const elapsed = () => ((Date.now() - t0) / 1000).toFixed(1)

export const log = (...a) => process.stderr.write(`[bench ${elapsed()}s] ${a.join(' ')}\n`)
