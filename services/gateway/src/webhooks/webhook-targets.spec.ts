import 'reflect-metadata';
import type { LookupAddress } from 'node:dns';
import { Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { WebhookTargets } from './webhook-targets';

function targets(env: Record<string, string>): WebhookTargets {
  return new WebhookTargets(
    new ConfigService({
      NODE_ENV: 'test',
      WEBHOOK_ALLOW_HTTP: '0',
      WEBHOOK_ALLOW_PRIVATE: '0',
      WEBHOOK_CONNECT_TIMEOUT_MS: 100,
      ...env,
    }) as never,
  );
}

const answers =
  (...addresses: string[]) =>
  (): Promise<LookupAddress[]> =>
    Promise.resolve(
      addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 })),
    );

describe('WebhookTargets', () => {
  afterEach(() => jest.restoreAllMocks());

  it('warns at start in production when private targets are allowed, and only then', () => {
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    targets({ NODE_ENV: 'production', WEBHOOK_ALLOW_PRIVATE: '1' });
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0]?.[0])).toMatch(/WEBHOOK_ALLOW_PRIVATE=1 in production/);
    targets({ NODE_ENV: 'production' });
    targets({ NODE_ENV: 'development', WEBHOOK_ALLOW_PRIVATE: '1' });
    expect(warn).toHaveBeenCalledTimes(1);
  });

  it('reads the policy from WEBHOOK_ALLOW_HTTP and WEBHOOK_ALLOW_PRIVATE', () => {
    expect(targets({}).policy).toEqual({ allowHttp: false, allowPrivate: false });
    expect(targets({ WEBHOOK_ALLOW_HTTP: '1', WEBHOOK_ALLOW_PRIVATE: '1' }).policy).toEqual({
      allowHttp: true,
      allowPrivate: true,
    });
  });

  it('refuses at registration a name any of whose addresses is refused', async () => {
    const production = targets({});
    const refusal = await production.registrationRefusal(
      'https://hooks.merchant.example/',
      answers('93.184.215.14', '10.0.0.7'),
    );
    expect(refusal).toEqual({
      reason: 'address_refused',
      message:
        "webhook_url's host resolves to a private address; webhooks go to public addresses only",
    });
    expect(
      await production.registrationRefusal('https://hooks.merchant.example/', answers('1.1.1.1')),
    ).toBeNull();
  });

  it('accepts a name that does not resolve, or not in time: delivery checks it again', async () => {
    const production = targets({});
    const notFound = (): Promise<LookupAddress[]> =>
      Promise.reject(Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' }));
    const never = (): Promise<LookupAddress[]> => new Promise(() => undefined);
    expect(
      await production.registrationRefusal('https://new.merchant.example/', notFound),
    ).toBeNull();
    expect(
      await production.registrationRefusal('https://slow.merchant.example/', never),
    ).toBeNull();
  });

  it('refuses before any lookup what the URL itself gives away', async () => {
    const lookup = jest.fn(answers('1.1.1.1'));
    const production = targets({});
    expect(await production.registrationRefusal('http://hooks.merchant.example/', lookup)).toEqual(
      expect.objectContaining({ reason: 'url_refused' }),
    );
    expect(await production.registrationRefusal('https://10.0.0.1/', lookup)).toEqual(
      expect.objectContaining({ reason: 'address_refused' }),
    );
    expect(await production.registrationRefusal('not a url', lookup)).toEqual(
      expect.objectContaining({ reason: 'url_refused' }),
    );
    expect(lookup).not.toHaveBeenCalled();
  });
});
