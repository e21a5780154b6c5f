/**
 * The backup's desired files: the shell files it pushes (real .sh files in
 * providers/host/scripts/backup/, shellcheck-clean: lib, backup, verify,
 * schedule; observe is the observation's) and
 * backup.conf (providers/host/commands/backup.ts renders it) from the service
 * manifests; the observation's section (parsed by providers/host/facts/backup.ts).
 *
 * Rules: pure functions (providers/host/scripts.ts reads the .sh files once).
 */
import { createHash } from 'node:crypto';
import { observeBackupScript, renderConf } from '../../providers/host/commands/backup.js';
import { parseBackupObservation } from '../../providers/host/facts/backup.js';
import { type BackupScriptFile, scriptText } from '../../providers/host/scripts.js';
import type { CustomersFile } from '../../schemas/customers.js';
import { durationMs, type ServiceManifest } from '../../schemas/service-manifest.js';
import { serviceOrder } from '../../schemas/repo.js';
import { expandTemplate } from '../templates.js';
import { resticPasswordItem } from '../vault-names.js';
import type { BackupDesired, BackupItem, BackupObserved, HostFile } from './diff.js';

/** The text of one of the backup's shell files (providers/host/scripts/backup/). */
export function script(name: BackupScriptFile): string {
  return scriptText(`backup/${name}`);
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** What the customer's manifests say to back up (services in dependency order), or null when none has a `backup:` block. */
export function backupItems(customers: CustomersFile, manifests: Map<string, ServiceManifest>, id: string): { services: string[]; items: BackupItem[]; maxAge: string } | null {
  const customer = customers.customers[id];
  if (!customer) return null;
  const services: string[] = [];
  const items: BackupItem[] = [];
  let maxAge: string | null = null;
  for (const service of serviceOrder(manifests)) {
    const manifest = manifests.get(service);
    if (!manifest?.backup || !customers.services[service]?.[id]) continue;
    const vars = { customer: id, service, publicDomain: customer.public_domain, ref: manifest.kind === 'stack' ? manifest.source.ref : '' };
    const project = manifest.kind === 'stack' ? expandTemplate(manifest.compose.project, vars) : '';
    services.push(service);
    for (const dump of manifest.backup.dumps) {
      items.push({ kind: 'dump', service, project, container: dump.exec.container, file: dump.file, command: dump.exec.command.map((a) => expandTemplate(a, vars)), load: dump.load ? dump.load.command.map((a) => expandTemplate(a, vars)) : null });
    }
    for (const volume of manifest.backup.volumes) items.push({ kind: 'volume', service, name: expandTemplate(volume, vars) });
    if (maxAge === null || durationMs(manifest.backup.max_age) < durationMs(maxAge)) maxAge = manifest.backup.max_age;
  }
  return services.length ? { services, items, maxAge: maxAge! } : null;
}

const SCRIPTS = ['lib.sh', 'backup.sh', 'verify.sh', 'schedule.sh'] as const;

export function desiredBackup(input: { customer: string; customers: CustomersFile; manifests: Map<string, ServiceManifest>; toolPaths: readonly string[]; offsite: string | null; intervalMinutes: number; verifyEveryDays: number }): BackupDesired | null {
  const found = backupItems(input.customers, input.manifests, input.customer);
  if (!found) return null;
  const offsite = input.offsite ? input.offsite.replaceAll('{customer}', input.customer) : null;
  const conf = renderConf({ ...input, items: found.items, offsite });
  const file = (path: string, text: string, mode: number): HostFile => ({ path, text, sha256: sha256(text), mode });
  const files = [file('backup.conf', conf, 0o644), ...SCRIPTS.map((name) => file(`bin/${name}`, script(name), 0o755))];
  return {
    customer: input.customer,
    services: found.services,
    items: found.items,
    maxAge: found.maxAge,
    maxAgeMs: durationMs(found.maxAge),
    passwordItem: resticPasswordItem(input.customer),
    files,
    scheduleHash: sha256(`${script('schedule.sh')}\n${input.intervalMinutes}`).slice(0, 16),
    offsite,
    verifyEveryDays: input.verifyEveryDays,
  };
}

/** The observation section's script (observe.sh after where the backup lives and where tools are). */
export function observeScript(toolPaths: readonly string[]): string {
  return observeBackupScript(toolPaths, script('observe.sh'));
}

/** The observation from observe.sh's output (pure); `passwordDigest` comes from the vault listing. */
export function parseObservation(output: string, passwordDigest: string | null): BackupObserved {
  const facts = parseBackupObservation(output);
  return { ...facts, passwordDigest };
}
