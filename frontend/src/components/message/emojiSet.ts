// The reactions offered in one click (the toolbar and the phone menu); any other emoji comes from
// the picker (MessageEmojiPicker.vue).
export const QUICK_REACTIONS = ['👍', '❤️', '😂', '🎉', '😮', '😢'] as const
