import { Controller, type Type } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { PingPayload, pingTask, type PingResult } from '@clearline/contracts';
import { Task } from '@clearline/tasks';

/** A consumer of `<service>.ping`, so every service has a task to prove its wiring. */
export function pingConsumer(service: string): Type {
  @Controller()
  class PingConsumer {
    @Task(pingTask(service), { payload: PingPayload })
    ping(@Payload() payload: PingPayload): PingResult {
      return { service, note: payload.note ?? null, at: new Date().toISOString() };
    }
  }
  return PingConsumer;
}
