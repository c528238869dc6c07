import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { MerchantAuth, MerchantId } from '../auth/auth.decorators';
import { ApiCursorNotFound, ApiNotFound } from '../http/openapi';
import { pageRequest, toListObject, type ListObject } from '../http/pagination';
import { EventDto, EventListDto, EVENTS_URL, ListEventsQuery } from './event.dto';
import { toEventDto } from './event.mapper';
import { EventsService } from './events.service';

const LISTED = { url: EVENTS_URL, object: 'event' };

@ApiTags('events')
@MerchantAuth()
@Controller('v1/events')
export class EventsController {
  constructor(private readonly events: EventsService) {}

  @Get()
  @ApiOperation({ summary: "List the merchant's events, newest first" })
  @ApiOkResponse({ type: EventListDto })
  @ApiCursorNotFound()
  list(
    @MerchantId() merchantId: string,
    @Query() query: ListEventsQuery,
  ): Promise<ListObject<EventDto>> {
    return toListObject(
      LISTED,
      this.events.list(merchantId, pageRequest(query), query.type ?? null),
      toEventDto,
    );
  }

  @Get(':id')
  @ApiOperation({ summary: 'Retrieve an event with its webhook delivery attempts' })
  @ApiOkResponse({ type: EventDto })
  @ApiNotFound('No such event for this merchant.')
  async retrieve(@MerchantId() merchantId: string, @Param('id') id: string): Promise<EventDto> {
    return toEventDto(await this.events.retrieve(merchantId, id));
  }
}
