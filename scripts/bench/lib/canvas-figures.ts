/** One side's figures for the workflow benchmark (the same canvas on each side). */
export interface CanvasFigures {
  /** Seconds from sending the chord to its callback's result. */
  chordS: number;
  /** Milliseconds per link: a chain's time from send to its last result, over its links. */
  chainLinkMs: number;
}

/** What the chord callback returns, on both sides: the sum and count of the members' results. */
export interface Tally {
  sum: number;
  count: number;
}
