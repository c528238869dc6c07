import { checkResolved, checkUrl, type WebhookTargetPolicy } from './webhook-target';

const PRODUCTION: WebhookTargetPolicy = { allowHttp: false, allowPrivate: false };
const LOCAL: WebhookTargetPolicy = { allowHttp: true, allowPrivate: true };

const verdict = (url: string, policy: WebhookTargetPolicy): string | null =>
  checkUrl(new URL(url), policy)?.reason ?? null;

describe('checkUrl', () => {
  it.each([
    'https://merchant.example/hooks',
    'https://merchant.example:443/hooks',
    'https://merchant.example:8443/hooks',
    'https://MERCHANT.example./hooks?x=1',
    'https://8.8.8.8/hooks',
    'https://[2606:4700:4700::1111]/hooks',
  ])('accepts %s in production', (url) => {
    expect(verdict(url, PRODUCTION)).toBeNull();
  });

  it.each([
    ['http://merchant.example/hooks', 'url_refused'],
    ['https://user:pass@merchant.example/hooks', 'url_refused'],
    ['https://user@merchant.example/hooks', 'url_refused'],
    ['https://merchant.example:22/hooks', 'url_refused'],
    ['https://merchant.example:1023/hooks', 'url_refused'],
    ['https://api.localhost/hooks', 'address_refused'],
    ['https://intranet/hooks', 'address_refused'],
    ['https://printer.local/hooks', 'address_refused'],
    ['https://db.internal/hooks', 'address_refused'],
    ['https://nas.home.arpa/hooks', 'address_refused'],
    ['https://metadata.google.internal/hooks', 'address_refused'],
    ['https://metadata.google.internal./hooks', 'address_refused'],
    ['https://127.0.0.1/hooks', 'address_refused'],
    // WHATWG URL reads these as 127.0.0.1: hex, decimal and short forms.
    ['https://0x7f.1/hooks', 'address_refused'],
    ['https://2130706433/hooks', 'address_refused'],
    ['https://127.1/hooks', 'address_refused'],
    ['https://[::1]/hooks', 'address_refused'],
    ['https://[::ffff:127.0.0.1]/hooks', 'address_refused'],
    ['https://169.254.169.254/hooks', 'address_refused'],
    ['https://0.0.0.0/hooks', 'address_refused'],
  ])('refuses %s in production (%s)', (url, reason) => {
    expect(verdict(url, PRODUCTION)).toBe(reason);
  });

  it('allows http and local hosts with the local policy, never metadata nor odd ports', () => {
    expect(verdict('http://localhost:8080/hooks', LOCAL)).toBeNull();
    expect(verdict('http://127.0.0.1:3000/hooks', LOCAL)).toBeNull();
    expect(verdict('http://10.0.0.5/hooks', LOCAL)).toBeNull();
    expect(verdict('http://intranet/hooks', LOCAL)).toBeNull();
    expect(verdict('http://169.254.169.254/latest', LOCAL)).toBe('address_refused');
    expect(verdict('http://metadata.google.internal/', LOCAL)).toBe('address_refused');
    expect(verdict('http://224.0.0.1/hooks', LOCAL)).toBe('address_refused');
    expect(verdict('http://127.0.0.1:25/hooks', LOCAL)).toBe('url_refused');
    expect(verdict('ftp://127.0.0.1/hooks', LOCAL)).toBe('url_refused');
  });

  it('says what is wrong without echoing the URL', () => {
    const refusal = checkUrl(new URL('https://u:s3cret@merchant.example/'), PRODUCTION);
    expect(refusal?.message).toMatch(/user name or password/);
    expect(refusal?.message).not.toMatch(/s3cret/);
    expect(checkUrl(new URL('https://10.1.2.3/'), PRODUCTION)?.message).toBe(
      "webhook_url's host is a private address; webhooks go to public addresses only",
    );
  });
});

describe('checkResolved', () => {
  it('refuses localhost by what it resolves to, like any name', () => {
    expect(verdict('https://localhost/hooks', PRODUCTION)).toBeNull();
    expect(
      checkResolved('localhost', [{ address: '127.0.0.1', family: 4 }], PRODUCTION)?.reason,
    ).toBe('address_refused');
  });

  it('refuses a name if any address is refused, saying it resolves there', () => {
    const addresses = [
      { address: '8.8.8.8', family: 4 },
      { address: 'fd00::1', family: 6 },
    ];
    expect(checkResolved('merchant.example', addresses, PRODUCTION)?.message).toBe(
      "webhook_url's host resolves to a private address; webhooks go to public addresses only",
    );
    expect(checkResolved('merchant.example', addresses.slice(0, 1), PRODUCTION)).toBeNull();
    expect(checkResolved('merchant.example', addresses, LOCAL)).toBeNull();
  });
});
