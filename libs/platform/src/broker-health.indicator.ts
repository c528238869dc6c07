import { Injectable } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import { TaskClient } from '@clearline/tasks';

@Injectable()
export class BrokerHealthIndicator {
  constructor(
    private readonly indicator: HealthIndicatorService,
    private readonly tasks: TaskClient,
  ) {}

  isHealthy(key: string): HealthIndicatorResult {
    const check = this.indicator.check(key);
    const broker = this.tasks.brokerStatus();
    return broker.connected
      ? check.up({ unconfirmed: broker.unconfirmed })
      : check.down({ message: 'broker connection is down' });
  }
}
