/**
 * `npm run topology:export`: writes the task layer's RabbitMQ topology, exactly as the
 * services declare it at start-up, to infra/rabbitmq/definitions.json (importable in
 * the management UI or with `rabbitmqctl import_definitions`).
 * `--check` exits non-zero when the file is out of date.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { WORK_QUEUES } from '@clearline/contracts';
import { buildTopology, toDefinitions } from '@clearline/tasks';

export const DEFINITIONS_PATH = resolve(__dirname, '../infra/rabbitmq/definitions.json');
export const DEFINITIONS_VHOST = 'clearline';

export function renderDefinitions(): string {
  return `${JSON.stringify(toDefinitions(buildTopology(WORK_QUEUES), DEFINITIONS_VHOST), null, 2)}\n`;
}

if (require.main === module) {
  const rendered = renderDefinitions();
  if (process.argv.includes('--check')) {
    const current = readFileSync(DEFINITIONS_PATH, 'utf8');
    if (current !== rendered) {
      console.error('infra/rabbitmq/definitions.json is out of date: run npm run topology:export');
      process.exit(1);
    }
    console.log('infra/rabbitmq/definitions.json is up to date');
  } else {
    writeFileSync(DEFINITIONS_PATH, rendered);
    console.log(`wrote ${DEFINITIONS_PATH}`);
  }
}
