// The ledger's storage: plain files under DATA_DIR (in the cluster, the StatefulSet's persistent volume).
//   schema.json     {"version": n}: the migrations applied so far
//   entries.jsonl   one entry per line, appended and fsynced before a write is acknowledged (migration 1)
//   balances.json   per account and currency, rewritten atomically after each entry (migration 2)
// Writes are serialized in this one process; a StatefulSet of one replica keeps it the only writer.

import { constants } from 'node:fs';
import { access, mkdir, open, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import type { AccountBalance, EntryInput, LedgerEntry, SchemaStatus } from '../payments-shared/ledger.js';
import { isLedgerEntry } from '../payments-shared/ledger.js';

interface Migration {
  readonly version: number;
  readonly name: string;
  readonly apply: (dir: string) => Promise<void>;
}

type Balances = Record<string, Record<string, number>>;

const SCHEMA = 'schema.json';
const ENTRIES = 'entries.jsonl';
const BALANCES = 'balances.json';

async function writeAtomically(path: string, text: string): Promise<void> {
  const tmp = `${path}.tmp`;
  const handle = await open(tmp, 'w');
  try {
    await handle.writeFile(text, 'utf8');
    await handle.datasync();
  } finally {
    await handle.close();
  }
  await rename(tmp, path);
}

async function readEntries(dir: string): Promise<LedgerEntry[]> {
  const text = await readFile(join(dir, ENTRIES), 'utf8');
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line, i) => {
      const entry: unknown = JSON.parse(line);
      if (!isLedgerEntry(entry)) throw new Error(`${ENTRIES} line ${i + 1} is not a ledger entry`);
      return entry;
    });
}

function sumBalances(entries: readonly LedgerEntry[]): Balances {
  const balances: Balances = {};
  for (const e of entries) {
    const account = (balances[e.account] ??= {});
    account[e.currency] = (account[e.currency] ?? 0) + e.amount;
  }
  return balances;
}

/** The schema, in order; a migration is applied once and recorded in schema.json. */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: '001-create-entries',
    apply: async (dir) => {
      const handle = await open(join(dir, ENTRIES), 'a');
      await handle.close();
    },
  },
  {
    version: 2,
    name: '002-balances-by-account',
    apply: async (dir) =>
      writeAtomically(join(dir, BALANCES), JSON.stringify(sumBalances(await readEntries(dir)))),
  },
];

export const LATEST = MIGRATIONS.at(-1)!.version;

export type PutResult =
  | { readonly outcome: 'created' | 'unchanged'; readonly entry: LedgerEntry }
  | { readonly outcome: 'conflict'; readonly entry: LedgerEntry };

export class SchemaBehindError extends Error {
  override name = 'SchemaBehindError';
}

export class LedgerStore {
  private version = 0;
  private readonly entries = new Map<string, LedgerEntry>();
  private balances: Balances = {};
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(private readonly dir: string) {}

  /** Opens the ledger in `dir`, which must be a writable directory. */
  static async open(dir: string): Promise<LedgerStore> {
    await mkdir(dir, { recursive: true });
    try {
      await access(dir, constants.W_OK);
    } catch {
      throw new Error(`DATA_DIR ${dir} is not writable; mount the ledger's volume there`);
    }
    const store = new LedgerStore(dir);
    await store.load();
    return store;
  }

  private async load(): Promise<void> {
    let version = 0;
    try {
      const schema: unknown = JSON.parse(await readFile(join(this.dir, SCHEMA), 'utf8'));
      const v = (schema as { version?: unknown }).version;
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw new Error(`${SCHEMA} has no version`);
      version = v;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    if (version > LATEST) {
      throw new Error(`schema version ${version} is newer than this ledger's ${LATEST}; run a newer image`);
    }
    this.version = version;
    this.entries.clear();
    if (version >= 1) for (const e of await readEntries(this.dir)) this.entries.set(e.id, e);
    this.balances =
      version >= 2 ? (JSON.parse(await readFile(join(this.dir, BALANCES), 'utf8')) as Balances) : {};
  }

  /** Runs `task` after every write before it: one writer at a time. */
  private serialized<T>(task: () => Promise<T>): Promise<T> {
    const run = this.queue.then(task, task);
    this.queue = run.catch(() => undefined);
    return run;
  }

  status(): SchemaStatus {
    return {
      version: this.version,
      latest: LATEST,
      pending: MIGRATIONS.filter((m) => m.version > this.version).map((m) => m.name),
    };
  }

  /** Applies every pending migration in order; running it again applies nothing. */
  migrate(): Promise<{ from: number; to: number; applied: string[] }> {
    return this.serialized(async () => {
      const from = this.version;
      const applied: string[] = [];
      for (const m of MIGRATIONS.filter((x) => x.version > this.version)) {
        await m.apply(this.dir);
        await writeAtomically(join(this.dir, SCHEMA), JSON.stringify({ version: m.version }));
        applied.push(m.name);
        this.version = m.version;
      }
      await this.load();
      return { from, to: this.version, applied };
    });
  }

  private current(): void {
    if (this.version < LATEST) {
      throw new SchemaBehindError(
        `schema version ${this.version} is behind ${LATEST}; run the migration (POST /schema/migrate)`,
      );
    }
  }

  get(id: string): LedgerEntry | undefined {
    this.current();
    return this.entries.get(id);
  }

  balance(account: string): AccountBalance {
    this.current();
    return { account, balances: { ...this.balances[account] } };
  }

  /** Records an entry once: the same id with the same content again is unchanged, with other content a conflict. */
  put(id: string, input: EntryInput): Promise<PutResult> {
    return this.serialized(async () => {
      this.current();
      const existing = this.entries.get(id);
      if (existing !== undefined) {
        const same =
          existing.account === input.account &&
          existing.amount === input.amount &&
          existing.currency === input.currency &&
          existing.reference === input.reference;
        return { outcome: same ? 'unchanged' : 'conflict', entry: existing };
      }
      const entry: LedgerEntry = {
        id,
        account: input.account,
        amount: input.amount,
        currency: input.currency,
        reference: input.reference,
        recordedAt: new Date().toISOString(),
      };
      const handle = await open(join(this.dir, ENTRIES), 'a');
      try {
        await handle.appendFile(`${JSON.stringify(entry)}\n`, 'utf8');
        await handle.datasync();
      } finally {
        await handle.close();
      }
      this.entries.set(id, entry);
      const account = (this.balances[entry.account] ??= {});
      account[entry.currency] = (account[entry.currency] ?? 0) + entry.amount;
      await writeAtomically(join(this.dir, BALANCES), JSON.stringify(this.balances));
      return { outcome: 'created', entry };
    });
  }
}
