// A room's resync mark kept by the chain of prev_ids, as the web client keeps it
// (frontend/src/api/roomChain.ts; docs/protocol.md "Resync"): the highest id up to which the
// room's chain has no hole. A history page is contiguous, so it moves the mark to its last id; a
// live message whose prev_id is at or below the mark moves it to its id (and then along the
// messages already received that continue the chain); one whose prev_id is above the mark is
// kept until the hole below it is filled, live or by a page. Messages without prev_id (a server
// older than the chain) move the mark to the highest id seen once settled, as before.

// How long a hole may stay open before a client fetches ?after=<mark> by itself.
export const HOLE_REPAIR_DELAY_MS = 1500

export class RoomChain {
  constructor () {
    this.mark = 0
    this.based = false // a first page (the baseline) has been received
    this.ahead = new Map() // live messages above the mark: prev_id -> id
    this.unchained = 0 // highest live id without a prev_id, applied by settle()
  }

  get hasHole () { return this.ahead.size > 0 }

  // A history page, contiguous up to lastId (its last id, or the mark it was asked after).
  page (lastId) {
    this.based = true
    if (lastId > this.mark) this.mark = lastId
    this.absorb()
  }

  live (id, prevId) {
    if (id <= this.mark) return
    if (prevId === undefined || prevId === null) {
      this.unchained = Math.max(this.unchained, id)
      return
    }
    this.ahead.set(prevId, id)
    this.absorb()
  }

  // Applies ids without prev_id; call when the room is not syncing.
  settle () {
    if (this.unchained > this.mark) this.mark = this.unchained
    this.unchained = 0
    this.absorb()
  }

  absorb () {
    let moved = true
    while (moved) {
      moved = false
      for (const [prev, id] of this.ahead) {
        if (id <= this.mark) {
          this.ahead.delete(prev)
        } else if (prev <= this.mark) {
          this.mark = id
          this.ahead.delete(prev)
          moved = true
        }
      }
    }
  }
}
