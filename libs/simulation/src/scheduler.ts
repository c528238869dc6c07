/** An event of the discrete-event loop: due at `at` (simulated ms), ties broken by `seq`. */
interface SimEvent {
  at: number;
  seq: number;
  fire: () => void;
}

/** How a simulated run ended. */
export type RunEnd = 'quiet' | 'event-limit';

/** A spawned process, to wait for with {@link Scheduler.join}. */
export interface Process {
  readonly name: string;
  done: boolean;
  waiters: (() => void)[];
}

/**
 * A simulated clock and event queue with cooperative processes. The clock only moves
 * when the next event is taken: it jumps to that event's time. Processes are ordinary
 * async functions (the real handler and ledger code among them); they block only on
 * promises made here (`sleep`, `suspend`), so the loop knows when every process is
 * parked and takes the next event only then. Nothing waits on a real timer, and the
 * order of everything is a function of the seed.
 */
export class Scheduler {
  now = 0;
  eventCount = 0;
  private readonly heap: SimEvent[] = [];
  private seq = 0;
  /** Processes running right now (resumed and not parked again). */
  private active = 0;
  private idle: (() => void) | null = null;

  constructor(
    /** The wall-clock time simulated time 0 stands for. */
    readonly epochMs: number,
    private readonly onProcessError: (name: string, error: unknown) => void,
  ) {}

  /** Simulated now as a Date. */
  date(): Date {
    return new Date(this.epochMs + this.now);
  }

  /** Runs `fire` `delayMs` from now (an event; it must not block). */
  at(delayMs: number, fire: () => void): void {
    const event = { at: this.now + Math.max(0, Math.round(delayMs)), seq: this.seq++, fire };
    this.heap.push(event);
    this.siftUp(this.heap.length - 1);
  }

  /** Starts a process now; it runs until it first blocks. */
  spawn(name: string, run: () => Promise<void>): Process {
    const process: Process = { name, done: false, waiters: [] };
    this.active += 1;
    const finish = (): void => {
      process.done = true;
      for (const wake of process.waiters) this.at(0, wake);
      process.waiters = [];
      this.park();
    };
    run().then(finish, (error: unknown) => {
      this.onProcessError(name, error);
      finish();
    });
    return process;
  }

  /**
   * Parks the calling process until `register`'s resume or fail is called (from an
   * event). A process never resumed is abandoned: that is how a crashed worker stops.
   */
  suspend<T>(
    register: (resume: (value: T) => void, fail: (error: unknown) => void) => void,
  ): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      register(
        (value) => {
          if (settled) return;
          settled = true;
          this.active += 1;
          resolve(value);
        },
        (error) => {
          if (settled) return;
          settled = true;
          this.active += 1;
          reject(error instanceof Error ? error : new Error(String(error)));
        },
      );
      this.park();
    });
  }

  /** Parks the calling process for `ms`; `alive` false at wake-up abandons it. */
  sleep(ms: number, alive: () => boolean = () => true): Promise<void> {
    return this.suspend<undefined>((resume) => {
      this.at(ms, () => {
        if (alive()) resume(undefined);
      });
    });
  }

  /** Parks the calling process until `process` has finished. */
  async join(process: Process): Promise<void> {
    if (process.done) return;
    await this.suspend<undefined>((resume) => process.waiters.push(() => resume(undefined)));
  }

  /** A process that blocks forever (its worker died under it). */
  abandon(): Promise<never> {
    return this.suspend<never>(() => undefined);
  }

  /** Takes events until none is left (or `eventCountMax`), letting processes run between. */
  async run(eventCountMax: number): Promise<RunEnd> {
    if (this.active > 0) await this.quiescence();
    while (this.heap.length > 0) {
      if (this.eventCount >= eventCountMax) return 'event-limit';
      const event = this.pop();
      this.eventCount += 1;
      this.now = event.at;
      event.fire();
      if (this.active > 0) await this.quiescence();
    }
    return 'quiet';
  }

  private quiescence(): Promise<void> {
    return new Promise<void>((resolve) => {
      this.idle = resolve;
    });
  }

  private park(): void {
    this.active -= 1;
    if (this.active === 0 && this.idle) {
      const idle = this.idle;
      this.idle = null;
      idle();
    }
  }

  private before(a: SimEvent, b: SimEvent): boolean {
    return a.at < b.at || (a.at === b.at && a.seq < b.seq);
  }

  private siftUp(index: number): void {
    const heap = this.heap;
    let i = index;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const [child, up] = [heap[i] as SimEvent, heap[parent] as SimEvent];
      if (!this.before(child, up)) break;
      heap[i] = up;
      heap[parent] = child;
      i = parent;
    }
  }

  private pop(): SimEvent {
    const heap = this.heap;
    const top = heap[0] as SimEvent;
    const last = heap.pop() as SimEvent;
    if (heap.length > 0) {
      heap[0] = last;
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        const right = left + 1;
        let smallest = i;
        if (left < heap.length && this.before(heap[left] as SimEvent, heap[smallest] as SimEvent))
          smallest = left;
        if (right < heap.length && this.before(heap[right] as SimEvent, heap[smallest] as SimEvent))
          smallest = right;
        if (smallest === i) break;
        [heap[i], heap[smallest]] = [heap[smallest] as SimEvent, heap[i] as SimEvent];
        i = smallest;
      }
    }
    return top;
  }
}
