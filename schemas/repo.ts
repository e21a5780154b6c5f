/**
 * Loads a whole config repo (customers.yaml + services/*.yaml) into the desired
 * state, with every schema and cross-file error positioned. Nothing downstream
 * acts on a repo that returned issues: the caller keeps the last good one.
 *
 * Rules:
 * - Every file read (and every directory on its way) must be a regular file
 *   (directory) inside the repo: a symbolic link, or a path that resolves
 *   outside the repo, is one issue at file:1:1 and is never followed, so
 *   nothing of its target (not its content, not its path) reaches an error,
 *   `/status` or a log. A committed link (git mode 120000) arrives here as a
 *   link in the exported revision and is refused the same way.
 */
import { lstat, readdir, readFile, realpath, stat } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { entityId, type Customer, CustomersFile } from './customers.js';
import { expandName } from './common.js';
import { type ConfigIssue, loadFile, loadText, type ParsedYaml, positionOf, sortIssues, dotted } from './load.js';
import { CUSTOMERS_FILE } from './layout.js';
import { perEntityVar, ServiceManifest, type StackManifest, withDefaultKind } from './service-manifest.js';

export { CUSTOMERS_FILE };
export const SERVICES_DIR = 'services';

export interface DesiredState {
  root: string;
  customers: CustomersFile;
  manifests: Map<string, ServiceManifest>;
  sources: { customers: ParsedYaml; services: Map<string, ParsedYaml> };
}

export type RepoLoad = { ok: true; state: DesiredState } | { ok: false; issues: ConfigIssue[] };

/** The app key in `sso.apps` whose client secret each service's slot must declare. */
export const SSO_APP_SERVICE = { blueprint: 'blueprint', vaultwarden: 'vaultwarden', frame_mcp: 'frame' } as const;

/** True for a customer that deploys its own stacks: no `services.*.{id}` slot at all. */
export function isSovereign(customers: CustomersFile, id: string): boolean {
  return !Object.values(customers.services).some((slots) => slots && id in slots);
}

/** The secret names a customer's slot for `service` declares, or null when the slot is missing. */
export function slotSecrets(customers: CustomersFile, service: string, id: string): string[] | null {
  const slot = customers.services[service]?.[id];
  return slot ? slot.secrets : null;
}

const NOT_A_LINK = 'is a symbolic link: config files must be regular files in the repo; commit the file itself (git rm --cached the link, copy the content in, git add)';

/**
 * The issue for `file` (a path relative to `root`, `/`-separated) when it or a
 * directory on its way is a symbolic link, or it resolves outside `root`;
 * null when it is a plain path in the repo or does not exist (the loader
 * reports a missing file itself). Never reads nor names a link's target.
 */
export async function repoPathIssue(root: string, file: string): Promise<ConfigIssue | null> {
  const parts = file.split('/');
  for (let i = 1; i <= parts.length; i++) {
    const rel = parts.slice(0, i).join('/');
    let info;
    try {
      info = await lstat(join(root, rel));
    } catch {
      return null;
    }
    if (info.isSymbolicLink()) return { file: rel, line: 1, col: 1, path: '', message: NOT_A_LINK };
  }
  try {
    const [base, real] = await Promise.all([realpath(root), realpath(join(root, file))]);
    if (real !== base && !real.startsWith(base + sep)) return { file, line: 1, col: 1, path: '', message: 'resolves outside the config repo: config files must be regular files in the repo' };
  } catch {
    return null;
  }
  return null;
}

/**
 * The working tree's customers.yaml as text, refusing a link the way
 * `loadRepo` does: `{ issue }` for a link or a path outside the repo (its
 * target not read), `{ text: null }` when it cannot be read.
 */
export async function readCustomersText(root: string): Promise<{ text: string | null; issue?: ConfigIssue }> {
  const issue = await repoPathIssue(root, CUSTOMERS_FILE);
  if (issue) return { text: null, issue };
  return { text: await readFile(join(root, CUSTOMERS_FILE), 'utf8').catch(() => null) };
}

/**
 * Loads and checks the repo at `root`. `customersText` replaces the working
 * tree's customers.yaml (to check a file at another ref, or an edit before it
 * is written).
 */
export async function loadRepo(root: string, options: { customersText?: string } = {}): Promise<RepoLoad> {
  try {
    const info = await stat(root);
    if (!info.isDirectory()) return { ok: false, issues: [{ file: root, line: 1, col: 1, path: '', message: 'config repo path is not a directory' }] };
  } catch {
    return { ok: false, issues: [{ file: root, line: 1, col: 1, path: '', message: 'config repo not found (pass --repo DIR or set AXE_REPO)' }] };
  }
  const issues: ConfigIssue[] = [];
  const customersLink = options.customersText === undefined ? await repoPathIssue(root, CUSTOMERS_FILE) : null;
  if (customersLink) issues.push(customersLink);
  const customersLoad = customersLink
    ? null
    : options.customersText === undefined
      ? await loadFile(join(root, CUSTOMERS_FILE), CUSTOMERS_FILE, CustomersFile)
      : loadText(options.customersText, CUSTOMERS_FILE, CustomersFile);
  if (customersLoad && !customersLoad.ok) issues.push(...customersLoad.issues);

  const manifests = new Map<string, ServiceManifest>();
  const serviceSources = new Map<string, ParsedYaml>();
  let entries: string[] = [];
  const servicesLink = await repoPathIssue(root, SERVICES_DIR);
  if (servicesLink) issues.push(servicesLink);
  else {
    try {
      entries = (await readdir(join(root, SERVICES_DIR))).filter((f) => /\.ya?ml$/.test(f)).sort();
    } catch {
      issues.push({ file: SERVICES_DIR, line: 1, col: 1, path: '', message: 'services/ directory not found: every service needs a manifest services/{svc}.yaml' });
    }
  }
  for (const entry of entries) {
    const file = `${SERVICES_DIR}/${entry}`;
    const link = await repoPathIssue(root, file);
    if (link) {
      issues.push(link);
      continue;
    }
    const load = await loadFile(join(root, file), file, ServiceManifest, { prepare: withDefaultKind });
    if (!load.ok) {
      issues.push(...load.issues);
      continue;
    }
    const expected = entry.replace(/\.ya?ml$/, '');
    if (load.value.name !== expected) {
      const pos = positionOf(load.parsed, ['name']);
      issues.push({ file, ...pos, path: 'name', message: `must equal the file name "${expected}"` });
      continue;
    }
    if (manifests.has(load.value.name)) {
      issues.push({ file, line: 1, col: 1, path: '', message: `duplicate manifest for service "${load.value.name}"` });
      continue;
    }
    manifests.set(load.value.name, load.value);
    serviceSources.set(load.value.name, load.parsed);
  }
  if (!customersLoad?.ok) return { ok: false, issues: sortIssues(issues) };

  const state: DesiredState = {
    root,
    customers: customersLoad.value,
    manifests,
    sources: { customers: customersLoad.parsed, services: serviceSources },
  };
  issues.push(...crossCheck(state));
  if (issues.length > 0) return { ok: false, issues: sortIssues(issues) };
  return { ok: true, state };
}

/** Checks that span files or entries; each issue is positioned in the file it is about. */
export function crossCheck(state: DesiredState): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const src = state.sources.customers;
  const at = (path: (string | number)[], message: string, parsed = src, preferKey = false): void => {
    const pos = positionOf(parsed, path, preferKey);
    issues.push({ file: parsed.file, line: pos.line, col: pos.col, path: dotted(path), message });
  };
  const { customers, services } = state.customers;

  for (const [service, slots] of Object.entries(services)) {
    const manifest = state.manifests.get(service);
    if (!manifest) at(['services', service], `unknown service (no ${SERVICES_DIR}/${service}.yaml; known: ${[...state.manifests.keys()].join(', ') || 'none'})`, src, true);
    for (const [id, slot] of Object.entries(slots ?? {})) {
      if (!(id in customers)) {
        at(['services', service, id], `unknown customer "${id}" (not under customers:)`, src, true);
        continue;
      }
      if (!manifest) continue;
      for (const template of manifest.secrets.required) {
        const name = expandName(template, { customer: id, service });
        if (!slot.secrets.includes(name)) at(['services', service, id, 'secrets'], `must list ${name} (required by ${SERVICES_DIR}/${service}.yaml)`);
      }
    }
  }

  const domains = new Map<string, string>();
  const hosts = new Map<string, string>();
  for (const [id, customer] of Object.entries(customers)) {
    const owner = domains.get(customer.public_domain);
    if (owner) at(['customers', id, 'public_domain'], `duplicate public domain: already used by customer "${owner}"`);
    else domains.set(customer.public_domain, id);
    const hostOwner = hosts.get(customer.tailscale_host);
    if (hostOwner) at(['customers', id, 'tailscale_host'], `duplicate tailscale host: already used by customer "${hostOwner}"`);
    else hosts.set(customer.tailscale_host, id);
    checkEntities(id, customer, at);
    checkPins(state, id, customer, at);
    if (customer.sso && !isSovereign(state.customers, id)) {
      for (const [app, service] of Object.entries(SSO_APP_SERVICE)) {
        const env = customer.sso.apps[app as keyof typeof SSO_APP_SERVICE].client_secret_env;
        // A service the customer does not run (no slot) needs no secret of its app.
        const declared = slotSecrets(state.customers, service, id);
        if (declared && !declared.includes(env)) {
          at(['customers', id, 'sso', 'apps', app, 'client_secret_env'], `${env} is not declared in services.${service}.${id}.secrets (add it there so the vault check and \`axe secret push\` know it)`);
        }
      }
    }
  }

  for (const [name, manifest] of state.manifests) {
    const parsed = state.sources.services.get(name)!;
    for (const dep of manifest.depends_on) {
      if (!state.manifests.has(dep)) at(['depends_on'], `unknown service "${dep}"`, parsed);
      if (dep === name) at(['depends_on'], 'a service cannot depend on itself', parsed);
    }
    if (manifest.kind === 'vaultwarden') {
      for (const [env, source] of Object.entries(manifest.env?.vars ?? {})) {
        if ('secret' in source && !manifest.secrets.required.includes(source.secret)) at(['env', 'vars', env, 'secret'], `secret ${source.secret} is not in secrets.required`, parsed);
        if ('hook' in source) at(['env', 'vars', env, 'hook'], 'the vault has no hooks: use a value, a secret or a customer field', parsed);
      }
      continue;
    }
    const known = new Set([...manifest.secrets.required, ...manifest.secrets.generate.map((g) => g.name)]);
    for (const [env, source] of Object.entries(manifest.env.vars)) {
      if ('secret' in source && !known.has(source.secret)) {
        at(['env', 'vars', env, 'secret'], `secret ${source.secret} is neither in secrets.required nor secrets.generate`, parsed);
      }
      if ('hook' in source && !manifest.hooks[source.hook]?.output_env) {
        at(['env', 'vars', env, 'hook'], `no hook "${source.hook}" with output_env in this manifest`, parsed);
      }
    }
    checkEnvServices(manifest, (path, message) => at(path, message, parsed));
    manifest.backup?.dumps.forEach((dump, i, all) => {
      if (all.findIndex((d) => d.file === dump.file) !== i) at(['backup', 'dumps', i, 'file'], `${dump.file} is already another dump's file: give each dump its own file name`, parsed);
    });
    manifest.checks.forEach((check, i, all) => {
      if (all.findIndex((c) => c.name === check.name) !== i) at(['checks', i, 'name'], `${check.name} is already another check's name: give each check its own name`, parsed);
      if (check.exec.container === '@active' && !manifest.blue_green) at(['checks', i, 'exec', 'container'], '@active needs blue_green in this manifest', parsed);
    });
    checkPerEntity(manifest, (path, message) => at(path, message, parsed));
    for (const [hookName, hook] of Object.entries(manifest.hooks)) {
      for (const key of ['exec', 'list'] as const) {
        const service = hook[key]?.service;
        if (service && !state.manifests.has(service)) at(['hooks', hookName, key, 'service'], `unknown service "${service}"`, parsed);
        if (service && service !== name && !manifest.depends_on.includes(service)) {
          at(['hooks', hookName, key, 'service'], `runs in "${service}", so depends_on must list it`, parsed);
        }
      }
      if (hook.foreach && !hook.list) at(['hooks', hookName], 'a foreach hook needs a list command (list first, register only what is missing)', parsed);
      if (hook.remove && hook.foreach !== 'admin') at(['hooks', hookName, 'remove'], 'remove goes with foreach: admin (it takes the role away under admins_policy demote-others)', parsed);
      if ((hook.phase === 'rotate') !== Boolean(hook.rotates)) at(['hooks', hookName, hook.rotates ? 'rotates' : 'phase'], 'phase rotate and rotates go together: rotates names the secret the hook changes (it gets the new value on stdin)', parsed);
      if (hook.rotates && !known.has(hook.rotates)) at(['hooks', hookName, 'rotates'], `secret ${hook.rotates} is neither in secrets.required nor secrets.generate`, parsed);
      if (hook.exec.container === '@active' && !manifest.blue_green && !hook.exec.service) {
        at(['hooks', hookName, 'exec', 'container'], '@active needs blue_green in this manifest', parsed);
      }
      if (hook.migrating && hook.phase !== 'after_healthy') at(['hooks', hookName, 'migrating'], 'a migrating hook must run after_healthy (the snapshot is taken before the release, the hook runs once it is healthy)', parsed);
      if (hook.migrating && !manifest.backup) at(['hooks', hookName, 'migrating'], 'a migrating hook needs a backup: block in this manifest (what to snapshot before it runs), e.g. backup: { volumes: [axe-{customer}-data] }', parsed);
    }
  }
  checkRollout(state, at);
  const cycle = findCycle(state.manifests);
  if (cycle) {
    const parsed = state.sources.services.get(cycle[0]!)!;
    at(['depends_on'], `dependency cycle: ${cycle.join(' -> ')}`, parsed);
  }
  return issues;
}

/**
 * `env.services`: every var it lists is declared in `env.vars`, and every
 * declared var goes to some compose service or is `compose_only` (a var
 * delivered to nobody is a typo or a forgotten service, not a default).
 */
function checkEnvServices(manifest: StackManifest, at: (path: (string | number)[], message: string) => void): void {
  const { services, vars, compose_only: composeOnly } = manifest.env;
  composeOnly.forEach((name, i) => {
    if (!(name in vars)) at(['env', 'compose_only', i], `${name} is not declared in env.vars`);
  });
  if (!services) {
    if (composeOnly.length) at(['env', 'compose_only'], 'compose_only needs env.services (which compose service gets which vars)');
    return;
  }
  const delivered = new Set(composeOnly);
  for (const [service, names] of Object.entries(services)) {
    names.forEach((name, i) => {
      if (!(name in vars)) at(['env', 'services', service, i], `${name} is not declared in env.vars`);
      delivered.add(name);
    });
  }
  for (const name of Object.keys(vars)) {
    if (!delivered.has(name)) at(['env', 'vars', name], `${name} goes to no compose service: list it under env.services.<service>, or under env.compose_only when only the compose files read it`);
  }
}

/**
 * Per-entity secrets (the runbook's PII passphrases, D-ops-31): a `{ENTITY}`
 * env var takes a secret or a value, and its secret names `{ENTITY}`; a
 * per-entity generated secret reaches the containers through such a var; a
 * service that registers entities (`foreach: entity`) declares one. Each rule
 * catches, before merge, an entity added without its passphrases (the
 * runbook's trap: a RuntimeError at the entity's first PII operation).
 */
function checkPerEntity(manifest: StackManifest, at: (path: (string | number)[], message: string) => void): void {
  const delivered = new Set<string>();
  for (const [name, source] of Object.entries(manifest.env.vars)) {
    const secret = 'secret' in source ? source.secret : null;
    if (perEntityVar(name)) {
      if ('hook' in source || 'customer' in source) at(['env', 'vars', name], `${name} is one var per entity: its source must be a secret (with {ENTITY} in its name) or a value`);
      if (secret && !secret.includes('{ENTITY}')) at(['env', 'vars', name, 'secret'], `${name} is one var per entity but its secret ${secret} has no {ENTITY}: every entity would get the same value`);
      if (secret) delivered.add(secret);
    } else if (secret?.includes('{ENTITY}')) {
      at(['env', 'vars', name, 'secret'], `${secret} is per entity: name the var with {ENTITY} too (e.g. ${name}_{ENTITY})`);
    }
  }
  const perEntity = manifest.secrets.generate.filter((g) => g.per_entity);
  manifest.secrets.generate.forEach((g, i) => {
    if (g.per_entity && !g.name.includes('{ENTITY}')) at(['secrets', 'generate', i, 'name'], `${g.name} is per_entity: its name needs {ENTITY}`);
    if (g.per_entity && !delivered.has(g.name)) {
      at(['secrets', 'generate', i, 'name'], `${g.name} is generated per entity but no env var delivers it: add e.g. ${manifest.name.toUpperCase().replace(/-/g, '_')}_PII_PASSPHRASE_{ENTITY}: { secret: "${g.name}" } under env.vars (and env.services), or each entity's first PII operation fails (runbook trap pii-passphrase-missing)`);
    }
  });
  for (const [hookName, hook] of Object.entries(manifest.hooks)) {
    if (hook.foreach === 'entity' && perEntity.length === 0) {
      at(['hooks', hookName, 'foreach'], `${manifest.name} registers entities but declares no per-entity PII passphrase: add under secrets.generate \`- { name: ${manifest.name.toUpperCase().replace(/-/g, '_')}_{CUSTOMER}_{ENTITY}_PII_PASSPHRASE, length: 48, per_entity: true }\` and deliver it with a {ENTITY} env var (runbook trap pii-passphrase-missing: a RuntimeError at the entity's first PII operation)`);
    }
  }
}

/** A pin names a stack service the customer runs (a slot), never a ref that would mean nothing. */
function checkPins(state: DesiredState, id: string, customer: Customer, at: (path: (string | number)[], message: string) => void): void {
  for (const service of Object.keys(customer.pins ?? {})) {
    const manifest = state.manifests.get(service);
    if (!manifest) at(['customers', id, 'pins', service], `unknown service "${service}" (known: ${[...state.manifests.keys()].join(', ') || 'none'})`);
    else if (manifest.kind !== 'stack') at(['customers', id, 'pins', service], `${service} is not a stack with a source.ref: only stack services can be pinned`);
    else if (!slotSecrets(state.customers, service, id)) at(['customers', id, 'pins', service], `${id} does not run ${service} (no services.${service}.${id} slot): remove the pin or add the slot`);
  }
}

/** Every customer a canary names exists, in the fleet default and in each manifest. */
function checkRollout(state: DesiredState, at: (path: (string | number)[], message: string, parsed?: ParsedYaml) => void): void {
  const known = state.customers.customers;
  const check = (canary: { customers: string[] } | { label: string } | undefined, path: (string | number)[], parsed?: ParsedYaml): void => {
    if (!canary || !('customers' in canary)) return;
    canary.customers.forEach((c, i) => {
      if (!(c in known)) at([...path, 'canary', 'customers', i], `unknown customer "${c}" (not under customers: in customers.yaml)`, parsed);
    });
  };
  check(state.customers.rollout?.canary, ['rollout']);
  for (const [name, manifest] of state.manifests) {
    if (manifest.kind === 'stack') check(manifest.rollout?.canary, ['rollout'], state.sources.services.get(name));
  }
}

function checkEntities(id: string, customer: Customer, at: (path: (string | number)[], message: string) => void): void {
  const ids = customer.entities.map(entityId);
  const seen = new Set<string>();
  ids.forEach((e, i) => {
    if (seen.has(e)) at(['customers', id, 'entities', i], `duplicate entity "${e}"`);
    seen.add(e);
  });
  for (const [field, map] of [['user_entity_map', customer.user_entity_map], ['default_entities_by_domain', customer.default_entities_by_domain]] as const) {
    for (const [key, list] of Object.entries(map)) {
      list.forEach((e, i) => {
        if (!seen.has(e)) at(['customers', id, field, key, i], `unknown entity "${e}" (entities: ${ids.join(', ') || 'none'})`);
      });
    }
  }
}

/** Services in dependency order (dependencies first). */
export function serviceOrder(manifests: Map<string, ServiceManifest>): string[] {
  const order: string[] = [];
  const visiting = new Set<string>();
  const visit = (name: string): void => {
    if (order.includes(name) || visiting.has(name)) return;
    visiting.add(name);
    for (const dep of manifests.get(name)?.depends_on ?? []) visit(dep);
    visiting.delete(name);
    order.push(name);
  };
  for (const name of [...manifests.keys()].sort()) visit(name);
  return order;
}

function findCycle(manifests: Map<string, ServiceManifest>): string[] | null {
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const visit = (name: string): string[] | null => {
    if (state.get(name) === 'done') return null;
    if (state.get(name) === 'visiting') return [...stack.slice(stack.indexOf(name)), name];
    state.set(name, 'visiting');
    stack.push(name);
    for (const dep of manifests.get(name)?.depends_on ?? []) {
      if (!manifests.has(dep)) continue;
      const found = visit(dep);
      if (found) return found;
    }
    stack.pop();
    state.set(name, 'done');
    return null;
  };
  for (const name of manifests.keys()) {
    const found = visit(name);
    if (found) return found;
  }
  return null;
}
