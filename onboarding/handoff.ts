/**
 * The handoff (runbook D+2, "직원 SSO 안내"): the message the operator sends
 * to the customer's IT once the customer is up — the public URLs (frame,
 * blueprint, the vault's `/vault/#/sso` direct link and its SSO identifier),
 * the versions deployed and the employee onboarding links.
 *
 * Rules:
 * - Pure: it reads a reconcile result (a fresh, read-only observation) and
 *   the desired state; it never observes by itself.
 * - Refused while any resource is not Healthy and Synced (or failed to be
 *   observed): the refusal names each such resource, its reason and, when
 *   the resource is a known trap, the trap and its fix. A half-working
 *   customer is never told it is ready.
 * - Versions are the manifests' refs: with every stack Synced they are what
 *   runs (the stack kind checks the deployed ref against the desired one).
 * - No secret is read or printed: the message holds names and URLs only.
 */
import { envToken } from '../schemas/common.js';
import type { CustomersFile } from '../schemas/customers.js';
import type { ServiceManifest } from '../schemas/service-manifest.js';
import type { CustomerResult } from '../reconcilers/engine.js';
import type { Trap } from '../reconcilers/traps.js';

/** Where the employee guides live (the runbook's `/onboard` pages). */
export const DOCS_BASE = 'https://docs.axelabs.ai';

export type HandoffLang = 'ko' | 'en';

export interface HandoffService {
  service: string;
  url: string | null;
  version: string;
}

export interface HandoffFacts {
  customer: string;
  legalName: string;
  services: HandoffService[];
  /** The vault's SSO direct link (`…/vault/#/sso`), null when the customer has no vault. */
  vaultSso: string | null;
  /** What employees type as the SSO identifier: the vault organization's name. */
  ssoIdentifier: string | null;
  onboarding: { employees: string; frameSetup: string; troubleshooting: string };
}

export interface HandoffBlocker {
  kind: string;
  health: string;
  sync: string;
  reason: string;
  message: string;
  trap?: Trap;
  error?: string;
}

export type Handoff = { ready: true; facts: HandoffFacts } | { ready: false; customer: string; blockers: HandoffBlocker[] };

/** The public facts of a customer, from its block and the manifests of the services declared for it. */
export function handoffFacts(customers: CustomersFile, manifests: ReadonlyMap<string, ServiceManifest>, id: string): HandoffFacts {
  const customer = customers.customers[id];
  if (!customer) throw new Error(`customer ${id} is not in customers.yaml`);
  const base = `https://${customer.public_domain}`;
  const services: HandoffService[] = [];
  let vaultSso: string | null = null;
  for (const [name, slots] of Object.entries(customers.services).sort(([a], [b]) => a.localeCompare(b))) {
    if (!slots?.[id]) continue;
    const manifest = manifests.get(name);
    if (!manifest) continue;
    if (manifest.kind === 'vaultwarden') {
      vaultSso = `${base}${manifest.domain_path}/#/sso`;
      continue;
    }
    const path = manifest.ingress?.path;
    services.push({ service: name, url: path ? `${base}${path === '/' ? '/' : path}` : null, version: manifest.source.ref });
  }
  return {
    customer: id,
    legalName: customer.legal_name,
    services,
    vaultSso,
    ssoIdentifier: vaultSso ? envToken(id) : null,
    onboarding: { employees: `${DOCS_BASE}/onboard`, frameSetup: `${DOCS_BASE}/onboard/claude-frame-setup`, troubleshooting: `${DOCS_BASE}/onboard/troubleshooting` },
  };
}

/** What keeps the customer from being handed off: every shown resource not Healthy and Synced. */
export function handoffBlockers(result: CustomerResult): HandoffBlocker[] {
  const blockers: HandoffBlocker[] = [];
  if (result.suspended) blockers.push({ kind: 'customer', health: 'Suspended', sync: 'Unknown', reason: 'Suspended', message: 'the customer is suspended (policy.suspend)' });
  for (const k of result.resources) {
    if (k.context) continue;
    if (k.health.status === 'Healthy' && k.sync === 'Synced' && !k.error) continue;
    blockers.push({
      kind: k.kind,
      health: k.health.status,
      sync: k.sync,
      reason: k.health.reason,
      message: k.sync === 'OutOfSync' && k.health.status === 'Healthy' ? `${k.actions.length} change(s) pending: ${k.actions.map((a) => a.summary).join('; ')}` : k.health.message,
      ...(k.health.trap ? { trap: k.health.trap } : k.error?.trap ? { trap: k.error.trap } : {}),
      ...(k.error ? { error: k.error.message } : {}),
    });
  }
  return blockers;
}

export function handoff(customers: CustomersFile, manifests: ReadonlyMap<string, ServiceManifest>, result: CustomerResult): Handoff {
  const blockers = handoffBlockers(result);
  if (blockers.length) return { ready: false, customer: result.customer, blockers };
  return { ready: true, facts: handoffFacts(customers, manifests, result.customer) };
}

const TEXT = {
  ko: {
    hello: (f: HandoffFacts) => `${f.legalName} IT 담당자님께,`,
    ready: 'AXE Labs 스택 설치가 완료되어 아래 주소로 사용하실 수 있습니다.',
    services: '서비스 (배포 버전)',
    vault: '사내 Vault',
    direct: 'SSO 직링크',
    identifier: 'SSO Identifier (조직 이름)',
    employees: '직원 안내',
    onboard: '신규 직원 온보딩',
    frame: 'Frame connector 설정 (4단계)',
    trouble: '문제 해결',
    pass: '직원분들께 위 온보딩 링크를 전달해 주세요. Vault 는 이메일 화면 대신 SSO 직링크로 들어가 Identifier 를 입력하면 됩니다.',
    internal: '(내부 주소, 터널 미노출)',
  },
  en: {
    hello: (f: HandoffFacts) => `To the IT team of ${f.legalName},`,
    ready: 'Your AXE Labs stack is installed and ready at the addresses below.',
    services: 'Services (version deployed)',
    vault: 'Your vault',
    direct: 'SSO direct link',
    identifier: 'SSO identifier (organization name)',
    employees: 'For your employees',
    onboard: 'Employee onboarding',
    frame: 'Frame connector setup (4 steps)',
    trouble: 'Troubleshooting',
    pass: 'Please forward the onboarding link to your employees. For the vault, use the SSO direct link (not the e-mail screen) and enter the identifier.',
    internal: '(internal, not published)',
  },
} as const;

/** The message itself, as lines. */
export function renderHandoff(facts: HandoffFacts, lang: HandoffLang): string[] {
  const t = TEXT[lang];
  const out = [t.hello(facts), '', t.ready, '', `${t.services}:`];
  for (const s of facts.services) out.push(`  - ${s.service} ${s.version}: ${s.url ?? t.internal}`);
  if (facts.vaultSso) out.push('', `${t.vault}:`, `  - ${t.direct}: ${facts.vaultSso}`, `  - ${t.identifier}: ${facts.ssoIdentifier}`);
  out.push('', `${t.employees}:`, `  - ${t.onboard}: ${facts.onboarding.employees}`, `  - ${t.frame}: ${facts.onboarding.frameSetup}`, `  - ${t.trouble}: ${facts.onboarding.troubleshooting}`, '', t.pass);
  return out;
}

/** One line per blocker: which resource, why, and the trap's fix when it is one. */
export function renderBlockers(blockers: readonly HandoffBlocker[]): string[] {
  return blockers.map((b) => `${b.kind}: ${b.health}/${b.sync} ${b.reason}: ${b.error ?? b.message}${b.trap ? ` [trap ${b.trap.trap}: ${b.trap.fix}]` : ''}`);
}
