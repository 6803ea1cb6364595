// ledger: the payments' book of record, a small database over HTTP that keeps its data in files under
// DATA_DIR (the StatefulSet's persistent volume in the cluster). Every request but the health checks
// must carry the database credentials (LEDGER_DB_USER, LEDGER_DB_PASSWORD) as HTTP Basic authentication.
//   GET  /schema                  {"version", "latest", "pending"}
//   POST /schema/migrate          applies the pending migrations (the migration Job calls it)
//   PUT  /entries/:id             records an entry once (201; the same again 200; other content 409)
//   GET  /entries/:id             one entry (404 for an unknown id)
//   GET  /accounts/:account       the account's balances by currency
// Until the schema is migrated the data endpoints answer 503, while /readyz stays 200: the migration
// Job reaches the ledger through its Service, which only lists ready pods.

import type { EntryInput } from '../payments-shared/ledger.js';
import { ACCOUNT, ID, entryProblem, hasCredentials, readDbCredentials } from '../payments-shared/ledger.js';
import { readString } from '../shared/config.js';
import { json, runService } from '../shared/server.js';
import type { Reply, RequestContext, Route } from '../shared/server.js';
import { LedgerStore, SchemaBehindError } from './store.js';

const UNAUTHORIZED: Reply = json(401, { error: 'missing or wrong database credentials' });

await runService({
  name: 'ledger',
  build: async (env) => {
    const credentials = readDbCredentials(env);
    const store = await LedgerStore.open(readString(env, 'DATA_DIR', '/var/lib/ledger'));
    const guarded = (route: Route): Route => ({
      ...route,
      handler: async (ctx: RequestContext) => {
        if (!hasCredentials(ctx.headers, credentials)) return UNAUTHORIZED;
        try {
          return await route.handler(ctx);
        } catch (error) {
          if (error instanceof SchemaBehindError) return json(503, { error: error.message });
          throw error;
        }
      },
    });
    const routes: Route[] = [
      { path: '/schema', handler: () => json(200, store.status()) },
      {
        path: '/schema/migrate',
        method: 'POST',
        handler: async () => json(200, await store.migrate()),
      },
      {
        path: '/entries/:id',
        method: 'PUT',
        handler: async ({ params, body }) => {
          const id = params.id ?? '';
          if (!ID.test(id)) return json(400, { error: 'id must be 1 to 64 letters, digits, "-" and "_"' });
          const problem = entryProblem(body);
          if (problem !== undefined) return json(400, { error: problem });
          const result = await store.put(id, body as EntryInput);
          if (result.outcome === 'conflict')
            return json(409, { error: 'entry exists with other content', entry: result.entry });
          return json(result.outcome === 'created' ? 201 : 200, result.entry);
        },
      },
      {
        path: '/entries/:id',
        handler: ({ params }) => {
          const entry = store.get(params.id ?? '');
          return entry === undefined
            ? json(404, { error: 'no such entry', id: params.id })
            : json(200, entry);
        },
      },
      {
        path: '/accounts/:account',
        handler: ({ params }) => {
          const account = params.account ?? '';
          if (!ACCOUNT.test(account)) return json(400, { error: 'not an account name' });
          return json(200, store.balance(account));
        },
      },
    ];
    return { routes: routes.map(guarded) };
  },
});
