import { mount } from '@vue/test-utils'
import { describe, expect, it } from 'vitest'
import MessageText from '@/components/message/MessageText.vue'
import { MAX_NESTING, parseMessage, safeHref } from '../parse'
import { LINK_REL } from '../render'

function render(text: string) {
  return mount(MessageText, { props: { text } })
}

/** The markup inside the component's root (the renderer's elements carry no attributes). */
function html(text: string): string {
  return render(text).element.innerHTML
}

const link = (href: string, label: string) =>
  `<a href="${href}" target="_blank" rel="${LINK_REL}">${label}</a>`

describe('markdown rendering', () => {
  it('renders emphasis, strike and inline code', () => {
    expect(html('**bold** *italic* _also_ ~~gone~~ `x < y`')).toBe(
      '<p><strong>bold</strong> <em>italic</em> <em>also</em> <s>gone</s> <code>x &lt; y</code></p>',
    )
    expect(html('***both***')).toBe('<p><em><strong>both</strong></em></p>')
  })

  it('keeps single line breaks and separates paragraphs', () => {
    expect(html('one\ntwo\n\nthree')).toBe('<p>one<br>two</p><p>three</p>')
  })

  it('renders fenced and indented code as a monospace block, without highlighting', () => {
    expect(html('```js\nconst a = "<b>"\n  indented\n```')).toBe(
      '<pre><code>const a = "&lt;b&gt;"\n  indented</code></pre>',
    )
    expect(html('text\n\n    four spaces\n    more')).toBe(
      '<p>text</p><pre><code>four spaces\nmore</code></pre>',
    )
  })

  it('renders quotes, nested quotes and lists with their start number', () => {
    expect(html('> quoted\n>> deeper')).toBe(
      '<blockquote><p>quoted</p><blockquote><p>deeper</p></blockquote></blockquote>',
    )
    expect(html('- a\n- b\n  1. c\n  2. d')).toBe(
      '<ul><li>a</li><li>b<ol><li>c</li><li>d</li></ol></li></ul>',
    )
    expect(html('3. third\n4. fourth')).toBe('<ol start="3"><li>third</li><li>fourth</li></ol>')
    expect(html('> - quoted item\n>   > quote in it')).toBe(
      '<blockquote><ul><li>quoted item<blockquote><p>quote in it</p></blockquote></li></ul></blockquote>',
    )
  })

  it('shows headings, tables and rules as the text typed', () => {
    expect(html('# not a title')).toBe('<p># not a title</p>')
    expect(html('Title\n===')).toBe('<p>Title<br>===</p>')
    expect(html('a\n\n---\n\n***')).toBe('<p>a</p><p>---</p><p>***</p>')
    expect(html('| a | b |\n| - | - |\n| 1 | 2 |')).toBe(
      '<p>| a | b |<br>| - | - |<br>| 1 | 2 |</p>',
    )
  })

  it('shows HTML as text', () => {
    const wrapper = render('<b>x</b> <script>alert(1)</script>\n\n<div onclick="x()">y</div>')
    expect(wrapper.find('b').exists()).toBe(false)
    expect(wrapper.find('script').exists()).toBe(false)
    expect(wrapper.text()).toContain('<b>x</b> <script>alert(1)</script>')
    expect(wrapper.text()).toContain('<div onclick="x()">y</div>')
  })

  it('renders markdown links, autolinks and bare URLs in a new tab', () => {
    expect(html('[docs](https://example.com/a?b=1#c)')).toBe(
      `<p>${link('https://example.com/a?b=1#c', 'docs')}</p>`,
    )
    expect(html('<https://example.com>')).toBe(
      `<p>${link('https://example.com/', 'https://example.com')}</p>`,
    )
    expect(html('see http://a.example/x, and https://b.example.')).toBe(
      `<p>see ${link('http://a.example/x', 'http://a.example/x')}, and ${link('https://b.example/', 'https://b.example')}.</p>`,
    )
    expect(html('[write](mailto:bob@example.com) or bob@example.com')).toBe(
      `<p>${link('mailto:bob@example.com', 'write')} or ${link('mailto:bob@example.com', 'bob@example.com')}</p>`,
    )
    expect(html('**[bold link](https://x.example)**')).toBe(
      `<p><strong>${link('https://x.example/', 'bold link')}</strong></p>`,
    )
  })

  it('keeps balanced parentheses and underscores in bare URLs', () => {
    expect(html('https://en.wikipedia.org/wiki/C_(language)')).toBe(
      `<p>${link('https://en.wikipedia.org/wiki/C_(language)', 'https://en.wikipedia.org/wiki/C_(language)')}</p>`,
    )
  })

  it('does not link file names or schemeless hosts', () => {
    expect(html('README.md main.py www.example.com 127.0.0.1')).toBe(
      '<p>README.md main.py www.example.com 127.0.0.1</p>',
    )
  })

  it('leaves links of any other scheme as the text typed', () => {
    for (const text of [
      '[x](javascript:alert(1))',
      '[x](JaVaScRiPt:alert(1))',
      '[x](java&#x09;script:alert(1))',
      '[x](vbscript:msgbox(1))',
      '[x](data:text/html,hi)',
      '[x](file:///etc/passwd)',
      '[x](ftp://example.com/)',
      '[x](/relative)',
      '[x](//example.com/protocol-relative)',
      '[x](relative/path)',
      '<javascript:alert(1)>',
      'javascript:alert(1)',
      'ftp://example.com',
    ]) {
      const wrapper = render(text)
      expect(wrapper.find('a').exists(), text).toBe(false)
      expect(wrapper.text(), text).not.toBe('')
    }
  })

  it('shows an image as a link to it, labelled with its alt text, never loading it', () => {
    expect(html('![a cat](https://example.com/cat.png)')).toBe(
      `<p>${link('https://example.com/cat.png', 'a cat')}</p>`,
    )
    expect(html('![](https://example.com/cat.png)')).toBe(
      `<p>${link('https://example.com/cat.png', 'https://example.com/cat.png')}</p>`,
    )
    const data = render('![x](data:image/png;base64,iVBORw0KGgo=)')
    expect(data.find('img').exists()).toBe(false)
    expect(data.find('a').exists()).toBe(false)
    expect(data.text()).toBe('![x](data:image/png;base64,iVBORw0KGgo=)')
  })

  it('keeps a long code line on one line (the block scrolls)', () => {
    const line = 'x'.repeat(3_000)
    const wrapper = render('```\n' + line + '\n```')
    expect(wrapper.get('pre code').text()).toBe(line)
  })

  it('renders a 4,000-character message completely', () => {
    const words = Array.from({ length: 500 }, (_, i) => `w${String(i).padStart(4, '0')}`)
    const text = `**${words.join(' ')}**`.padEnd(4_000, '.')
    expect(text).toHaveLength(4_000)
    const wrapper = render(text)
    expect(wrapper.get('strong').text()).toBe(words.join(' '))
    expect(wrapper.text()).toBe(text.replaceAll('**', ''))
  })

  it('shows a message nested past the limit as plain text, losing nothing', () => {
    const deep = `${'>'.repeat(MAX_NESTING + 5)} bottom`
    expect(parseMessage(deep).kind).toBe('plain')
    expect(html(deep)).toBe(`<p>${'&gt;'.repeat(MAX_NESTING + 5)} bottom</p>`)
    const shallow = `${'>'.repeat(5)} bottom`
    expect(parseMessage(shallow).kind).toBe('markdown')
    expect(render(shallow).findAll('blockquote')).toHaveLength(5)
  })

  it('updates when the text changes (an edit)', async () => {
    const wrapper = render('**old**')
    await wrapper.setProps({ text: '_new_' })
    expect(wrapper.element.innerHTML).toBe('<p><em>new</em></p>')
  })
})

describe('safeHref', () => {
  it('accepts absolute http, https and mailto URLs, normalised', () => {
    expect(safeHref('https://ok.example')).toBe('https://ok.example/')
    expect(safeHref('HTTP://OK.example/A')).toBe('http://ok.example/A')
    expect(safeHref('mailto:a@b.example')).toBe('mailto:a@b.example')
  })

  it('refuses every other scheme, however disguised', () => {
    for (const url of [
      'javascript:alert(1)',
      ' JavaScript:alert(1)',
      'java\tscript:alert(1)',
      'java\nscript:alert(1)',
      '\u0000javascript:alert(1)',
      'vbscript:x',
      'data:text/html,x',
      'file:///etc/passwd',
      'blob:https://ok.example/x',
      '//ok.example',
      '/relative',
      'http:',
      'https://',
      '',
    ]) {
      expect(safeHref(url), JSON.stringify(url)).toBeNull()
    }
  })
})
