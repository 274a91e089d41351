// The tab title names the open room and counts unread messages, "(3) #general · chatd", so a
// reader sees both from another tab (and in the browser's history and bookmarks). Mentions of
// the reader come first, "(@1 · 3) #general · chatd": they are what a glance at a tab is for.
import { onBeforeUnmount, toValue, watch, type MaybeRefOrGetter } from 'vue'
import { locale, t } from '@/i18n'

export function unreadTitle(count: number, room = '', mentions = 0): string {
  const title = room ? t('app.roomTitle', { room }) : t('app.title')
  if (mentions > 0) return `(@${mentions} · ${Math.max(count, mentions)}) ${title}`
  return count > 0 ? `(${count}) ${title}` : title
}

/** Sets `document.title` now and each time the counts, the room or the language change. */
export function useUnreadTitle(
  count: MaybeRefOrGetter<number>,
  room: MaybeRefOrGetter<string> = '',
  mentions: MaybeRefOrGetter<number> = 0,
): void {
  // 'post': after App's own title update on a language change.
  watch(
    [() => toValue(count), () => toValue(room), () => toValue(mentions), locale],
    ([n, name, m]) => {
      document.title = unreadTitle(n, name, m)
    },
    { immediate: true, flush: 'post' },
  )
  onBeforeUnmount(() => {
    document.title = t('app.title')
  })
}
