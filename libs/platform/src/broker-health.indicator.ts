import { Injectable } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import { Publisher } from '@clearline/tasks';

@Injectable()
export class BrokerHealthIndicator {
  constructor(
    private readonly indicator: HealthIndicatorService,
    private readonly publisher: Publisher,
  ) {}

  isHealthy(key: string): HealthIndicatorResult {
    const check = this.indicator.check(key);
    return this.publisher.connected
      ? check.up({ unconfirmed: this.publisher.unconfirmedCount })
      : check.down({ message: 'broker connection is down' });
  }
}
