import 'reflect-metadata';
import { PAYMENT_WAIT_MS_MAX } from '../gateway.env';
import { parsePrefer } from './prefer';

describe('Prefer header (RFC 7240)', () => {
  it('leaves the wait to the configured default without a preference', () => {
    expect(parsePrefer(undefined)).toEqual({ waitMs: null });
    expect(parsePrefer('')).toEqual({ waitMs: null });
    expect(parsePrefer('return=minimal')).toEqual({ waitMs: null });
  });

  it('answers at once for respond-async', () => {
    expect(parsePrefer('respond-async')).toEqual({ waitMs: 0 });
    expect(parsePrefer('Respond-Async ; foo=bar')).toEqual({ waitMs: 0 });
  });

  it('waits N seconds for wait=N, with or without respond-async', () => {
    expect(parsePrefer('wait=3')).toEqual({ waitMs: 3_000 });
    expect(parsePrefer('respond-async, wait=5')).toEqual({ waitMs: 5_000 });
    expect(parsePrefer('wait="2", handling=strict')).toEqual({ waitMs: 2_000 });
    expect(parsePrefer('wait=0')).toEqual({ waitMs: 0 });
  });

  it('caps the wait and ignores values it cannot read', () => {
    expect(parsePrefer('wait=3600')).toEqual({ waitMs: PAYMENT_WAIT_MS_MAX });
    expect(parsePrefer('wait=-1')).toEqual({ waitMs: null });
    expect(parsePrefer('wait=1.5')).toEqual({ waitMs: null });
    expect(parsePrefer('wait=soon, respond-async')).toEqual({ waitMs: 0 });
  });
});
