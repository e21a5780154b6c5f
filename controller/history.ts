/**
 * The controller's history and last known status, in SQLite (better-sqlite3,
 * WAL): every revision seen, every reconcile, action, drift and error with
 * its revision and time, and each resource's current status. It outlives the
 * process: `axe status` and `axe history` read it while the controller runs.
 *
 * Rules:
 * - Writes are synchronous and small; readers in other processes never block
 *   the controller (WAL).
 * - An action is written as an intent before it runs and cleared when its
 *   kind finishes; intents left by a killed controller are reported at the
 *   next start (`interrupted`) and their customers reconciled first. The
 *   reconcilers observe before acting, so nothing is done twice.
 * - The ship log line is written once per customer (a unique index).
 * - No secret value is ever written: actions carry names and fingerprints.
 */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { type DriftRow, type EventType, type HistoryEvent, type IntentRow, type LeaseRow, type ResourceRow, type RevisionRow, ROLLOUT_CUSTOMER_FIELDS, type RolloutCustomerRow, type RolloutRow, type SuspensionRow } from './history-rows.js';

export type { DriftRow, EventType, HistoryEvent, IntentRow, LeaseRow, ResourceRow, RevisionRow, RolloutCustomerRow, RolloutRow, SuspensionRow } from './history-rows.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS revisions (id TEXT PRIMARY KEY, seen_at INTEGER NOT NULL, valid INTEGER NOT NULL, subject TEXT, issues TEXT, applied_at INTEGER);
CREATE TABLE IF NOT EXISTS events (id INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, type TEXT NOT NULL, customer TEXT, kind TEXT,
  revision TEXT, op TEXT, target TEXT, message TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS events_customer ON events (customer, id);
CREATE UNIQUE INDEX IF NOT EXISTS events_ship_once ON events (customer) WHERE type = 'ship';
CREATE TABLE IF NOT EXISTS reconciles (id INTEGER PRIMARY KEY AUTOINCREMENT, customer TEXT NOT NULL, revision TEXT, triggers TEXT NOT NULL,
  started_at INTEGER NOT NULL, finished_at INTEGER, sync TEXT, health TEXT, applied INTEGER, pending INTEGER, errors INTEGER);
CREATE INDEX IF NOT EXISTS reconciles_customer ON reconciles (customer, id);
CREATE TABLE IF NOT EXISTS resources (customer TEXT NOT NULL, kind TEXT NOT NULL, sync TEXT NOT NULL, health TEXT NOT NULL, reason TEXT NOT NULL,
  message TEXT NOT NULL, trap TEXT, fix TEXT, error_class TEXT, mode TEXT NOT NULL, suspended INTEGER NOT NULL, revision TEXT, desired TEXT,
  last_reconcile INTEGER NOT NULL, last_change INTEGER NOT NULL, pending TEXT NOT NULL, synced_desired TEXT, PRIMARY KEY (customer, kind));
CREATE TABLE IF NOT EXISTS drift (id INTEGER PRIMARY KEY AUTOINCREMENT, customer TEXT NOT NULL, kind TEXT NOT NULL, opened_at INTEGER NOT NULL,
  closed_at INTEGER, revision TEXT, summary TEXT NOT NULL, corrected INTEGER NOT NULL DEFAULT 0);
CREATE UNIQUE INDEX IF NOT EXISTS drift_open_once ON drift (customer, kind) WHERE closed_at IS NULL;
CREATE TABLE IF NOT EXISTS intents (customer TEXT NOT NULL, kind TEXT NOT NULL, op TEXT NOT NULL, target TEXT NOT NULL, revision TEXT,
  started_at INTEGER NOT NULL, PRIMARY KEY (customer, kind, op, target));
CREATE TABLE IF NOT EXISTS converging (customer TEXT PRIMARY KEY, since INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS rollouts (id INTEGER PRIMARY KEY AUTOINCREMENT, service TEXT NOT NULL, ref TEXT NOT NULL, from_ref TEXT,
  started_at INTEGER NOT NULL, control TEXT NOT NULL DEFAULT 'running', state TEXT NOT NULL DEFAULT 'running', updated_at INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS rollouts_service ON rollouts (service, id);
CREATE TABLE IF NOT EXISTS rollout_customers (rollout INTEGER NOT NULL, customer TEXT NOT NULL, wave INTEGER NOT NULL, admitted_at INTEGER,
  healthy_since INTEGER, done_at INTEGER, failed_at INTEGER, step TEXT, reason TEXT, offline INTEGER NOT NULL DEFAULT 0,
  waiting_window INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (rollout, customer));
CREATE TABLE IF NOT EXISTS customer_refs (customer TEXT NOT NULL, service TEXT NOT NULL, ref TEXT NOT NULL, at INTEGER NOT NULL, PRIMARY KEY (customer, service));
CREATE TABLE IF NOT EXISTS leases (customer TEXT PRIMARY KEY, token TEXT NOT NULL, holder TEXT NOT NULL, pid INTEGER NOT NULL, host TEXT NOT NULL,
  command TEXT NOT NULL, acquired_at INTEGER NOT NULL, expires_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS suspensions (customer TEXT NOT NULL, kind TEXT NOT NULL, reason TEXT NOT NULL, by TEXT NOT NULL, at INTEGER NOT NULL,
  PRIMARY KEY (customer, kind));
`;

/** Brings a database written by an older axe up to SCHEMA (columns added since). */
function migrate(db: Database.Database): void {
  const columns = new Set((db.prepare('PRAGMA table_info(resources)').all() as Array<{ name: string }>).map((c) => c.name));
  if (!columns.has('synced_desired')) {
    db.transaction(() => {
      db.exec('ALTER TABLE resources ADD COLUMN synced_desired TEXT');
      // What the old rows knew: a Synced row was Synced under its desired digest.
      db.exec("UPDATE resources SET synced_desired = desired WHERE sync = 'Synced'");
    })();
  }
}

/** The resources row, column by column (the order of putResource's INSERT). */
const RESOURCE_COLUMNS = ['customer', 'kind', 'sync', 'health', 'reason', 'message', 'trap', 'fix', 'error_class', 'mode', 'suspended', 'revision', 'desired',
  'synced_desired', 'last_reconcile', 'last_change', 'pending'] as const satisfies ReadonlyArray<keyof ResourceRow>;

export class History {
  readonly db: Database.Database;

  private constructor(db: Database.Database) { this.db = db; }

  /** Opens (creating when missing) the history database at `path`. */
  static open(path: string): History {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    const db = new Database(path);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('busy_timeout = 5000');
    db.exec(SCHEMA);
    migrate(db);
    return new History(db);
  }

  /** Opens an existing database read-only (for `axe status` and `axe history`); null when missing. */
  static openReadOnly(path: string): History | null {
    try {
      const db = new Database(path, { readonly: true, fileMustExist: true });
      db.pragma('busy_timeout = 5000');
      return new History(db);
    } catch {
      return null;
    }
  }

  close(): void { this.db.close(); }

  /** One row, or null. */
  #get<T>(sql: string, ...args: unknown[]): T | null { return (this.db.prepare<unknown[], T>(sql).get(...args) as T | undefined) ?? null; }

  #all<T>(sql: string, ...args: unknown[]): T[] { return this.db.prepare<unknown[], T>(sql).all(...args); }

  #run(sql: string, ...args: unknown[]): Database.RunResult { return this.db.prepare<unknown[]>(sql).run(...args); }

  event(e: Omit<HistoryEvent, 'id' | 'at' | 'customer' | 'kind' | 'revision' | 'op' | 'target'> & Partial<Omit<HistoryEvent, 'id' | 'type' | 'message'>>): number {
    const info = this.#run('INSERT INTO events (at, type, customer, kind, revision, op, target, message) VALUES (?, ?, ?, ?, ?, ?, ?, ?)', e.at ?? Date.now(), e.type, e.customer ?? null, e.kind ?? null, e.revision ?? null, e.op ?? null, e.target ?? null, e.message);
    return Number(info.lastInsertRowid);
  }

  events(filter: { customer?: string; limit?: number; types?: EventType[] } = {}): HistoryEvent[] {
    const where: string[] = [];
    const args: unknown[] = [];
    if (filter.customer) (where.push('customer = ?'), args.push(filter.customer));
    if (filter.types?.length) (where.push(`type IN (${filter.types.map(() => '?').join(',')})`), args.push(...filter.types));
    return this.#all<HistoryEvent>(`SELECT * FROM events ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`, ...args, filter.limit ?? 50).reverse();
  }

  /** Records a revision as seen now (again, when it comes back: a revert makes an old revision the newest). */
  recordRevision(row: { id: string; valid: boolean; subject?: string | null; issues?: unknown[] }): void {
    // Strictly increasing, so "the newest revision" is never a tie.
    const seen = Math.max(Date.now(), (this.#get<{ t: number | null }>('SELECT max(seen_at) AS t FROM revisions')?.t ?? 0) + 1);
    this.#run(
      `INSERT INTO revisions (id, seen_at, valid, subject, issues) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET seen_at = excluded.seen_at, valid = excluded.valid, issues = excluded.issues`,
      row.id, seen, row.valid ? 1 : 0, row.subject ?? null, row.issues ? JSON.stringify(row.issues) : null,
    );
  }

  markApplied(id: string): void { this.#run('UPDATE revisions SET applied_at = ? WHERE id = ?', Date.now(), id); }

  /** The last revision that was valid and applied, or null. */
  lastGoodRevision(): RevisionRow | null {
    return this.#get('SELECT * FROM revisions WHERE valid = 1 AND applied_at IS NOT NULL ORDER BY applied_at DESC LIMIT 1');
  }

  /** The most recently seen revision (good or not). */
  latestRevision(): RevisionRow | null { return this.#get('SELECT * FROM revisions ORDER BY seen_at DESC LIMIT 1'); }

  beginReconcile(customer: string, revision: string | null, triggers: string[]): number {
    return Number(this.#run('INSERT INTO reconciles (customer, revision, triggers, started_at) VALUES (?, ?, ?, ?)', customer, revision, triggers.join(','), Date.now()).lastInsertRowid);
  }

  finishReconcile(id: number, r: { sync: string; health: string; applied: number; pending: number; errors: number }): void {
    this.#run('UPDATE reconciles SET finished_at = ?, sync = ?, health = ?, applied = ?, pending = ?, errors = ? WHERE id = ?', Date.now(), r.sync, r.health, r.applied, r.pending, r.errors, id);
  }

  reconcileCount(customer?: string): number {
    return (customer ? this.#get<{ n: number }>('SELECT count(*) AS n FROM reconciles WHERE customer = ?', customer) : this.#get<{ n: number }>('SELECT count(*) AS n FROM reconciles'))!.n;
  }

  resource(customer: string, kind: string): ResourceRow | null { return this.#get('SELECT * FROM resources WHERE customer = ? AND kind = ?', customer, kind); }

  resources(customer?: string): ResourceRow[] {
    return customer ? this.#all('SELECT * FROM resources WHERE customer = ? ORDER BY rowid', customer) : this.#all('SELECT * FROM resources ORDER BY customer, rowid');
  }

  putResource(row: ResourceRow): void {
    const set = RESOURCE_COLUMNS.filter((c) => c !== 'customer' && c !== 'kind').map((c) => `${c} = excluded.${c}`);
    const sql = `INSERT INTO resources (${RESOURCE_COLUMNS.join(', ')}) VALUES (${RESOURCE_COLUMNS.map((c) => `@${c}`).join(', ')})`;
    this.db.prepare(`${sql} ON CONFLICT (customer, kind) DO UPDATE SET ${set.join(', ')}`).run(row);
  }

  /** Drops one kind's status row (a kind the customer no longer has). */
  dropResource(customer: string, kind: string): void { this.#run('DELETE FROM resources WHERE customer = ? AND kind = ?', customer, kind); }

  /** Drops a removed customer's status rows (its history stays). */
  dropResources(customer: string): void { this.#run('DELETE FROM resources WHERE customer = ?', customer); }

  customersWithStatus(): string[] {
    return this.#all<{ customer: string }>('SELECT DISTINCT customer FROM resources ORDER BY customer').map((r) => r.customer);
  }

  /** Opens drift for (customer, kind) unless already open; returns true when newly opened. */
  openDrift(customer: string, kind: string, revision: string | null, summary: string, at = Date.now()): boolean {
    return this.#run('INSERT OR IGNORE INTO drift (customer, kind, opened_at, revision, summary) VALUES (?, ?, ?, ?, ?)', customer, kind, at, revision, summary).changes > 0;
  }

  /** Closes open drift; returns the closed row or null when none was open. */
  closeDrift(customer: string, kind: string, corrected: boolean, at = Date.now()): DriftRow | null {
    const open = this.#get<DriftRow>('SELECT * FROM drift WHERE customer = ? AND kind = ? AND closed_at IS NULL', customer, kind);
    if (!open) return null;
    this.#run('UPDATE drift SET closed_at = ?, corrected = ? WHERE id = ?', at, corrected ? 1 : 0, open.id);
    return { ...open, closed_at: at, corrected: corrected ? 1 : 0 };
  }

  openDrifts(customer?: string): DriftRow[] {
    return customer ? this.#all('SELECT * FROM drift WHERE closed_at IS NULL AND customer = ? ORDER BY id', customer) : this.#all('SELECT * FROM drift WHERE closed_at IS NULL ORDER BY id');
  }

  intend(row: Omit<IntentRow, 'started_at'>): void {
    this.#run('INSERT OR REPLACE INTO intents (customer, kind, op, target, revision, started_at) VALUES (?, ?, ?, ?, ?, ?)', row.customer, row.kind, row.op, row.target, row.revision, Date.now());
  }

  clearIntents(customer: string, kind?: string): void {
    if (kind) this.#run('DELETE FROM intents WHERE customer = ? AND kind = ?', customer, kind);
    else this.#run('DELETE FROM intents WHERE customer = ?', customer);
  }

  intents(): IntentRow[] { return this.#all('SELECT * FROM intents ORDER BY started_at'); }

  /** Remembers that the controller changed something for this customer (for the ship log). */
  markConverging(customer: string): void { this.#run('INSERT OR IGNORE INTO converging (customer, since) VALUES (?, ?)', customer, Date.now()); }

  isConverging(customer: string): boolean { return this.#get('SELECT 1 FROM converging WHERE customer = ?', customer) !== null; }

  /** Writes the customer's ship log line once; true when written now. */
  ship(customer: string, revision: string | null, message: string): boolean {
    const written = this.#run("INSERT OR IGNORE INTO events (at, type, customer, revision, message) VALUES (?, 'ship', ?, ?, ?)", Date.now(), customer, revision, message).changes > 0;
    if (written) this.#run('DELETE FROM converging WHERE customer = ?', customer);
    return written;
  }

  /**
   * Takes the customer's lease when it is free or expired, in one immediate
   * transaction (an atomic compare-and-set between processes); otherwise
   * returns the row that holds it.
   */
  acquireLease(lease: Omit<LeaseRow, 'acquired_at'> & { now: number }): { ok: true } | { ok: false; held: LeaseRow } {
    const take = this.db.transaction((): { ok: true } | { ok: false; held: LeaseRow } => {
      const held = this.lease(lease.customer);
      if (held && held.expires_at > lease.now && held.token !== lease.token) return { ok: false, held };
      const acquired = held?.token === lease.token ? held.acquired_at : lease.now;
      this.#run('INSERT OR REPLACE INTO leases (customer, token, holder, pid, host, command, acquired_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)', lease.customer, lease.token, lease.holder, lease.pid, lease.host, lease.command, acquired, lease.expires_at);
      return { ok: true };
    });
    return take.immediate();
  }

  /** Extends a lease its token still holds; false when it was lost (expired and taken). */
  renewLease(customer: string, token: string, expiresAt: number): boolean {
    return this.#run('UPDATE leases SET expires_at = ? WHERE customer = ? AND token = ?', expiresAt, customer, token).changes > 0;
  }

  releaseLease(customer: string, token: string): void { this.#run('DELETE FROM leases WHERE customer = ? AND token = ?', customer, token); }

  /** The lease of a customer, expired or not, or null. */
  lease(customer: string): LeaseRow | null { return this.#get('SELECT * FROM leases WHERE customer = ?', customer); }

  /** Suspends a customer (`kind` `*`) or one of its kinds until resumed; replaces an earlier suspension of the same. */
  suspend(row: SuspensionRow): void {
    this.db.prepare('INSERT OR REPLACE INTO suspensions (customer, kind, reason, by, at) VALUES (@customer, @kind, @reason, @by, @at)').run(row);
  }

  /** Lifts a customer's suspensions (one kind's, or all of them); returns the ones lifted. */
  resume(customer: string, kind?: string): SuspensionRow[] {
    const lift = this.db.transaction((): SuspensionRow[] => {
      const rows = this.suspensions(customer).filter((r) => kind === undefined || r.kind === kind);
      for (const r of rows) this.#run('DELETE FROM suspensions WHERE customer = ? AND kind = ?', r.customer, r.kind);
      return rows;
    });
    return lift.immediate();
  }

  /** The runtime suspensions (of one customer), oldest first; none in a database written before they existed. */
  suspensions(customer?: string): SuspensionRow[] {
    try {
      return customer ? this.#all('SELECT * FROM suspensions WHERE customer = ? ORDER BY at, kind', customer) : this.#all('SELECT * FROM suspensions ORDER BY customer, at, kind');
    } catch (error) {
      if (/no such table/.test(String(error))) return [];
      throw error;
    }
  }

  /** The newest rollout of `service`, or null. */
  currentRollout(service: string): RolloutRow | null { return this.#get('SELECT * FROM rollouts WHERE service = ? ORDER BY id DESC LIMIT 1', service); }

  /** The newest rollout of each service, by service name. */
  currentRollouts(): RolloutRow[] { return this.#all('SELECT * FROM rollouts WHERE id IN (SELECT MAX(id) FROM rollouts GROUP BY service) ORDER BY service'); }

  startRollout(row: { service: string; ref: string; from_ref: string | null; state?: string; at?: number }): RolloutRow {
    const at = row.at ?? Date.now();
    const info = this.#run('INSERT INTO rollouts (service, ref, from_ref, started_at, control, state, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)', row.service, row.ref, row.from_ref, at, 'running', row.state ?? 'running', at);
    return this.#get<RolloutRow>('SELECT * FROM rollouts WHERE id = ?', Number(info.lastInsertRowid))!;
  }

  setRolloutControl(id: number, control: RolloutRow['control']): void {
    this.#run('UPDATE rollouts SET control = ?, updated_at = ? WHERE id = ?', control, Date.now(), id);
  }

  setRolloutState(id: number, state: string): void {
    this.#run('UPDATE rollouts SET state = ?, updated_at = ? WHERE id = ? AND state != ?', state, Date.now(), id, state);
  }

  rolloutCustomers(rollout: number): RolloutCustomerRow[] {
    return this.#all('SELECT * FROM rollout_customers WHERE rollout = ? ORDER BY wave, customer', rollout);
  }

  /** Creates or updates one customer's progress row (only the fields given change). */
  putRolloutCustomer(rollout: number, customer: string, fields: Partial<Omit<RolloutCustomerRow, 'rollout' | 'customer'>>): void {
    const keys = (Object.keys(fields) as Array<keyof typeof fields>).filter((k) => ROLLOUT_CUSTOMER_FIELDS.has(k));
    this.db.transaction(() => {
      this.#run('INSERT OR IGNORE INTO rollout_customers (rollout, customer, wave) VALUES (?, ?, ?)', rollout, customer, fields.wave ?? 0);
      if (keys.length) this.#run(`UPDATE rollout_customers SET ${keys.map((k) => `${k} = ?`).join(', ')} WHERE rollout = ? AND customer = ?`, ...keys.map((k) => fields[k] ?? null), rollout, customer);
    })();
  }

  /** The ref a customer last ran Synced and Healthy for a service (set by the rollout), or null. */
  customerRef(customer: string, service: string): string | null {
    return this.#get<{ ref: string }>('SELECT ref FROM customer_refs WHERE customer = ? AND service = ?', customer, service)?.ref ?? null;
  }

  setCustomerRef(customer: string, service: string, ref: string): void {
    this.#run('INSERT OR REPLACE INTO customer_refs (customer, service, ref, at) VALUES (?, ?, ?, ?)', customer, service, ref, Date.now());
  }

  /** Deletes reconcile rows older than `days` (events, drift and revisions are kept). */
  prune(days: number): number { return this.#run('DELETE FROM reconciles WHERE started_at < ?', Date.now() - days * 86_400_000).changes; }
}
