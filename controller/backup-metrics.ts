/**
 * The backup kind's observation as metrics (`axe_backup_*`), per customer and,
 * for what each restic repository has, per `repository` (`local`: on the host;
 * `offsite`: the off-box one, when configured): the newest snapshot's time,
 * the repository's size and snapshot count, the last `restic check` result;
 * per customer the last restore drill's time and result and the manifests'
 * max_age (so BackupStale compares with the customer's own).
 * Set from each reconcile's backup result; a customer that leaves is removed.
 * Times are the host's clock (epoch seconds); no secret, path, URL or error
 * text is a label (the repository label is only `local` or `offsite`).
 */
import { Gauge, type Registry } from 'prom-client';
import type { BackupObserved, RepoObserved, StatusRecord } from '../reconcilers/backup/diff.js';

type G = Gauge<'customer'>;
type R = Gauge<'customer' | 'repository'>;
export type RepositoryLabel = 'local' | 'offsite';

export class BackupMetrics {
  readonly lastSnapshot: R;
  readonly maxAge: G;
  readonly sizeBytes: R;
  readonly snapshots: R;
  readonly checkOk: R;
  readonly lastVerify: G;
  readonly verifyOk: G;

  constructor(registry: Registry) {
    const registers = [registry];
    const gauge = (name: string, help: string): G => new Gauge({ name, help, labelNames: ['customer'], registers });
    const repo = (name: string, help: string): R => new Gauge({ name, help, labelNames: ['customer', 'repository'], registers });
    this.lastSnapshot = repo('axe_backup_last_snapshot_timestamp_seconds', 'When the newest snapshot in the customer\'s restic repository was taken (0: none); repository="local" on its host, "offsite" the off-box one.');
    this.maxAge = gauge('axe_backup_max_age_seconds', 'The max_age of the customer\'s backups (the strictest of its manifests).');
    this.sizeBytes = repo('axe_backup_repository_size_bytes', 'Size of the restic repository (offsite: as of the last run).');
    this.snapshots = repo('axe_backup_snapshots', 'Snapshots in the restic repository.');
    this.checkOk = repo('axe_backup_check_success', '1 when the last restic check passed (local: a data subset; offsite: its structure), 0 when it failed.');
    this.lastVerify = gauge('axe_backup_last_verify_timestamp_seconds', 'When the last restore drill (axe backup verify, or the schedule\'s) ran.');
    this.verifyOk = gauge('axe_backup_last_verify_success', '1 when the last restore drill passed, 0 when it failed.');
  }

  #repository(customer: string, repository: RepositoryLabel, repo: RepoObserved, check: StatusRecord | null, sizeBytes: number | null): void {
    const l = { customer, repository };
    // An off-box repository not made yet has no snapshot: 0, so BackupStale fires for it too.
    if (repo.state === 'ok' || (repo.state === 'absent' && repository === 'offsite')) {
      this.lastSnapshot.set(l, repo.state === 'ok' && repo.latest ? repo.latest.time / 1000 : 0);
      this.snapshots.set(l, repo.state === 'ok' ? repo.count : 0);
      const size = sizeBytes ?? (repo.state === 'ok' ? repo.sizeBytes : null);
      if (size !== null) this.sizeBytes.set(l, size);
    }
    if (check) this.checkOk.set(l, check.ok ? 1 : 0);
  }

  /** Records one observation (null: not observed this time, the old values stay). */
  record(customer: string, observed: BackupObserved | null): void {
    if (!observed) return;
    const l = { customer };
    if (observed.maxAgeMs !== undefined) this.maxAge.set(l, observed.maxAgeMs / 1000);
    this.#repository(customer, 'local', observed.repo, observed.lastCheck, null);
    if (observed.offsite) this.#repository(customer, 'offsite', observed.offsite.repo, observed.offsite.lastCheck, observed.offsite.sizeBytes);
    else if (observed.offsite === null) for (const g of [this.lastSnapshot, this.sizeBytes, this.snapshots, this.checkOk]) g.remove({ customer, repository: 'offsite' });
    if (observed.lastVerify) {
      this.lastVerify.set(l, observed.lastVerify.at / 1000);
      this.verifyOk.set(l, observed.lastVerify.ok ? 1 : 0);
    }
  }

  remove(customer: string): void {
    for (const g of [this.maxAge, this.lastVerify, this.verifyOk]) g.remove({ customer });
    for (const g of [this.lastSnapshot, this.sizeBytes, this.snapshots, this.checkOk]) for (const repository of ['local', 'offsite']) g.remove({ customer, repository });
  }
}
