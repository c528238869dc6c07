import { Body, Controller, Get, Param, Post } from '@nestjs/common';
import { ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { OperatorAuth } from '../auth/auth.decorators';
import { HttpReply } from '../http/http-reply';
import { ApiNotFound } from '../http/openapi';
import { SettlementRunDto, StartSettlementRunDto } from './settlement.dto';
import { toStartedRunReply, toSettlementRunDto } from './settlement.mapper';
import { SettlementRunsService } from './settlement-runs.service';
import type { Plain } from '../http/wire';

@ApiTags('admin')
@OperatorAuth()
@Controller('v1/admin/settlement_runs')
export class SettlementRunsController {
  constructor(private readonly runs: SettlementRunsService) {}

  @Post()
  @ApiOperation({
    summary: 'Start the settlement run of a cut-off (or find the one it has)',
    description:
      'Settles every captured payment and succeeded refund the ledger posted up to ' +
      '`cut_off` (inclusive) and not settled yet: one settlement per merchant and ' +
      'currency, then a payout each. One run per cut-off: the same `cut_off` again ' +
      'answers 200 with that run (restarted for what is missing if it partially ' +
      'failed), and no money moves twice. A 503 may still have started the run: repeat ' +
      'the request with the same explicit `cut_off`.',
  })
  @ApiCreatedResponse({ type: SettlementRunDto, description: 'A new run, started.' })
  @ApiOkResponse({ type: SettlementRunDto, description: 'The run this cut-off had already.' })
  async start(@Body() body: StartSettlementRunDto): Promise<HttpReply> {
    return toStartedRunReply(await this.runs.start(body.cut_off));
  }

  @Get(':id')
  @ApiOperation({ summary: 'Retrieve a settlement run' })
  @ApiOkResponse({ type: SettlementRunDto })
  @ApiNotFound('No such settlement run.')
  async retrieve(@Param('id') id: string): Promise<Plain<SettlementRunDto>> {
    return toSettlementRunDto(await this.runs.retrieve(id));
  }
}
