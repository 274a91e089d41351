// "Last seen 5 minutes ago", in the current UI language (Intl.RelativeTimeFormat).

const STEPS: ReadonlyArray<[Intl.RelativeTimeFormatUnit, number]> = [
  ['second', 60],
  ['minute', 60],
  ['hour', 24],
  ['day', 30],
  ['month', 12],
  ['year', Infinity],
]

/** How long ago `ts` was, e.g. "5 minutes ago" / "il y a 5 minutes"; "now" within a minute. */
export function timeAgo(ts: number, locale: string, now: number = Date.now()): string {
  const format = new Intl.RelativeTimeFormat(locale, { numeric: 'auto' })
  let amount = Math.max(0, Math.round((now - ts) / 1000))
  if (amount < 60) return format.format(0, 'second')
  for (const [unit, size] of STEPS) {
    if (amount < size) return format.format(-amount, unit)
    amount = Math.round(amount / size)
  }
  return format.format(-amount, 'year')
}
