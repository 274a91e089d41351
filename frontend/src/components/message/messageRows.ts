// Turns a room's items into rows for display: day separators where the local day changes, and
// "grouped" messages (same author, a few minutes apart, nothing in between).
import type { TimelineItem } from '@/stores/messagesReducer'
import { dayKey } from '@/utils/time'

export const GROUP_WINDOW_MS = 5 * 60 * 1000

export type MessageRow =
  | { type: 'day'; key: string; ts: number }
  | { type: 'item'; key: string; item: TimelineItem; grouped: boolean }

export function buildRows(items: readonly TimelineItem[]): MessageRow[] {
  const rows: MessageRow[] = []
  let previous: TimelineItem | null = null
  for (const item of items) {
    const day = dayKey(item.ts)
    if (!previous || dayKey(previous.ts) !== day) {
      rows.push({ type: 'day', key: `d:${day}`, ts: item.ts })
      previous = null
    }
    const grouped =
      previous !== null &&
      item.kind === 'text' &&
      previous.kind === 'text' &&
      previous.user_name === item.user_name &&
      previous.status !== 'failed' &&
      item.ts - previous.ts < GROUP_WINDOW_MS
    rows.push({ type: 'item', key: item.key, item, grouped })
    previous = item
  }
  return rows
}
