// Turns markdown-it's tokens into Vue VNodes. Invariants (what makes this safe):
// - the only elements are the fixed tags below, never a tag name taken from a token;
// - the only attributes are href/target/rel on links (href through safeHref) and start on
//   ordered lists (an integer); nothing else of a token is copied to an attribute;
// - every other piece of text, whatever the token, becomes a text node (a mention the server
//   listed is a text node inside a <span class="mention">, a fixed class).
// So nothing a sender writes reaches the DOM as markup, and no HTML string is ever parsed.
import { h, type VNodeArrayChildren } from 'vue'
import type { Token } from 'markdown-it'
import { parseMessage, safeHref, type ParsedMessage } from './parse'
import { splitMentions, type MentionMarks } from './mentions'

/** A link opens in a new tab, without giving it this page, a referrer or our endorsement. */
export const LINK_REL = 'noopener noreferrer nofollow ugc'

/** An open element of the tree being built; `tag: null` keeps its children and drops it. */
interface Frame {
  tag: string | null
  props: Record<string, string | number> | null
  children: VNodeArrayChildren
}

/** A token's attribute as a string ('' when absent). */
function attribute(token: Token, name: string): string {
  return String(token.attrGet(name) ?? '')
}

function linkProps(href: string): Record<string, string> {
  return { href, target: '_blank', rel: LINK_REL }
}

function openFrame(token: Token): Frame {
  const frame = (tag: string | null, props: Frame['props'] = null): Frame => ({
    tag,
    props,
    children: [],
  })
  switch (token.type) {
    case 'paragraph_open':
      // The paragraphs of a tight list are hidden: their text sits in the <li> directly.
      return frame(token.hidden ? null : 'p')
    case 'blockquote_open':
      return frame('blockquote')
    case 'bullet_list_open':
      return frame('ul')
    case 'ordered_list_open': {
      const start = Number(token.attrGet('start') ?? 1)
      return frame('ol', Number.isSafeInteger(start) && start !== 1 ? { start } : null)
    }
    case 'list_item_open':
      return frame('li')
    case 'strong_open':
      return frame('strong')
    case 'em_open':
      return frame('em')
    case 's_open':
      return frame('s')
    case 'link_open': {
      const href = safeHref(attribute(token, 'href'))
      return href ? frame('a', linkProps(href)) : frame(null)
    }
    default:
      // A construct this renderer does not know: its content still shows, as text.
      return frame(null)
  }
}

function textWithMentions(text: string, marks: MentionMarks | undefined): VNodeArrayChildren {
  if (!marks) return [text]
  return splitMentions(text, marks).map((piece) =>
    typeof piece === 'string'
      ? piece
      : h('span', { class: piece.me ? 'mention mention-me' : 'mention' }, piece.mention),
  )
}

function leaf(token: Token, marks: MentionMarks | undefined): VNodeArrayChildren {
  switch (token.type) {
    case 'inline':
      return renderTokens(token.children ?? [], marks)
    case 'text':
      return textWithMentions(token.content, marks)
    case 'softbreak':
    case 'hardbreak':
      return [h('br')]
    case 'code_inline':
      return [h('code', token.content)]
    case 'code_block':
    case 'fence':
      // No highlighting: the language after ``` is ignored. The block's final newline is not
      // a line of its own.
      return [h('pre', [h('code', token.content.replace(/\n$/, ''))])]
    case 'image': {
      // Images are never loaded: one shows as a link to its URL, labelled with its alt text.
      const src = safeHref(attribute(token, 'src'))
      const label = token.content || attribute(token, 'src')
      return src ? [h('a', linkProps(src), label)] : [label]
    }
    default:
      return token.content ? [token.content] : []
  }
}

function close(frame: Frame, parent: Frame): void {
  if (frame.tag) parent.children.push(h(frame.tag, frame.props, frame.children))
  else parent.children.push(...frame.children)
}

/**
 * Builds the VNodes of a token stream (block tokens, or the children of an inline one), marking
 * the mentions `marks` lists.
 */
export function renderTokens(tokens: Token[], marks?: MentionMarks): VNodeArrayChildren {
  const root: Frame = { tag: null, props: null, children: [] }
  const stack: Frame[] = [root]
  for (const token of tokens) {
    if (token.nesting === 1) {
      stack.push(openFrame(token))
    } else if (token.nesting === -1) {
      const frame = stack.pop()
      // markdown-it balances its tokens; a stray close is ignored rather than closing the root.
      if (!frame || stack.length === 0) {
        stack.push(root)
        continue
      }
      close(frame, stack[stack.length - 1]!)
    } else {
      stack[stack.length - 1]!.children.push(...leaf(token, marks))
    }
  }
  while (stack.length > 1) close(stack.pop()!, stack[stack.length - 1]!)
  return root.children
}

export function renderParsed(parsed: ParsedMessage, marks?: MentionMarks): VNodeArrayChildren {
  return parsed.kind === 'markdown'
    ? renderTokens(parsed.tokens, marks)
    : [h('p', textWithMentions(parsed.text, marks))]
}

/** The VNodes of a message's text. */
export function renderMessage(text: string, marks?: MentionMarks): VNodeArrayChildren {
  return renderParsed(parseMessage(text), marks)
}
