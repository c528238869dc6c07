import { strict as assert } from 'node:assert';
import { hostname } from 'node:os';
import { Logger } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { BeatLeadership } from './beat-leadership';
import { beatMetrics } from './beat-metrics';
import { BeatStore, registeredFrom, slotTaskId, type SlotClaim } from './beat-store';
import { GRACE_MS_DEFAULT, nextSlotAfter, planSlots, type TaskSchedule } from './task-schedule';

/** A schedule of a group: it sends its task, or runs `run` in the leader's process. */
export interface BeatEntry {
  schedule: TaskSchedule;
  /**
   * An in-process job (the retention sweep): run by the leader after its slot is claimed.
   * `signal` fires when the scheduler stops: a long job ends early and the next slot goes on.
   */
  run?: (signal: AbortSignal) => Promise<void>;
}

/** Schedules led together: one leader at a time per group, across every process. */
export interface BeatGroup {
  name: string;
  entries: readonly BeatEntry[];
}

/** How the scheduler runs (TasksModuleOptions `beat`). */
export interface BeatOptions {
  /** A standby tries to take the lead this often: the failover time after a crash. */
  leaderPollMs?: number;
  /** The leader wakes at every slot, and at least this often. */
  tickMsMax?: number;
}

/** How often a standby tries to take the lead, unless told: a dead leader's replacement time. */
export const LEADER_POLL_MS_DEFAULT = 1_000;
/** The longest a leader sleeps between passes, unless told. */
export const TICK_MS_MAX_DEFAULT = 1_000;

/**
 * The scheduler (Celery beat). Every process that has schedules runs one; per group, the
 * one holding the group's lock (BeatLeadership) sends the due slots: each slot claimed
 * by a row and its task put into the outbox in the same statement (BeatStore.claim).
 */
export class BeatScheduler {
  private readonly logger = new Logger('Beat');
  private readonly identity = `${hostname()}/${process.pid}`;
  private readonly leadership: BeatLeadership;
  private readonly store: BeatStore;
  /** Per group led: the last slot known sent, per schedule. */
  private readonly lastSlots = new Map<string, Map<string, number>>();
  /** Per schedule: skipped slots up to here were already reported. */
  private readonly skipReported = new Map<string, number>();
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;
  private readonly stopping = new AbortController();
  /** In-process jobs running, by group and schedule. */
  private readonly jobs = new Map<string, Promise<void>>();

  constructor(
    dataSource: DataSource,
    databaseUrl: string,
    private readonly groups: readonly BeatGroup[],
    private readonly options: BeatOptions = {},
    private readonly now: () => number = Date.now,
  ) {
    this.leadership = new BeatLeadership(databaseUrl, this.identity);
    this.store = new BeatStore(dataSource);
  }

  start(): void {
    assert(this.timer === null && !this.stopped, 'the scheduler starts once');
    this.wake(0);
  }

  private wake(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.tick().finally(() => {
        this.running = null;
      });
    }, delayMs);
  }

  private async tick(): Promise<void> {
    let delayMs = this.options.leaderPollMs ?? LEADER_POLL_MS_DEFAULT;
    try {
      await this.leadership.poll(this.groups.map((g) => g.name));
    } catch (error) {
      this.logger.warn(`scheduler leadership poll failed: ${String(error)}`);
    }
    for (const group of this.groups) {
      if (this.stopped) break;
      const leading = this.leadership.leads(group.name);
      beatMetrics.leading.set({ scheduler: group.name }, leading ? 1 : 0);
      if (!leading) {
        this.lastSlots.delete(group.name);
        continue;
      }
      // One group's failure (a statement timeout, a lost connection) leaves the others be.
      try {
        await this.pass(group);
        delayMs = Math.min(delayMs, this.untilNextSlotMs(group));
      } catch (error) {
        this.logger.warn(`scheduler pass of ${group.name} failed: ${String(error)}`);
      }
    }
    this.wake(delayMs);
  }

  /** Sends what is due in one group this process leads. */
  private async pass(group: BeatGroup): Promise<void> {
    const last = await this.lastSlotsOf(group);
    const nowMs = this.now();
    const claims: SlotClaim[] = [];
    for (const { schedule, run } of group.entries) {
      const key = `${group.name}\u0000${schedule.name}`;
      const plan = planSlots(
        schedule,
        last.get(schedule.name) ?? null,
        nowMs,
        this.skipReported.get(key),
      );
      if (plan.skipped > 0) {
        this.skipReported.set(key, nowMs - (schedule.graceMs ?? GRACE_MS_DEFAULT));
        beatMetrics.slots.inc(
          { scheduler: group.name, schedule: schedule.name, outcome: 'skipped' },
          plan.skipped,
        );
        this.logger.warn(
          `schedule ${group.name}/${schedule.name}: ${plan.skipped} slots skipped, older than ` +
            `its grace window of ${schedule.graceMs ?? GRACE_MS_DEFAULT} ms (no scheduler led then)`,
        );
      }
      for (const slotMs of plan.due) {
        claims.push({
          schedule: schedule.name,
          slotMs,
          task: run ? null : this.taskOf(group, schedule, slotMs),
        });
      }
    }
    const claimed = await this.store.claim(group.name, this.identity, claims);
    // Every planned slot is claimed now, by this process or another: resume after them.
    for (const { schedule, slotMs } of claims)
      last.set(schedule, Math.max(last.get(schedule) ?? slotMs, slotMs));
    for (const { schedule } of claimed) {
      beatMetrics.slots.inc({ scheduler: group.name, schedule, outcome: 'sent' });
    }
    this.startJobs(group, new Set(claimed.map((c) => c.schedule)));
  }

  private taskOf(group: BeatGroup, schedule: TaskSchedule, slotMs: number): SlotClaim['task'] {
    return {
      task: schedule.task,
      payload: schedule.kwargs ?? {},
      options: {
        id: slotTaskId(group.name, schedule.name, slotMs),
        ...(schedule.queue !== undefined ? { queue: schedule.queue } : {}),
        ...(schedule.args !== undefined ? { args: schedule.args } : {}),
        ...(schedule.expiresMs !== undefined ? { expires: schedule.expiresMs } : {}),
      },
    };
  }

  /**
   * In-process jobs whose slot this pass won run once, however many slots it won, in the
   * background: a long sweep must not hold back the slots of the schedules led with it.
   * A job still running when its next slot comes lets that slot go (it is doing the work).
   */
  private startJobs(group: BeatGroup, won: Set<string>): void {
    for (const { schedule, run } of group.entries) {
      const key = `${group.name}\u0000${schedule.name}`;
      if (!run || !won.has(schedule.name) || this.stopped || this.jobs.has(key)) continue;
      const job = run(this.stopping.signal)
        .catch((error: unknown) =>
          this.logger.error(
            `scheduled job ${group.name}/${schedule.name} failed: ${String(error)}`,
          ),
        )
        .finally(() => this.jobs.delete(key));
      this.jobs.set(key, job);
    }
  }

  /** The group's last sent slots, read (and the schedules registered) when it is first led. */
  private async lastSlotsOf(group: BeatGroup): Promise<Map<string, number>> {
    const known = this.lastSlots.get(group.name);
    if (known) return known;
    const last = await this.store.register(
      group.name,
      group.entries.map((e) => registeredFrom(e.schedule)),
      this.identity,
    );
    this.lastSlots.set(group.name, last);
    this.logger.log(`leading scheduler group ${group.name} (${group.entries.length} schedules)`);
    return last;
  }

  private untilNextSlotMs(group: BeatGroup): number {
    const nowMs = this.now();
    const next = Math.min(...group.entries.map((e) => nextSlotAfter(e.schedule, nowMs)));
    // A few ms past the slot, so the slot is due when the leader wakes.
    return Math.max(0, Math.min(next - nowMs + 5, this.options.tickMsMax ?? TICK_MS_MAX_DEFAULT));
  }

  /** Whether this process leads `group` now. */
  leads(group: string): boolean {
    return this.leadership.leads(group) && this.lastSlots.has(group);
  }

  /** Stops sending and gives up the lead: a standby takes over at its next poll. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.stopping.abort();
    if (this.timer) clearTimeout(this.timer);
    await this.running;
    await Promise.all(this.jobs.values());
    await this.leadership.close();
    for (const group of this.groups) beatMetrics.leading.set({ scheduler: group.name }, 0);
  }
}
