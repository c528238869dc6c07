// The test harness: real RabbitMQ, PostgreSQL and Redis, isolated per test file.
// A library: it never imports a service; services' tests meet here.
export {
  amqpUrl,
  createVhost,
  databaseUrl,
  deleteVhost,
  dropDatabase,
  management,
  managementGet,
  TEST_INFRA,
  withAdminDatabase,
} from './infrastructure';
export { isolatedInfrastructure, type IsolatedInfrastructure } from './isolated-infrastructure';
export { deleteRedisKeys } from './redis';
export { recordingCommittedOutbox } from './recording-outbox';
export { startTaskApp, type TaskApp, type TaskAppOptions } from './task-app';
export { eventually, Gate, holdsFor, sleep } from './wait';
export {
  freePort,
  SERVICE_START_TIMEOUT_MS,
  startService,
  startServiceOnFreePort,
  type ServiceProcess,
} from './service-process';
export { connectDatabase, type TestDatabase } from './database';
export { describeFindings, findCardNumbers, scanLogFiles, type LogFinding } from './log-scan';
export {
  anyNumber,
  anyString,
  apiClient,
  matching,
  testAdminKey,
  type ApiClient,
  type CallOptions,
  type CreatedMerchant,
  type ErrorReply,
  type Reply,
} from './api-client';
export {
  card,
  paymentsApi,
  type LedgerCheck,
  type Payment,
  type PaymentsApi,
  type Refund,
} from './payments-api';
export {
  dailySettlementAwayFromNow,
  startPlatform,
  type Platform,
  type PlatformOptions,
  type ServiceName,
} from './platform';
export { brokerProbe, type BrokerProbe } from './broker-probe';
export { tcpProxy, throughProxy, type LinkFaults, type TcpProxy } from './tcp-proxy';
export {
  celeryLogRecords,
  ensurePythonCelery,
  PYTHON,
  PYTHON_CELERY_INSTALL_TIMEOUT_MS,
  startCeleryWorker,
  type CeleryLogRecord,
  type CeleryWorker,
  type CeleryWorkerOptions,
} from './python-celery';
export {
  amqpUrlAs,
  databaseUrlAs,
  envAs,
  prepareVhostForServices,
  TEST_SERVICE_USER_PASSWORD,
} from './broker-users';
export { ensureServiceUsers } from './service-users';
export { sendAs } from './send-as';
