/**
 * The backup kind's observation as metrics (`axe_backup_*`), per customer:
 * the newest snapshot's time, the repository's size and snapshot count,
 * the last `restic check` result, the last restore drill's time and result,
 * and the manifests' max_age (so BackupStale compares with the customer's own).
 * Set from each reconcile's backup result; a customer that leaves is removed.
 * Times are the host's clock (epoch seconds); no secret, path or error text is a label.
 */
import { Gauge, type Registry } from 'prom-client';
import type { BackupObserved } from '../reconcilers/backup/diff.js';

type G = Gauge<'customer'>;

export class BackupMetrics {
  readonly lastSnapshot: G;
  readonly maxAge: G;
  readonly sizeBytes: G;
  readonly snapshots: G;
  readonly checkOk: G;
  readonly lastVerify: G;
  readonly verifyOk: G;

  constructor(registry: Registry) {
    const registers = [registry];
    const gauge = (name: string, help: string): G => new Gauge({ name, help, labelNames: ['customer'], registers });
    this.lastSnapshot = gauge('axe_backup_last_snapshot_timestamp_seconds', 'When the newest snapshot in the customer\'s restic repository on its host was taken (0: none).');
    this.maxAge = gauge('axe_backup_max_age_seconds', 'The max_age of the customer\'s backups (the strictest of its manifests).');
    this.sizeBytes = gauge('axe_backup_repository_size_bytes', 'Size of the restic repository on the host.');
    this.snapshots = gauge('axe_backup_snapshots', 'Snapshots in the restic repository on the host.');
    this.checkOk = gauge('axe_backup_check_success', '1 when the last restic check (a data subset, by the host\'s schedule) passed, 0 when it failed.');
    this.lastVerify = gauge('axe_backup_last_verify_timestamp_seconds', 'When the last restore drill (axe backup verify, or the schedule\'s) ran.');
    this.verifyOk = gauge('axe_backup_last_verify_success', '1 when the last restore drill passed, 0 when it failed.');
  }

  /** Records one observation (null: not observed this time, the old values stay). */
  record(customer: string, observed: BackupObserved | null): void {
    if (!observed) return;
    const l = { customer };
    if (observed.maxAgeMs !== undefined) this.maxAge.set(l, observed.maxAgeMs / 1000);
    if (observed.repo.state === 'ok') {
      this.lastSnapshot.set(l, observed.repo.latest ? observed.repo.latest.time / 1000 : 0);
      this.sizeBytes.set(l, observed.repo.sizeBytes);
      this.snapshots.set(l, observed.repo.count);
    }
    if (observed.lastCheck) this.checkOk.set(l, observed.lastCheck.ok ? 1 : 0);
    if (observed.lastVerify) {
      this.lastVerify.set(l, observed.lastVerify.at / 1000);
      this.verifyOk.set(l, observed.lastVerify.ok ? 1 : 0);
    }
  }

  remove(customer: string): void {
    for (const g of [this.lastSnapshot, this.maxAge, this.sizeBytes, this.snapshots, this.checkOk, this.lastVerify, this.verifyOk]) g.remove({ customer });
  }
}
