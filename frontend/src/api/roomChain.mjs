// @ts-check
// A room's resync mark, kept by the chain of ids the server gives every message (`prev_id`: the
// room's previous message). Two chatd nodes publish independently, so a client can get a newer
// id live before an older one of the same room; if it then resyncs from the highest id it saw
// (`?after=`), the older one is lost for it. The mark is therefore the highest id up to which
// the chain has no hole (since the room's baseline):
//
// * a history page is contiguous by construction (`?after=X` returns every id above X in order,
//   the latest page every id above its first one), so it moves the mark to its last id, or
//   further to its `as_of` by the rule of pageMark() below (change rows are chain entries too);
// * a live message whose prev_id is at or below the mark moves the mark to its id, and then any
//   message already received that continues the chain;
// * a live message whose prev_id is above the mark leaves a hole: it is kept (and displayed)
//   but the mark stays, until a page or the missing message fills the hole.
//
// Messages without prev_id (a server older than the chain) move the mark to the highest id seen
// once the room is not syncing, as before.
//
// One module for every client: the web client imports it (its types come from the JSDoc below,
// checked by vue-tsc), and so do the Node clients of backend/tests (the chaos client and the
// cluster test) as it is, with no build step. Plain JavaScript for that reason.

/** How long a hole may stay open before the client fetches `?after=<mark>` by itself. */
export const HOLE_REPAIR_DELAY_MS = 1500

export class RoomChain {
  #mark = 0
  #based = false
  /** @type {Map<number, number>} Live messages above the mark: prev_id → id. */
  #ahead = new Map()
  /** Highest live id without a prev_id, applied by settle(). */
  #unchained = 0

  /** The highest id with no hole below it (since the baseline). */
  get mark() {
    return this.#mark
  }

  /** A first page (the baseline) has been received. */
  get based() {
    return this.#based
  }

  /** Some message above the mark arrived whose predecessor did not. */
  get hasHole() {
    return this.#ahead.size > 0
  }

  /**
   * A history page, contiguous up to `lastId` (its last id, or the mark it was asked after).
   * @param {number} lastId
   */
  page(lastId) {
    this.#based = true
    if (lastId > this.#mark) this.#mark = lastId
    this.#absorb()
  }

  /**
   * A live message.
   * @param {number} id
   * @param {number | null | undefined} prevId absent from a server older than the chain
   */
  live(id, prevId) {
    if (id <= this.#mark) return
    if (prevId === undefined || prevId === null) {
      this.#unchained = Math.max(this.#unchained, id)
      return
    }
    this.#ahead.set(prevId, id)
    this.#absorb()
  }

  /**
   * A history page by the mark rule of pageMark(). Returns the mark.
   * @param {'latest' | 'after' | 'before'} direction
   * @param {{ messages: { id: number }[], has_more: boolean, as_of?: number }} page
   * @param {number} [after] the id the page was asked after (direction 'after')
   */
  history(direction, page, after = 0) {
    const mark = pageMark(direction, page, after)
    if (mark !== null) this.page(mark)
    return this.#mark
  }

  /** Applies ids without prev_id; call when the room is not syncing. */
  settle() {
    if (this.#unchained > this.#mark) this.#mark = this.#unchained
    this.#unchained = 0
    this.#absorb()
  }

  /** Moves the mark along every received message that continues the chain. */
  #absorb() {
    let moved = true
    while (moved) {
      moved = false
      for (const [prev, id] of this.#ahead) {
        if (id <= this.#mark) {
          this.#ahead.delete(prev)
        } else if (prev <= this.#mark) {
          this.#mark = id
          this.#ahead.delete(prev)
          moved = true
        }
      }
    }
  }
}

/**
 * The mark a history page carrying `as_of` (the highest id of the room in the snapshot it was
 * read from) moves a room to, or null for a page that must not move it:
 *
 * * the newest page: to its as_of. Its rows are folded up to as_of, so every change up to there
 *   is in them, and a change to an older message reaches the client with that message's page;
 * * an `after=` page: to its last id (the rows are contiguous from `after`), or to its as_of
 *   when `has_more` is false (it returned every row up to its snapshot);
 * * a `before=` page: null (it says nothing about newer ids).
 *
 * A page without as_of (a server older than room changes) counts as read at its last id.
 * @param {'latest' | 'after' | 'before'} direction
 * @param {{ messages: { id: number }[], has_more: boolean, as_of?: number }} page
 * @param {number} [after] the id the page was asked after (direction 'after')
 * @returns {number | null}
 */
export function pageMark(direction, page, after = 0) {
  if (direction === 'before') return null
  const last = page.messages.reduce(
    (max, m) => Math.max(max, m.id),
    direction === 'after' ? after : 0,
  )
  if (page.as_of === undefined) return last
  if (direction === 'latest' || !page.has_more) return Math.max(last, page.as_of)
  return last
}
