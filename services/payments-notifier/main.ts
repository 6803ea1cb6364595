// notifier: tells account holders about their payments. It runs in an ambient namespace behind a
// waypoint; the api posts an event for every recorded payment.
//   POST /events    {"type": "payment.recorded", "paymentId", "account", "amount", "currency"} → 202
//   GET  /events    the most recent events (up to NOTIFIER_KEEP, newest last)
// Delivery is one "notification" JSON log line per event, which a log pipeline forwards (mail, chat);
// the service keeps no state beyond the recent events in memory.

import { ID, paymentProblem } from '../payments-shared/ledger.js';
import { readInt } from '../shared/config.js';
import { json, runService } from '../shared/server.js';

const TYPES = ['payment.recorded'] as const;

interface PaymentEvent {
  readonly type: (typeof TYPES)[number];
  readonly paymentId: string;
  readonly account: string;
  readonly amount: number;
  readonly currency: string;
  readonly receivedAt: string;
}

function eventProblem(value: unknown): string | undefined {
  const record = value as Record<string, unknown>;
  const payment = paymentProblem(value);
  if (payment !== undefined) return payment;
  if (!TYPES.includes(record.type as PaymentEvent['type'])) return `type must be one of ${TYPES.join(', ')}`;
  if (typeof record.paymentId !== 'string' || !ID.test(record.paymentId))
    return 'paymentId must be 1 to 64 letters, digits, "-" and "_"';
  return undefined;
}

await runService({
  name: 'notifier',
  build: (env, _config, log) => {
    const keep = readInt(env, 'NOTIFIER_KEEP', 100, 1, 10_000);
    const recent: PaymentEvent[] = [];
    return {
      routes: [
        {
          path: '/events',
          method: 'POST',
          handler: ({ body, requestId }) => {
            const problem = eventProblem(body);
            if (problem !== undefined) return json(400, { error: problem });
            const b = body as Omit<PaymentEvent, 'receivedAt'>;
            const event: PaymentEvent = {
              type: b.type,
              paymentId: b.paymentId,
              account: b.account,
              amount: b.amount,
              currency: b.currency,
              receivedAt: new Date().toISOString(),
            };
            recent.push(event);
            if (recent.length > keep) recent.splice(0, recent.length - keep);
            log.info('notification', { request_id: requestId, to: `account:${event.account}`, event });
            return json(202, { accepted: true, paymentId: event.paymentId });
          },
        },
        { path: '/events', handler: () => json(200, { events: recent }) },
      ],
    };
  },
});
