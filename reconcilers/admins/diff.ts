/**
 * Blueprint admins (runbook D+1): every e-mail of `customers.{id}.admins` has
 * the admin role in each service that declares a `foreach: admin` hook, set
 * through that hook (the runbook's `UPDATE User SET role = 'admin'` in the
 * container). The hook's `list` runs first (in the host's batched
 * observation); only the missing grants are made.
 *
 * Rules: pure. An admin the list shows but `admins` does not name is left
 * alone under `admins_policy: keep` (Healthy, named in the message) and
 * demoted through the hook's `remove` under `demote-others`. Nothing is done
 * where the list failed; a service not running yet gets every grant, marked so.
 */
import type { ExecTarget } from '../../providers/host/commands/exec.js';
import type { Action, Health } from '../types.js';

export type AdminsPolicy = 'keep' | 'demote-others';

export interface AdminHookDesired {
  service: string;
  hook: string;
  list: ExecTarget;
  /** Where the grant runs; its command carries `{admin.email}`. */
  grant: ExecTarget;
  /** Where the demotion runs (null: the hook declares no `remove`). */
  remove: ExecTarget | null;
}

export interface AdminsDesired {
  customer: string;
  /** Lower-case e-mails, sorted. */
  admins: string[];
  policy: AdminsPolicy;
  hooks: AdminHookDesired[];
}

/** Per hook (`service/hook`): the admins the service lists, or why it could not list them. */
export type AdminListing = { state: 'listed'; admins: Set<string> } | { state: 'down' } | { state: 'error'; message: string };

export type AdminsObserved = Map<string, AdminListing>;

export interface AdminPayload {
  service: string;
  hook: string;
  email: string;
}

export function adminHookKey(h: { service: string; hook: string }): string {
  return `${h.service}/${h.hook}`;
}

/** The e-mails a list command printed: a JSON array of e-mails or of objects with `email`, lower-cased. */
export function parseAdminListing(output: string): Set<string> {
  const parsed = JSON.parse(output.trim() || '[]') as unknown;
  if (!Array.isArray(parsed)) throw new Error('the list command did not print a JSON array');
  const emails = parsed.map((e) => (typeof e === 'string' ? e : e && typeof e === 'object' && typeof (e as { email?: unknown }).email === 'string' ? (e as { email: string }).email : null));
  return new Set(emails.filter((e): e is string => e !== null).map((e) => e.toLowerCase()));
}

/** Admins a service lists that `admins` does not name. */
function unlisted(desired: AdminsDesired, listing: AdminListing | undefined): string[] {
  if (listing?.state !== 'listed') return [];
  return [...listing.admins].filter((e) => !desired.admins.includes(e)).sort();
}

export function diffAdmins(desired: AdminsDesired, observed: AdminsObserved | null): Action<AdminPayload>[] {
  const actions: Action<AdminPayload>[] = [];
  for (const h of desired.hooks) {
    const listing = observed?.get(adminHookKey(h));
    if (listing?.state === 'error') continue;
    const have = listing?.state === 'listed' ? listing.admins : new Set<string>();
    const when = listing?.state === 'listed' ? '' : ` (once ${h.service} runs)`;
    for (const email of desired.admins) {
      if (have.has(email)) continue;
      actions.push({ kind: 'admins', op: 'grant', target: `admin:${h.service}/${email}`, summary: `make ${email} admin in ${h.service} with its ${h.hook} hook${when}`, payload: { service: h.service, hook: h.hook, email } });
    }
    if (desired.policy !== 'demote-others' || !h.remove) continue;
    for (const email of unlisted(desired, listing)) {
      actions.push({ kind: 'admins', op: 'demote', target: `admin:${h.service}/${email}`, summary: `demote ${email} in ${h.service} (not in admins; admins_policy demote-others)`, payload: { service: h.service, hook: h.hook, email } });
    }
  }
  return actions;
}

export function healthAdmins(desired: AdminsDesired, observed: AdminsObserved | null): Health {
  if (!observed) return { status: 'Unknown', reason: 'NotObserved', message: 'the host could not be observed' };
  const listings = desired.hooks.map((h) => [h, observed.get(adminHookKey(h))] as const);
  const errors = listings.filter(([, l]) => l?.state === 'error');
  if (errors.length) return { status: 'Degraded', reason: 'ListFailed', message: errors.map(([h, l]) => `${h.service}: ${(l as { message: string }).message}`).join('; ') };
  const down = listings.filter(([, l]) => l?.state !== 'listed');
  if (down.length) return { status: 'Missing', reason: 'ServiceDown', message: `${down.map(([h]) => h.service).join(', ')} not running: admins cannot be listed` };
  const actions = diffAdmins(desired, observed);
  const demotes = actions.filter((a) => a.op === 'demote');
  if (demotes.length) return { status: 'Degraded', reason: 'UnlistedAdmin', message: `admin without being in admins: ${demotes.map((a) => `${a.payload.email} in ${a.payload.service}`).join(', ')}` };
  if (actions.length) return { status: 'Missing', reason: 'NotAdmin', message: `not admin yet: ${actions.map((a) => `${a.payload.email} in ${a.payload.service}`).join(', ')}` };
  const stuck = desired.policy === 'demote-others' ? listings.filter(([h, l]) => !h.remove && unlisted(desired, l).length) : [];
  if (stuck.length) return { status: 'Degraded', reason: 'CannotDemote', message: `admins_policy demote-others, but the ${stuck.map(([h]) => `${h.service} ${h.hook} hook`).join(', ')} has no remove command: add one to the manifest, or use admins_policy keep` };
  const kept = listings.flatMap(([h, l]) => unlisted(desired, l).map((e) => `${e} in ${h.service}`));
  const keptNote = kept.length ? `; also admin, kept (admins_policy ${desired.policy}): ${kept.join(', ')}` : '';
  return { status: 'Healthy', reason: 'Admins', message: `${desired.admins.length} admin(s) set in ${desired.hooks.map((h) => h.service).join(', ')}${keptNote}` };
}
