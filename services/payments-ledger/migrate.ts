// The ledger's schema migration, run to completion by a Job (the ledger image with another command):
// POST /schema/migrate on the ledger with the database credentials, retried while the ledger (or the
// mesh in front of it) is not reachable yet, until MIGRATE_DEADLINE_MS. Exit 0 once the schema is
// current, 1 on wrong credentials, a refused migration or the deadline.
//   LEDGER_URL            http://ledger:8080
//   LEDGER_DB_USER, LEDGER_DB_PASSWORD   required
//   MIGRATE_DEADLINE_MS   300000     give up after this long
//   MIGRATE_RETRY_MS      2000       pause between attempts
//   UPSTREAM_TIMEOUT_MS   10000      deadline of each attempt

import { basicAuthorization, readDbCredentials } from '../payments-shared/ledger.js';
import { ConfigError, readInt, readString, readUrlList } from '../shared/config.js';
import { sleep } from '../shared/faults.js';
import { createLogger, errorMessage } from '../shared/log.js';
import { createUpstream } from '../shared/upstream.js';

const log = createLogger(readString(process.env, 'SERVICE_NAME', 'ledger-migrate'), 'v1');

async function migrate(): Promise<number> {
  let settings;
  try {
    settings = {
      ledger: readUrlList(process.env, 'LEDGER_URL', 'http://ledger:8080'),
      credentials: readDbCredentials(process.env),
      deadlineMs: readInt(process.env, 'MIGRATE_DEADLINE_MS', 300_000, 1, 86_400_000),
      retryMs: readInt(process.env, 'MIGRATE_RETRY_MS', 2000, 1, 600_000),
      timeoutMs: readInt(process.env, 'UPSTREAM_TIMEOUT_MS', 10_000, 1, 600_000),
    };
  } catch (error) {
    log.error('invalid configuration', {
      error: error instanceof ConfigError ? error.message : errorMessage(error),
    });
    return 1;
  }
  const ledger = createUpstream('ledger', settings.ledger, {
    timeoutMs: settings.timeoutMs,
    userAgent: 'ledger-migrate/v1',
  });
  const headers = { authorization: basicAuthorization(settings.credentials) };
  const giveUpAt = Date.now() + settings.deadlineMs;
  try {
    for (let attempt = 1; ; attempt++) {
      let problem: string;
      try {
        const answer = await ledger.post('/schema/migrate', {}, headers);
        if (answer.status === 200) {
          log.info('migrated', { attempt, ...(answer.body as Record<string, unknown>) });
          return 0;
        }
        if (answer.status === 401 || answer.status === 403) {
          log.error('migration refused', { attempt, status: answer.status, body: answer.body });
          return 1;
        }
        problem = `ledger answered ${answer.status}`;
      } catch (error) {
        problem = errorMessage(error);
      }
      if (Date.now() + settings.retryMs >= giveUpAt) {
        log.error('migration did not complete before the deadline', { attempt, error: problem });
        return 1;
      }
      log.warn('ledger not reachable yet, retrying', { attempt, error: problem, retry_ms: settings.retryMs });
      await sleep(settings.retryMs);
    }
  } finally {
    ledger.close();
  }
}

process.exitCode = await migrate();
