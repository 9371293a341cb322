/**
 * Which bytes may go on to the engine. The engine stops reading a tar at its end-of-archive blocks and
 * builds from what it has, so nothing from a possible end on may reach it before the verdict. The reader
 * says where such bytes start (a header position holding zeros); since they are zeros, holding them
 * costs a count, not memory, and releasing them means pushing that many zeros.
 */
export class EndHold {
  /** Tar offset up to which bytes have gone on. */
  passed = 0;

  /**
   * For a chunk that covered tar offsets [start, end), with the reader holding from `holdFrom` on:
   * how many held zeros from earlier chunks are released, then which slice [from, to) of the chunk goes.
   */
  release(start: number, end: number, holdFrom: number | undefined): { zeros: number; from: number; to: number } {
    const limit = Math.min(end, holdFrom ?? end);
    const zeros = Math.max(0, Math.min(start, limit) - this.passed);
    const from = Math.max(this.passed, start) - start;
    const to = Math.max(limit - start, from);
    this.passed = Math.max(this.passed, limit);
    return { zeros, from, to };
  }

  /** Held bytes at the end of a tar `total` bytes long. */
  held(total: number): number {
    return total - this.passed;
  }
}
