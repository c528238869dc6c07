import {
  Logger,
  type BeforeApplicationShutdown,
  type InjectionToken,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import type { DiscoveryService } from '@nestjs/core';
import type { DataSource } from 'typeorm';
import { watchTableSizes } from '../retention/retention-metrics';
import {
  RETENTION_SCHEDULER,
  RetentionSweeper,
  validateRetention,
  type RetentionOptions,
} from '../retention/retention-sweeper';
import { BeatScheduler, type BeatGroup, type BeatOptions } from './beat-scheduler';
import { validateSchedules, type TaskSchedule } from './task-schedule';

/**
 * Schedules a feature module declares for its service (`provideTaskSchedules`), so the
 * module keeps them wherever it is imported; found at start by the task layer.
 */
export class TaskScheduleSet {
  constructor(readonly schedules: readonly TaskSchedule[]) {}
}

let scheduleSetCount = 0;

/**
 * A provider for a feature module's `providers`: the service's scheduler sends these
 * schedules, as if they were in TasksModuleOptions `schedules`. Validated at start.
 *
 * @example
 * providers: [provideTaskSchedules([{ name: 'expire', task: 'ledger.expire', everyMs: 1_000 }])]
 */
export function provideTaskSchedules(schedules: readonly TaskSchedule[]): {
  provide: symbol;
  useValue: TaskScheduleSet;
} {
  validateSchedules(schedules);
  scheduleSetCount += 1;
  return {
    provide: Symbol(`TASK_SCHEDULES_${scheduleSetCount}`),
    useValue: new TaskScheduleSet(schedules),
  };
}

/**
 * Like `provideTaskSchedules`, for schedules that depend on other providers (a service's
 * configuration: the hour and time zone of a daily run). Validated when made.
 *
 * @example
 * provideTaskSchedulesFrom([ConfigService], (config: ConfigService) => [{ name, task, cron }])
 */
export function provideTaskSchedulesFrom<Deps extends unknown[]>(
  inject: InjectionToken[],
  factory: (...deps: Deps) => readonly TaskSchedule[],
): {
  provide: symbol;
  inject: InjectionToken[];
  useFactory: (...deps: Deps) => TaskScheduleSet;
} {
  scheduleSetCount += 1;
  return {
    provide: Symbol(`TASK_SCHEDULES_${scheduleSetCount}`),
    inject,
    useFactory: (...deps: Deps) => {
      const schedules = factory(...deps);
      validateSchedules(schedules);
      return new TaskScheduleSet(schedules);
    },
  };
}

export interface BeatSettings {
  databaseUrl: string;
  serviceName: string;
  schedules: readonly TaskSchedule[];
  beat: BeatOptions | false;
  retention: RetentionOptions | false;
}

/**
 * Starts the scheduler when this process has something to schedule: the service's own
 * schedules (one group named after the service, since every service shares the
 * database) and the retention sweep (one group for the whole deployment). Stops it
 * first at shutdown so a standby takes over while this process drains.
 */
export class BeatLifecycle implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('Beat');
  private scheduler: BeatScheduler | null = null;
  private unwatch: (() => void) | null = null;

  constructor(
    private readonly dataSource: DataSource,
    private readonly discovery: DiscoveryService,
    private readonly settings: BeatSettings,
  ) {
    validateSchedules(settings.schedules);
    if (settings.retention) validateRetention(settings.retention);
  }

  /** Every schedule of this service: from its options and from its feature modules. */
  schedules(): TaskSchedule[] {
    const discovered = this.discovery
      .getProviders()
      .flatMap((wrapper) =>
        wrapper.instance instanceof TaskScheduleSet ? wrapper.instance.schedules : [],
      );
    const all = [...this.settings.schedules, ...discovered];
    validateSchedules(all);
    return all;
  }

  onApplicationBootstrap(): void {
    const { beat, retention, serviceName, databaseUrl } = this.settings;
    const groups: BeatGroup[] = [];
    const schedules = this.schedules();
    if (schedules.length > 0) {
      groups.push({ name: serviceName, entries: schedules.map((schedule) => ({ schedule })) });
    }
    if (retention) {
      const sweeper = new RetentionSweeper(this.dataSource, retention);
      groups.push({ name: RETENTION_SCHEDULER, entries: [sweeper.entry(retention.everyMs)] });
      this.unwatch = watchTableSizes(this.dataSource);
    }
    if (beat === false || groups.length === 0) return;
    this.scheduler = new BeatScheduler(this.dataSource, databaseUrl, groups, beat);
    this.scheduler.start();
    this.logger.log(
      `scheduler standing for ${groups.map((g) => `${g.name} (${g.entries.length})`).join(', ')}`,
    );
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.unwatch?.();
    await this.scheduler?.stop();
  }
}
