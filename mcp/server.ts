/**
 * `axe mcp`: the Model Context Protocol server for the operators' assistant
 * (the runbook opens with the prompt operators give it), on the official
 * TypeScript SDK. It is one more front end of the product, like the CLI: each
 * tool calls the same code the matching `axe` command runs.
 *
 * Rules:
 * - Read-only tools (status, plan, history, validate, explain_trap) change
 *   nothing anywhere; `plan` runs the reconcile with acting switched off:
 *   asked of the running controller when it can make it, else made here, as
 *   `axe plan` does (cli/commands/plan.ts), its `planned` line saying which.
 * - `ingest_pack` plans unless `apply` is true, and even then only writes the
 *   pack's secrets into the vault and commits on the branch onboard/{id}: it
 *   never pushes and never touches main. Merging stays a person's decision.
 * - `reconcile`, `suspend` and `resume` only ask the running controller,
 *   through its authenticated API (controller/control-api.ts), as `axe
 *   reconcile|suspend|resume` do; the controller records each request in its
 *   history (`mcp (user@host)`, the reason). No controller: refused, saying
 *   how to start it. Nothing here acts around the controller.
 * - No result carries a secret value: every result is built from the product's
 *   own plan, status and history shapes, which hold names, fingerprints and
 *   hashes only; on top of that, each result is checked against the vault
 *   values the call could have seen (the pack's client secrets) and refused if
 *   one appears.
 * - A failure is a tool result with `isError` and the product's one-line error
 *   (what failed, the fix), never a stack trace.
 * - Nothing is written to stdout except the protocol (stdio transport).
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { McpServer, ResourceTemplate } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { requestControl } from '../cli/commands/control.js';
import { applyEdit, editPlanJson, ingestPlan } from '../cli/commands/customers.js';
import { readHistory, TYPES } from '../cli/commands/history.js';
import { revisionPlan } from '../cli/commands/plan-revisions.js';
import { planVia } from '../cli/commands/plan.js';
import { readRollouts } from '../cli/commands/rollout.js';
import { readStatus } from '../cli/commands/status.js';
import { requester } from '../cli/requester.js';
import { loadSettings, resolveRepo } from '../cli/settings.js';
import { errorLine } from '../core/errors.js';
import { resultJson } from '../reconcilers/report.js';
import { TRAPS, type TrapName } from '../reconcilers/traps.js';
import { CUSTOMERS_FILE, loadRepo } from '../schemas/repo.js';

export interface McpOptions {
  /** axe config (default $AXE_CONFIG or ~/.axe/config.yaml). */
  config?: string;
  /** Config repo checkout (default $AXE_REPO, the config's repo.checkout, or the cwd). */
  repo?: string;
  /** A running controller's base URL for `status` (default: its history database). */
  url?: string;
}

/** The server's version as the protocol's handshake reports it (the package's). */
export const MCP_SERVER_VERSION = '0.1.0';

function ok(value: unknown, forbidden: readonly string[] = []): CallToolResult {
  const text = JSON.stringify(value, null, 2);
  const leak = forbidden.find((secret) => secret.length >= 8 && text.includes(secret));
  if (leak !== undefined) return failed(new Error('the result would have carried a secret value; it was withheld'));
  return { content: [{ type: 'text', text }], structuredContent: { result: value } };
}

function failed(error: unknown): CallToolResult {
  return { content: [{ type: 'text', text: errorLine(error) }], isError: true };
}

async function guard(run: () => Promise<CallToolResult>): Promise<CallToolResult> {
  try {
    return await run();
  } catch (error) {
    return failed(error);
  }
}

function repoOf(options: McpOptions, repo: string | undefined): Promise<string> {
  if (repo) return Promise.resolve(resolveRepo({ repo }, null));
  return loadSettings({ ...(options.config ? { config: options.config } : {}) })
    .then((settings) => resolveRepo({ ...(options.repo ? { repo: options.repo } : {}) }, settings))
    .catch(() => resolveRepo({ ...(options.repo ? { repo: options.repo } : {}) }, null));
}

const readOnly = { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true } as const;
const common = (options: McpOptions): { config?: string; repo?: string } => ({ ...(options.config ? { config: options.config } : {}), ...(options.repo ? { repo: options.repo } : {}) });

/** The server with every tool and resource registered; the caller connects a transport. */
export function createMcpServer(options: McpOptions = {}): McpServer {
  const server = new McpServer({ name: 'axe', version: MCP_SERVER_VERSION });

  server.registerTool(
    'status',
    {
      title: 'Fleet or customer status',
      description: "The controller's view: every customer's resources with sync, health, reason, the trap and its fix, open drift and pending actions; alerts firing; the applied and the rejected revision.",
      inputSchema: { customer: z.string().min(1).optional().describe('one customer id; omit for the fleet') },
      annotations: readOnly,
    },
    ({ customer }) => guard(async () => ok(await readStatus(customer, { ...common(options), ...(options.url ? { url: options.url } : {}) }))),
  );

  server.registerTool(
    'plan',
    {
      title: 'Plan (read-only)',
      description: 'What the controller would change now, per customer and resource, with the traps found; with base and head, only the customers whose desired state differs between the two revisions (the pull-request plan). Never changes anything.',
      inputSchema: {
        customer: z.string().min(1).optional().describe('one customer id; omit for every customer'),
        only: z.string().min(1).optional().describe('comma-separated resource kinds, e.g. dns,tunnel'),
        base: z.string().min(1).optional().describe('base revision (with head), e.g. origin/main'),
        head: z.string().min(1).optional().describe('head revision (with base), e.g. onboard/newco'),
        local: z.boolean().optional().describe('plan here even when a running controller could plan over its warm connections (as axe plan --local)'),
      },
      annotations: readOnly,
    },
    ({ customer, only, base, head, local }) =>
      guard(async () => {
        if (base || head) {
          const plan = await revisionPlan(customer, { ...common(options), ...(base ? { base } : {}), ...(head ? { head } : {}) });
          return ok({ base: plan.base, head: plan.head, added: plan.added, changed: plan.changed, removed: plan.removed, ...(resultJson(plan.results, false) as object) });
        }
        // As axe plan: asked of the running controller when it can make it, else made here; `planned` says which, and why.
        let planned = '';
        const results = await planVia(customer, { ...common(options), ...(only ? { only } : {}), ...(local ? { local } : {}) }, (line) => (planned = line), `mcp (${requester()})`);
        return ok({ planned, ...(resultJson(results, false) as object) });
      }),
  );

  server.registerTool(
    'history',
    {
      title: 'History',
      description: 'What the controller did and saw (revisions, actions, drift, errors, alerts), newest last.',
      inputSchema: {
        customer: z.string().min(1).optional(),
        limit: z.number().int().min(1).max(1000).optional().describe('default 50'),
        types: z.array(z.enum(TYPES as [string, ...string[]])).optional(),
      },
      annotations: { ...readOnly, openWorldHint: false },
    },
    ({ customer, limit, types }) =>
      guard(async () => {
        const events = await readHistory(customer, { ...common(options), ...(limit ? { limit: String(limit) } : {}), ...(types?.length ? { type: types } : {}) });
        return ok(events.map((e) => ({ ...e, at: new Date(e.at).toISOString() })));
      }),
  );

  server.registerTool(
    'rollout_status',
    {
      title: 'Release rollouts',
      description:
        "Each service's current release as the controller runs it: the ref and the one it replaces, the state (running, halted with its budget spent, complete), an operator's pause or abort, and every customer's wave and progress (started, healthy since, done, failed at which step and why, offline, waiting for its maintenance window, pinned).",
      inputSchema: { service: z.string().min(1).optional().describe('one service, e.g. frame; omit for every service') },
      annotations: { ...readOnly, openWorldHint: false },
    },
    ({ service }) => guard(async () => ok(await readRollouts(service, common(options)))),
  );

  server.registerTool(
    'validate',
    {
      title: 'Validate a config checkout',
      description: 'Checks customers.yaml and services/*.yaml of a config checkout; every problem as file:line:column with the reason.',
      inputSchema: { repo: z.string().min(1).optional().describe('checkout directory (default: the configured one)') },
      annotations: { ...readOnly, openWorldHint: false },
    },
    ({ repo }) =>
      guard(async () => {
        const root = await repoOf(options, repo);
        const result = await loadRepo(root);
        return ok(
          result.ok
            ? { valid: true, repo: root, customers: Object.keys(result.state.customers.customers), services: [...result.state.manifests.keys()], issues: [] }
            : { valid: false, repo: root, issues: result.issues },
        );
      }),
  );

  server.registerTool(
    'explain_trap',
    {
      title: 'Explain a runbook trap',
      description: 'The fix for one of the runbook traps that axe detects (the names status and plan show), with its placeholders as written.',
      inputSchema: { trap: z.string().min(1).describe('trap name, e.g. tailscale-short-alias') },
      annotations: { ...readOnly, openWorldHint: false },
    },
    ({ trap }) =>
      guard(async () => {
        if (!(trap in TRAPS)) throw new Error(`unknown trap "${trap}"; known: ${Object.keys(TRAPS).join(', ')}`);
        return ok({ trap, fix: TRAPS[trap as TrapName] });
      }),
  );

  server.registerTool(
    'ingest_pack',
    {
      title: "Ingest a customer's bootstrap pack onto a branch",
      description:
        "The IT's axelabs-bootstrap/v1 pack: its three client secrets into the operator vault and the customer's sso block into customers.yaml, committed on branch onboard/{customer}. Plans unless apply is true. Never pushes, never touches main: a person opens and merges the pull request. Returns the branch, the diff and the vault items by name and fingerprint (never a value).",
      inputSchema: {
        customer: z.string().min(1),
        pack_path: z.string().min(1).describe('path of axelabs-bootstrap-{customer}.json on this machine'),
        legal_name: z.string().min(1).optional().describe('for a customer not in customers.yaml yet'),
        domain: z.string().min(1).optional().describe("the customer's primary domain, for a new customer"),
        apply: z.boolean().optional().describe('write the vault items and commit on the branch (default false: plan only)'),
      },
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    },
    ({ customer, pack_path, legal_name, domain, apply }) =>
      guard(async () => {
        const edit = { ...common(options), ...(legal_name ? { legalName: legal_name } : {}), ...(domain ? { domain } : {}) };
        const { plan, root } = await ingestPlan(customer, pack_path, edit);
        const secrets = await packSecrets(pack_path);
        const shown = editPlanJson(plan);
        if (!apply || plan.nothingToDo) return ok({ ...shown, applied: false, pushed: false }, secrets);
        const result = await applyEdit(plan, root, edit, 'customers ingest', () => {});
        return ok({ ...shown, applied: true, pushed: false, commit: result.commit, vaultWritten: result.vaultWritten, next: `git push origin ${shown.branch}, then open the pull request` }, secrets);
      }),
  );

  const asked = { readOnlyHint: false, destructiveHint: false, openWorldHint: false } as const;
  const by = `mcp (${requester()})`;
  const config = options.config ? { config: options.config } : {};
  server.registerTool(
    'reconcile',
    {
      title: 'Ask the controller to reconcile a customer now',
      description: 'Queues the customer at once in the running controller (its authenticated API); the controller records the request in its history. Refused when no controller runs, and for a suspended customer (resume it first).',
      inputSchema: { customer: z.string().min(1) },
      annotations: { ...asked, idempotentHint: true },
    },
    ({ customer }) => guard(async () => ok(await requestControl('reconcile', customer, config, by))),
  );
  server.registerTool(
    'suspend',
    {
      title: 'Ask the controller to leave a customer (or one kind) alone',
      description: 'The running controller stops reconciling the customer (or only the resource kind given) and its drift scans skip it, until resumed; kept across restarts, recorded in its history with the reason, shown by status. Refused when no controller runs.',
      inputSchema: {
        customer: z.string().min(1),
        reason: z.string().min(1).describe('why; recorded and shown by status'),
        kind: z.string().min(1).optional().describe('only this resource kind, e.g. stack or dns'),
      },
      annotations: { ...asked, idempotentHint: true },
    },
    ({ customer, reason, kind }) => guard(async () => ok(await requestControl('suspend', customer, { ...config, reason, ...(kind ? { kind } : {}) }, by))),
  );
  server.registerTool(
    'resume',
    {
      title: 'Ask the controller to resume a suspended customer',
      description: "Lifts the customer's runtime suspension (or only one kind's) and reconciles it at once; recorded in the controller's history. A suspension written in customers.yaml is lifted by a commit, not here. Refused when no controller runs.",
      inputSchema: { customer: z.string().min(1), kind: z.string().min(1).optional().describe('only this resource kind') },
      annotations: { ...asked, idempotentHint: false },
    },
    ({ customer, kind }) => guard(async () => ok(await requestControl('resume', customer, { ...config, ...(kind ? { kind } : {}) }, by))),
  );

  server.registerResource(
    'customers',
    'axe://config/customers.yaml',
    { title: 'customers.yaml', description: 'Every customer of the config checkout (names of secrets only, never values).', mimeType: 'application/yaml' },
    async (uri) => {
      const root = await repoOf(options, undefined);
      return { contents: [{ uri: uri.href, mimeType: 'application/yaml', text: await readFile(join(root, CUSTOMERS_FILE), 'utf8') }] };
    },
  );

  server.registerResource(
    'service-manifest',
    new ResourceTemplate('axe://config/services/{service}.yaml', {
      list: async () => {
        const root = await repoOf(options, undefined);
        const files = (await readdir(join(root, 'services')).catch(() => [])).filter((f) => f.endsWith('.yaml')).sort();
        return { resources: files.map((f) => ({ uri: `axe://config/services/${f}`, name: f.replace(/\.yaml$/, ''), mimeType: 'application/yaml' })) };
      },
    }),
    { title: 'Service manifest', description: 'How a service is deployed: source, compose, env, secrets, health, hooks.', mimeType: 'application/yaml' },
    async (uri, variables) => {
      const service = String(variables.service ?? '');
      if (!/^[a-z][a-z0-9-]*$/.test(service)) throw new Error(`no service manifest named ${service}`);
      const root = await repoOf(options, undefined);
      return { contents: [{ uri: uri.href, mimeType: 'application/yaml', text: await readFile(join(root, 'services', `${service}.yaml`), 'utf8') }] };
    },
  );

  server.registerResource(
    'traps',
    'axe://runbook/traps',
    { title: 'The runbook traps', description: 'Every trap axe detects, by name, with its fix.', mimeType: 'application/json' },
    async (uri) => ({ contents: [{ uri: uri.href, mimeType: 'application/json', text: JSON.stringify(TRAPS, null, 2) }] }),
  );

  return server;
}

/** The pack's client secrets, only to check that no result repeats one. */
async function packSecrets(path: string): Promise<string[]> {
  try {
    const pack = JSON.parse(await readFile(path, 'utf8')) as { apps?: Record<string, { client_secret?: unknown }> };
    return Object.values(pack.apps ?? {}).map((a) => a.client_secret).filter((s): s is string => typeof s === 'string');
  } catch {
    return [];
  }
}
