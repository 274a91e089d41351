// "Copy link" on a message: puts the message's absolute address on the clipboard and keeps what
// happened for MessageLinkCopied, which shows (and announces) it for a few seconds. A failure
// keeps the address on screen, to copy by hand, until the next copy.
import { onBeforeUnmount, ref } from 'vue'
import { sharedMessagePath } from '@/router/links'
import { copyText } from '@/utils/clipboard'

export const COPIED_NOTICE_MS = 4000

export interface CopiedLink {
  ok: boolean
  url: string
}

export function useCopyLink() {
  const copied = ref<CopiedLink | null>(null)
  let timer: ReturnType<typeof setTimeout> | null = null

  function clearTimer() {
    if (timer) clearTimeout(timer)
    timer = null
  }
  onBeforeUnmount(clearTimer)

  async function copyLink(room: string, id: number) {
    const url = new URL(sharedMessagePath(room, id), location.origin).href
    const ok = await copyText(url)
    copied.value = { ok, url }
    clearTimer()
    if (ok) timer = setTimeout(() => (copied.value = null), COPIED_NOTICE_MS)
  }

  return { copied, copyLink }
}
