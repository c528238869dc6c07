import { leadingId } from './result-waiter';

describe('leadingId (a result notification read without parsing it)', () => {
  it("reads the id json_build_object('id', …) puts first", () => {
    // As PostgreSQL writes it: SELECT json_build_object('id', 'a-1', 'task', 't')::text
    expect(leadingId('{"id" : "a-1", "task" : "t"}')).toBe('a-1');
    expect(leadingId('{"id" : "pay_1:authorize", "state" : "SUCCESS"}')).toBe('pay_1:authorize');
  });

  it('leaves anything else to the JSON parser', () => {
    expect(leadingId('{"id" : "ab\\"c", "task" : "t"}')).toBeNull();
    expect(leadingId('{"task" : "t", "id" : "a"}')).toBeNull();
    expect(leadingId('{"id":"a"}')).toBeNull();
    expect(leadingId('{"id" : "unterminated')).toBeNull();
  });
});
