// The tab title names the open room and counts unread messages, "(3) #general · chatd", so a
// reader sees both from another tab (and in the browser's history and bookmarks).
import { onBeforeUnmount, toValue, watch, type MaybeRefOrGetter } from 'vue'
import { locale, t } from '@/i18n'

export function unreadTitle(count: number, room = ''): string {
  const title = room ? t('app.roomTitle', { room }) : t('app.title')
  return count > 0 ? `(${count}) ${title}` : title
}

/** Sets `document.title` now and each time the count, the room or the language changes. */
export function useUnreadTitle(
  count: MaybeRefOrGetter<number>,
  room: MaybeRefOrGetter<string> = '',
): void {
  // 'post': after App's own title update on a language change.
  watch(
    [() => toValue(count), () => toValue(room), locale],
    ([n, name]) => {
      document.title = unreadTitle(n, name)
    },
    { immediate: true, flush: 'post' },
  )
  onBeforeUnmount(() => {
    document.title = t('app.title')
  })
}
