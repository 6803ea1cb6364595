// payments api: the ingress-facing service of the payments app.
//   POST /payments               {"account", "amount" (cents), "currency"} → 201 with the payment: charges
//                                the payment provider (HTTPS, outside the mesh), records the entry in the
//                                ledger, then tells the notifier (best effort). An Idempotency-Key header
//                                becomes the payment id, so a client's retry never charges twice.
//   GET  /payments/:id           the recorded payment (404 for an unknown id)
//   GET  /accounts/:account/balance   the account's balances by currency
//   GET  /admin/schema           the ledger's schema status; the mesh requires a JWT on /admin
// Failures: provider declines → 402; provider unreachable → 502 (nothing recorded); ledger unreachable
// after the charge → 502 naming the charge; notifier unreachable → 201 with "notified": false.
//
// Provider contract: POST {PROVIDER_URL}/v1/charges {"amount", "currency", "reference"} with an
// Idempotency-Key header, answering 2xx {"id": "<charge id>", "status": "succeeded"} or 402 when declined.

import { randomUUID } from 'node:crypto';
import type { LedgerEntry } from '../payments-shared/ledger.js';
import {
  ACCOUNT,
  ID,
  basicAuthorization,
  isLedgerEntry,
  isSchemaStatus,
  paymentProblem,
  readDbCredentials,
} from '../payments-shared/ledger.js';
import { ConfigError, readInt, readString, readUrlList } from '../shared/config.js';
import type { Env } from '../shared/config.js';
import { errorMessage } from '../shared/log.js';
import { json, runService } from '../shared/server.js';
import type { Reply } from '../shared/server.js';
import { createUpstream } from '../shared/upstream.js';
import type { UpstreamResponse } from '../shared/upstream.js';

/** The provider's base URL: https only, since the application speaks TLS to it itself. */
function readProviderUrl(env: Env): string {
  const text = readString(env, 'PROVIDER_URL', 'https://api.payments-provider.example');
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ConfigError(
      `PROVIDER_URL: "${text}" is not a URL; give e.g. https://api.payments-provider.example`,
    );
  }
  if (url.protocol !== 'https:') {
    throw new ConfigError(
      `PROVIDER_URL: "${text}" must use https:// (TLS to the provider is the application's; the mesh passes it through)`,
    );
  }
  if (url.search !== '' || url.hash !== '')
    throw new ConfigError(`PROVIDER_URL: "${text}" must not have a query or fragment`);
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}

function isCharge(value: unknown): value is { id: string; status: string } {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Record<string, unknown>).id === 'string' &&
    (value as Record<string, unknown>).id !== '' &&
    (value as Record<string, unknown>).status === 'succeeded'
  );
}

const paymentOf = (entry: LedgerEntry) => ({
  id: entry.id,
  account: entry.account,
  amount: entry.amount,
  currency: entry.currency,
  charge: entry.reference,
  recordedAt: entry.recordedAt,
});

await runService({
  name: 'payments-api',
  build: (env, config, log) => {
    const credentials = readDbCredentials(env);
    const agent = `${config.serviceName}/${config.serviceVersion}`;
    const options = { timeoutMs: config.upstreamTimeoutMs, userAgent: agent };
    const ledger = createUpstream('ledger', readUrlList(env, 'LEDGER_URL', 'http://ledger:8080'), options);
    const notifier = createUpstream(
      'notifier',
      readUrlList(env, 'NOTIFIER_URL', 'http://notifier:8080'),
      options,
    );
    const provider = createUpstream('provider', [readProviderUrl(env)], {
      timeoutMs: readInt(env, 'PROVIDER_TIMEOUT_MS', 10_000, 1, 600_000),
      userAgent: agent,
    });
    const db = { authorization: basicAuthorization(credentials) };

    /** A ledger read: the answer, or the 502 reply when the ledger cannot answer. */
    const fromLedger = async (
      path: string,
      forward: Record<string, string>,
      requestId: string,
    ): Promise<UpstreamResponse | Reply> => {
      try {
        const answer = await ledger.get(path, { ...forward, ...db });
        if (answer.status === 200 || answer.status === 404) return answer;
        throw new Error(`ledger answered ${answer.status}`);
      } catch (error) {
        log.warn('ledger unavailable', { request_id: requestId, error: errorMessage(error) });
        return json(502, { error: 'ledger unavailable' });
      }
    };

    return {
      upstreams: [ledger, notifier, provider],
      routes: [
        {
          path: '/payments',
          method: 'POST',
          handler: async ({ body, headers, forward, requestId }) => {
            const problem = paymentProblem(body);
            if (problem !== undefined) return json(400, { error: problem });
            const key = headers['idempotency-key'];
            if (key !== undefined && (typeof key !== 'string' || !ID.test(key)))
              return json(400, { error: 'Idempotency-Key must be 1 to 64 letters, digits, "-" and "_"' });
            const id = key ?? randomUUID();
            const payment = body as { account: string; amount: number; currency: string };

            let charge: { id: string };
            try {
              const answer = await provider.post(
                '/v1/charges',
                { amount: payment.amount, currency: payment.currency, reference: id },
                { 'x-request-id': requestId, 'idempotency-key': id },
              );
              if (answer.status === 402) return json(402, { error: 'payment declined by the provider', id });
              if (answer.status < 200 || answer.status > 299 || !isCharge(answer.body))
                throw new Error(`provider answered ${answer.status}`);
              charge = answer.body;
            } catch (error) {
              log.warn('provider unavailable', { request_id: requestId, error: errorMessage(error) });
              return json(502, { error: 'payment provider unavailable', id });
            }

            let entry: LedgerEntry;
            try {
              const answer = await ledger.put(
                `/entries/${encodeURIComponent(id)}`,
                {
                  account: payment.account,
                  amount: payment.amount,
                  currency: payment.currency,
                  reference: charge.id,
                },
                { ...forward, ...db },
              );
              if (answer.status === 409) return json(409, { error: 'a different payment has this id', id });
              if ((answer.status !== 201 && answer.status !== 200) || !isLedgerEntry(answer.body))
                throw new Error(`ledger answered ${answer.status}`);
              entry = answer.body;
            } catch (error) {
              // The provider has charged: say so, so the charge can be reconciled.
              log.error('charged but not recorded', {
                request_id: requestId,
                id,
                charge: charge.id,
                error: errorMessage(error),
              });
              return json(502, { error: 'ledger unavailable; the charge was made', id, charge: charge.id });
            }

            let notified = false;
            try {
              const answer = await notifier.post(
                '/events',
                {
                  type: 'payment.recorded',
                  paymentId: id,
                  account: entry.account,
                  amount: entry.amount,
                  currency: entry.currency,
                },
                forward,
              );
              notified = answer.status === 202;
              if (!notified) throw new Error(`notifier answered ${answer.status}`);
            } catch (error) {
              log.warn('notifier unavailable', { request_id: requestId, id, error: errorMessage(error) });
            }
            return json(201, { payment: { ...paymentOf(entry), notified } });
          },
        },
        {
          path: '/payments/:id',
          handler: async ({ params, forward, requestId }) => {
            const id = params.id ?? '';
            if (!ID.test(id)) return json(404, { error: 'no such payment', id });
            const answer = await fromLedger(`/entries/${encodeURIComponent(id)}`, forward, requestId);
            if (!('body' in answer)) return answer;
            if (answer.status === 404) return json(404, { error: 'no such payment', id });
            if (!isLedgerEntry(answer.body)) return json(502, { error: 'ledger unavailable' });
            return json(200, { payment: paymentOf(answer.body) });
          },
        },
        {
          path: '/accounts/:account/balance',
          handler: async ({ params, forward, requestId }) => {
            const account = params.account ?? '';
            if (!ACCOUNT.test(account)) return json(400, { error: 'not an account name' });
            const answer = await fromLedger(`/accounts/${account}`, forward, requestId);
            return 'body' in answer ? json(answer.status, answer.body) : answer;
          },
        },
        {
          path: '/admin/schema',
          handler: async ({ forward, requestId }) => {
            const answer = await fromLedger('/schema', forward, requestId);
            if (!('body' in answer)) return answer;
            return isSchemaStatus(answer.body)
              ? json(200, { ledger: answer.body })
              : json(502, { error: 'ledger unavailable' });
          },
        },
      ],
    };
  },
});
