import { createHash } from 'node:crypto';

/**
 * What happened in one seed, one short line per step (`<ms> <actor> <what>`). Its hash
 * is the seed's fingerprint: the same seed must give the same hash on every run, which
 * the tests hold it to; the tail is what a failing seed prints.
 */
export class Trace {
  private readonly lines: string[] = [];
  private readonly hash = createHash('sha256');

  constructor(private readonly clock: () => number) {}

  add(actor: string, what: string): void {
    const line = `${this.clock()} ${actor} ${what}`;
    this.lines.push(line);
    this.hash.update(line).update('\n');
  }

  get length(): number {
    return this.lines.length;
  }

  tail(count: number): string[] {
    return this.lines.slice(-count);
  }

  all(): readonly string[] {
    return this.lines;
  }

  /** The hex sha256 of every line so far (a copy: the trace may go on). */
  digest(): string {
    return this.hash.copy().digest('hex');
  }
}
