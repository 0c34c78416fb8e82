/**
 * The byte budget of fills in flight. A fill holds its whole body in memory
 * while it arrives (every waiter reads it, and it may be cached), so without a
 * shared bound N concurrent large objects cost N times the object size, whatever
 * the memory tier's bound. Each fill takes bytes from this one budget before it
 * holds them and gives them back when it ends; nothing grows past the limit.
 */

/** A shared byte bound with waiting for room. */
export class ByteBudget {
  /** The bound, bytes. */
  readonly limit: number
  private taken = 0
  private readonly waiting = new Set<() => void>()

  constructor(limit: number) {
    this.limit = limit
  }

  /** Bytes taken now. */
  get used(): number {
    return this.taken
  }

  /** Take `n` bytes if they fit; false (nothing taken) when they do not. */
  tryTake(n: number): boolean {
    if (n < 0 || this.taken + n > this.limit) return false
    this.taken += n
    return true
  }

  /** Give back `n` bytes taken earlier; whoever waits for room is told. */
  give(n: number): void {
    if (n <= 0) return
    this.taken = Math.max(0, this.taken - n)
    for (const fn of [...this.waiting]) fn()
  }

  /** Call `fn` each time bytes are given back, until the returned function is called. */
  onRoom(fn: () => void): () => void {
    this.waiting.add(fn)
    return () => this.waiting.delete(fn)
  }
}
