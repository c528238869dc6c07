import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { MerchantAuth, MerchantId } from '../auth/auth.decorators';
import { ApiCursorNotFound, ApiNotFound } from '../http/openapi';
import type { ListObject } from '../http/pagination';
import { EventDto, EventListDto, ListEventsQuery } from './event.dto';
import { EventsService } from './events.service';

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
    return this.events.list(merchantId, query);
  }

  @Get(':id')
  @ApiOperation({ summary: 'Retrieve an event with its webhook delivery attempts' })
  @ApiOkResponse({ type: EventDto })
  @ApiNotFound('No such event for this merchant.')
  retrieve(@MerchantId() merchantId: string, @Param('id') id: string): Promise<EventDto> {
    return this.events.retrieve(merchantId, id);
  }
}
