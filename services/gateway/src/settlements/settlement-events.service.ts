import { createHash } from 'node:crypto';
import { Injectable, Logger } from '@nestjs/common';
import {
  settlementEventTaskId,
  type SettlementEventPayload,
  type SettlementEventType,
} from '@clearline/contracts';
import { readCommitted } from '@clearline/persistence';
import { DataSource, type EntityManager } from 'typeorm';
import { EventsService } from '../events/events.service';
import { toPayoutDto, toSettlementDto } from './settlement.mapper';
import { SettlementError, SettlementErrorCode } from './settlements.exception';
import { SettlementsRepository } from './settlements.repository';

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
/** As long as a random id's (24 base62 characters, about 143 bits of the digest). */
const EVENT_ID_LENGTH = 24;

/**
 * The id of the event `type` about `objectId`: derived (SHA-256 of the event's task id,
 * `settlementEventTaskId`), not random, so the event exists once however often the task
 * is delivered or sent again. It looks like any other `evt_…`.
 */
export function settlementEventId(type: SettlementEventType, objectId: string): string {
  const digest = createHash('sha256').update(settlementEventTaskId(type, objectId)).digest('hex');
  let value = BigInt(`0x${digest}`);
  let text = '';
  for (let i = 0; i < EVENT_ID_LENGTH; i += 1) {
    text += BASE62.charAt(Number(value % 62n));
    value /= 62n;
  }
  return `evt_${text}`;
}

/** What the event task did: the event's id, and whether this run recorded it. */
export interface RecordedSettlementEvent {
  eventId: string;
  /** False when it had been recorded before (a redelivery, a repeat). */
  recorded: boolean;
}

/**
 * The events settlement sends merchants (`settlement.completed`, `payout.paid`,
 * `payout.failed`), recorded with `data.object` as the API shows the object now and
 * delivered as webhooks, exactly once per type and object.
 */
@Injectable()
export class SettlementEventsService {
  private readonly logger = new Logger(SettlementEventsService.name);

  constructor(
    private readonly settlements: SettlementsRepository,
    private readonly events: EventsService,
    private readonly dataSource: DataSource,
  ) {}

  async record(payload: SettlementEventPayload): Promise<RecordedSettlementEvent> {
    const eventId = settlementEventId(payload.type, payload.object_id);
    return readCommitted(this.dataSource, async (manager) => {
      const dataObject = await this.objectOf(manager, payload);
      const event = await this.events.recordOnce(manager, payload.merchant_id, {
        id: eventId,
        type: payload.type,
        dataObject,
      });
      if (event) {
        this.logger.log(
          { event_id: eventId, object_id: payload.object_id, merchant_id: payload.merchant_id },
          `${payload.type} recorded`,
        );
      }
      return { eventId, recorded: event !== null };
    });
  }

  /** The API object the event is about, as it stands. */
  private async objectOf(
    manager: EntityManager,
    payload: SettlementEventPayload,
  ): Promise<unknown> {
    const { type, merchant_id: merchantId, object_id: id } = payload;
    const wanted = type === 'settlement.completed' ? 'stl_' : 'po_';
    if (!id.startsWith(wanted)) {
      throw new SettlementError(
        `${type} names ${id}, not a ${wanted}… object`,
        SettlementErrorCode.EventObjectMismatch,
      );
    }
    if (wanted === 'stl_') {
      const settlement = await this.settlements.findSettlement(merchantId, id, manager);
      if (!settlement) throw SettlementError.settlementNotFound(id);
      return toSettlementDto(settlement);
    }
    const payout = await this.settlements.findPayout(merchantId, id, manager);
    if (!payout) throw SettlementError.payoutNotFound(id);
    return toPayoutDto(payout);
  }
}
