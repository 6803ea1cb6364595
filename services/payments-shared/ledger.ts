// What the payments services share: the ledger's entries and their checks, and the ledger's database
// credentials (LEDGER_DB_USER, LEDGER_DB_PASSWORD), which every client of the ledger presents as HTTP
// Basic authentication and the ledger itself checks. In the cluster they come from the Secret the
// platform creates (README, "payments"); they are never baked into an image or the chart.

import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { ConfigError } from '../shared/config.js';
import type { Env } from '../shared/config.js';

/** A movement on an account: a positive amount in minor units (cents) of a currency. */
export interface EntryInput {
  readonly account: string;
  readonly amount: number;
  readonly currency: string;
  /** Where the money came from, e.g. the payment provider's charge id. */
  readonly reference: string;
}

export interface LedgerEntry extends EntryInput {
  readonly id: string;
  /** When the ledger recorded it (ISO 8601). */
  readonly recordedAt: string;
}

export interface AccountBalance {
  readonly account: string;
  /** Sum of the entries' amounts, in minor units, by currency. */
  readonly balances: Readonly<Record<string, number>>;
}

export interface SchemaStatus {
  readonly version: number;
  readonly latest: number;
  readonly pending: readonly string[];
}

export const ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
export const ACCOUNT = /^[a-z0-9][a-z0-9-]{0,62}$/;
export const CURRENCY = /^[A-Z]{3}$/;
/** Largest amount of one entry, in minor units: 1 000 000.00. */
export const MAX_AMOUNT = 100_000_000;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The problem with a payment's account, amount and currency, or undefined when they are fine. */
export function paymentProblem(value: unknown): string | undefined {
  if (!isRecord(value)) return 'the body must be a JSON object';
  if (typeof value.account !== 'string' || !ACCOUNT.test(value.account))
    return 'account must be 1 to 63 lower-case letters, digits and "-"';
  if (
    typeof value.amount !== 'number' ||
    !Number.isInteger(value.amount) ||
    value.amount < 1 ||
    value.amount > MAX_AMOUNT
  )
    return `amount must be a whole number of minor units (cents) from 1 to ${MAX_AMOUNT}`;
  if (typeof value.currency !== 'string' || !CURRENCY.test(value.currency))
    return 'currency must be an ISO 4217 code such as "EUR"';
  return undefined;
}

/** The problem with a ledger entry's body, or undefined when it is fine. */
export function entryProblem(value: unknown): string | undefined {
  const payment = paymentProblem(value);
  if (payment !== undefined) return payment;
  const reference = (value as Record<string, unknown>).reference;
  if (typeof reference !== 'string' || reference === '' || reference.length > 128)
    return 'reference must be a string of 1 to 128 characters';
  return undefined;
}

export function isLedgerEntry(value: unknown): value is LedgerEntry {
  return (
    entryProblem(value) === undefined &&
    typeof (value as Record<string, unknown>).id === 'string' &&
    typeof (value as Record<string, unknown>).recordedAt === 'string'
  );
}

export function isSchemaStatus(value: unknown): value is SchemaStatus {
  return (
    isRecord(value) &&
    typeof value.version === 'number' &&
    typeof value.latest === 'number' &&
    Array.isArray(value.pending) &&
    value.pending.every((name) => typeof name === 'string')
  );
}

export interface DbCredentials {
  readonly user: string;
  readonly password: string;
}

/** LEDGER_DB_USER and LEDGER_DB_PASSWORD; both are required, there is no default password. */
export function readDbCredentials(env: Env): DbCredentials {
  const user = env.LEDGER_DB_USER?.trim() ?? '';
  const password = env.LEDGER_DB_PASSWORD ?? '';
  if (user === '' || password === '') {
    throw new ConfigError(
      'LEDGER_DB_USER and LEDGER_DB_PASSWORD must both be set (in the cluster: from the Secret ledger-db)',
    );
  }
  if (user.includes(':')) throw new ConfigError('LEDGER_DB_USER must not contain ":" (HTTP Basic syntax)');
  return { user, password };
}

/** The Authorization header value a client of the ledger sends. */
export function basicAuthorization(credentials: DbCredentials): string {
  return `Basic ${Buffer.from(`${credentials.user}:${credentials.password}`, 'utf8').toString('base64')}`;
}

/** Whether a request carries exactly these credentials (compared in constant time). */
export function hasCredentials(headers: IncomingHttpHeaders, credentials: DbCredentials): boolean {
  const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest();
  const given = headers.authorization ?? '';
  return timingSafeEqual(digest(given), digest(basicAuthorization(credentials)));
}
