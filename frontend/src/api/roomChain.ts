// A room's resync mark, kept by the chain of ids the server gives every message (`prev_id`: the
// room's previous message). Two chatd nodes publish independently, so a client can get a newer
// id live before an older one of the same room; if it then resyncs from the highest id it saw
// (`?after=`), the older one is lost for it. The mark is therefore the highest id up to which
// the chain has no hole (since the room's baseline):
//
// * a history page is contiguous by construction (`?after=X` returns every id above X in order,
//   the latest page every id above its first one), so it moves the mark to its last id;
// * a live message whose prev_id is at or below the mark moves the mark to its id, and then any
//   message already received that continues the chain;
// * a live message whose prev_id is above the mark leaves a hole: it is kept (and displayed)
//   but the mark stays, until a page or the missing message fills the hole.
//
// Messages without prev_id (a server older than the chain) move the mark to the highest id seen
// once the room is not syncing, as before.

/** How long a hole may stay open before the client fetches `?after=<mark>` by itself. */
export const HOLE_REPAIR_DELAY_MS = 1500

export class RoomChain {
  private markId = 0
  private hasBaseline = false
  /** Live messages above the mark: prev_id → id. */
  private readonly ahead = new Map<number, number>()
  /** Highest live id without a prev_id, applied by settle(). */
  private unchained = 0

  /** The highest id with no hole below it (since the baseline). */
  get mark(): number {
    return this.markId
  }

  /** A first page (the baseline) has been received. */
  get based(): boolean {
    return this.hasBaseline
  }

  /** Some message above the mark arrived whose predecessor did not. */
  get hasHole(): boolean {
    return this.ahead.size > 0
  }

  /** A history page, contiguous up to `lastId` (its last id, or the mark it was asked after). */
  page(lastId: number): void {
    this.hasBaseline = true
    if (lastId > this.markId) this.markId = lastId
    this.absorb()
  }

  /** A live message. */
  live(id: number, prevId: number | undefined): void {
    if (id <= this.markId) return
    if (prevId === undefined) {
      this.unchained = Math.max(this.unchained, id)
      return
    }
    this.ahead.set(prevId, id)
    this.absorb()
  }

  /** Applies ids without prev_id; call when the room is not syncing. */
  settle(): void {
    if (this.unchained > this.markId) this.markId = this.unchained
    this.unchained = 0
    this.absorb()
  }

  /** Moves the mark along every received message that continues the chain. */
  private absorb(): void {
    let moved = true
    while (moved) {
      moved = false
      for (const [prev, id] of this.ahead) {
        if (id <= this.markId) {
          this.ahead.delete(prev)
        } else if (prev <= this.markId) {
          this.markId = id
          this.ahead.delete(prev)
          moved = true
        }
      }
    }
  }
}
