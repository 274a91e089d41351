// Dates in the reader's own time zone (the browser's), in the current UI language.

/** `YYYY-M-D` of the local calendar day; equal keys mean the same local day. */
export function dayKey(ts: number): string {
  const d = new Date(ts)
  return `${d.getFullYear()}-${d.getMonth() + 1}-${d.getDate()}`
}

export function formatTime(ts: number, locale: string): string {
  return new Intl.DateTimeFormat(locale, { hour: '2-digit', minute: '2-digit' }).format(ts)
}

/** Full date and time, for the tooltip and the <time> element's title. */
export function formatDateTime(ts: number, locale: string): string {
  return new Intl.DateTimeFormat(locale, { dateStyle: 'full', timeStyle: 'medium' }).format(ts)
}

/** 'today' / 'yesterday' / a date label for a day separator. */
export function dayLabel(
  ts: number,
  locale: string,
  now: number = Date.now(),
): { relative: 'today' | 'yesterday' | null; label: string } {
  const key = dayKey(ts)
  if (key === dayKey(now)) return { relative: 'today', label: '' }
  const yesterday = new Date(now)
  yesterday.setDate(yesterday.getDate() - 1)
  if (key === dayKey(yesterday.getTime())) return { relative: 'yesterday', label: '' }
  const sameYear = new Date(ts).getFullYear() === new Date(now).getFullYear()
  const label = new Intl.DateTimeFormat(locale, {
    weekday: 'long',
    day: 'numeric',
    month: 'long',
    ...(sameYear ? {} : { year: 'numeric' }),
  }).format(ts)
  return { relative: null, label }
}
