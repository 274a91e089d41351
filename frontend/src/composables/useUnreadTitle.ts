// The tab title counts unread messages, "(3) chatd", so a reader sees them from another tab.
import { watch, type WatchSource } from 'vue'
import { t } from '@/i18n'

export function unreadTitle(count: number): string {
  return count > 0 ? `(${count}) ${t('app.title')}` : t('app.title')
}

/** Sets `document.title` each time `count` changes. */
export function useUnreadTitle(count: WatchSource<number>): void {
  watch(count, (n) => {
    document.title = unreadTitle(n)
  })
}
