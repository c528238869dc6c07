import {
  decodeTask,
  MalformedTaskError,
  TASK_HEADER_LENGTH_MAX,
  TASK_MESSAGE_BYTES_MAX,
} from './celery-message';

const BODY = Buffer.from(JSON.stringify([[], {}, {}]));
const HEADERS = { task: 'ledger.ping', id: 'task-1', retries: 0 };

function decodeWith(headers: Record<string, unknown>, content: Buffer = BODY) {
  return () => decodeTask(content, { contentType: 'application/json', headers });
}

describe('a message is checked before anything of it is used', () => {
  it.each([
    ['a negative retries', { retries: -1 }, /retries is not a whole number/],
    ['a fractional retries', { retries: 1.5 }, /retries is not a whole number/],
    ['a retries beyond integer', { retries: 2 ** 31 }, /retries is not a whole number/],
    ['a negative group_index', { group_index: -2 }, /group_index is not a whole number/],
    ['a NUL in the task name', { task: 'ledger.\u0000ping' }, /task has a control character/],
    ['a newline in the id', { id: 'task\n1' }, /id has a control character/],
    ['an empty id', { id: '' }, /id is missing/],
    [
      'a root_id too long',
      { root_id: 'r'.repeat(TASK_HEADER_LENGTH_MAX + 1) },
      /root_id is longer/,
    ],
    ['a zero time limit', { timelimit: [0, null] }, /timelimit is not a number of seconds/],
    ['a time limit of a year', { timelimit: [null, 365 * 86_400] }, /timelimit/],
    ['a time limit that is text', { timelimit: ['10', null] }, /timelimit/],
  ])('refuses %s as malformed', (_what, headers, reason) => {
    expect(decodeWith({ ...HEADERS, ...headers })).toThrow(MalformedTaskError);
    expect(decodeWith({ ...HEADERS, ...headers })).toThrow(reason);
  });

  it('refuses a body above the size limit without parsing it', () => {
    const huge = Buffer.alloc(TASK_MESSAGE_BYTES_MAX + 1, 0x20);
    expect(decodeWith(HEADERS, huge)).toThrow(/larger than/);
  });

  it('accepts what Celery and Clearline send', () => {
    const message = decodeWith({
      ...HEADERS,
      retries: 3,
      group: 'g-1',
      group_index: 0,
      timelimit: [30.5, 10],
      root_id: 'root-1',
      parent_id: null,
      origin: 'gen123@host',
    })();
    expect(message).toMatchObject({
      retries: 3,
      groupIndex: 0,
      timeLimitHardS: 30.5,
      timeLimitSoftS: 10,
      rootId: 'root-1',
    });
  });
});
