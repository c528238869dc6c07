import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { GatewayEnvironment } from '../gateway.env';
import {
  checkResolved,
  checkUrl,
  hostOf,
  systemResolveAll,
  type ResolveAll,
  type TargetRefusal,
  type WebhookTargetPolicy,
} from './webhook-target';

/** Resolves within `timeoutMs`, or rejects with `LookupTimeoutError`. */
export class LookupTimeoutError extends Error {
  override readonly name = 'LookupTimeoutError';
}

/** `resolveAll(name)` within `timeoutMs`: a lookup that never answers is abandoned. */
export async function resolveWithin(
  resolveAll: ResolveAll,
  name: string,
  timeoutMs: number,
): Promise<Awaited<ReturnType<ResolveAll>>> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(
      () => reject(new LookupTimeoutError(`no address within ${timeoutMs} ms`)),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([resolveAll(name), deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The webhook target policy of this gateway (`WEBHOOK_ALLOW_HTTP`,
 * `WEBHOOK_ALLOW_PRIVATE`) and the check of a URL a merchant registers. Delivery checks
 * again, against the address it connects to (`WebhookPoster`).
 */
@Injectable()
export class WebhookTargets {
  private readonly logger = new Logger(WebhookTargets.name);
  readonly policy: WebhookTargetPolicy;
  private readonly lookupTimeoutMs: number;

  constructor(config: ConfigService<GatewayEnvironment, true>) {
    this.policy = {
      allowHttp: config.get('WEBHOOK_ALLOW_HTTP', { infer: true }) === '1',
      allowPrivate: config.get('WEBHOOK_ALLOW_PRIVATE', { infer: true }) === '1',
    };
    this.lookupTimeoutMs = config.get('WEBHOOK_CONNECT_TIMEOUT_MS', { infer: true });
    if (this.policy.allowPrivate && config.get('NODE_ENV', { infer: true }) === 'production') {
      this.logger.warn(
        'WEBHOOK_ALLOW_PRIVATE=1 in production: merchants can point webhooks at loopback ' +
          'and private addresses of this network; unset it unless that is intended',
      );
    }
  }

  /**
   * Why `text` may not be registered as a webhook URL, or null when it may. A name is
   * resolved (within `WEBHOOK_CONNECT_TIMEOUT_MS`) and refused if any of its addresses
   * is; a name that does not resolve (yet) is accepted, since its DNS may not be
   * published yet: every delivery resolves and checks it again.
   */
  async registrationRefusal(
    text: string,
    resolveAll: ResolveAll = systemResolveAll,
  ): Promise<TargetRefusal | null> {
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      return { reason: 'url_refused', message: 'webhook_url must be an absolute URL' };
    }
    const refusal = checkUrl(url, this.policy);
    const host = hostOf(url);
    if (refusal || !('name' in host)) return refusal;
    try {
      const addresses = await resolveWithin(resolveAll, host.name, this.lookupTimeoutMs);
      return checkResolved(host.name, addresses, this.policy);
    } catch (error) {
      this.logger.log(`webhook host ${host.name} not resolved at registration: ${String(error)}`);
      return null;
    }
  }
}
