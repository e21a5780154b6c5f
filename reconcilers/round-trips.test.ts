/**
 * The engine's reads of a host: a pass that changes nothing makes one round
 * trip to the customer's host (the batch carrying every kind's section), and
 * every kind with a section answers from it. The host is a stand-in answering
 * each section of the batch with an empty output. Engine facts (Engine API
 * calls over the same SSH connection, channels to the engine's socket) are
 * counted apart: they are neither round trips nor processes on the host.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { describe, test } from 'node:test';
import type { HostConnection } from '../providers/host/ssh.js';
import { withExecSession } from '../providers/host/local-connection.js';
import type { TailnetView } from '../providers/tailscale/index.js';
import { loadRepo } from '../schemas/repo.js';
import { fakeEngine } from '../test/fake-engine.js';
import { EXAMPLE_REPO } from '../test/helpers.js';
import { reconcileCustomer } from './engine.js';
import type { Action } from './types.js';
import type { Providers, ReconcileEnv } from './runtime.js';
import { newScan } from './scan.js';

const HOST = 'acme-macmini.tail-lab.ts.net';

/** A host answering every section of a batch (empty output, exit 0); counts its round trips and the sections each ran. */
function standIn(socket?: string): { providers: Providers; trips: string[][] } {
  const trips: string[][] = [];
  const connection = withExecSession({
    target: { name: HOST, address: HOST, port: 22, user: 'axe' },
    openUnixSocket: (path: string) =>
      new Promise((resolve, reject) => {
        const s = connect(path);
        s.once('connect', () => resolve(s));
        s.once('error', reject);
      }),
    async exec(_command: string, options: { stdin?: string } = {}) {
      const stdin = options.stdin ?? '';
      const begins = [...stdin.matchAll(/printf '\\n%s begin %s\\n' '(@@axe-[0-9a-f]+)' '(\S+)'/g)];
      trips.push(begins.map((m) => m[2]!));
      const stdout = begins.map(([, marker, name]) => `\n${marker} begin ${name}\n\n${marker} end ${name} 0\n`).join('');
      return { code: 0, stdout, stderr: '' };
    },
  }) as unknown as HostConnection;
  const tailnet: TailnetView = { backendState: 'Running', magicDnsSuffix: 'tail-lab.ts.net', selfDnsName: null, peers: [{ hostName: 'acme-macmini', dnsName: HOST, online: true, direct: true, relay: '', os: 'macOS', ips: [], lastSeen: null }] };
  const providers = {
    cloudflare: null,
    cloudflareError: null,
    vault: { list: async () => [], get: async () => null },
    hosts: { target: (name: string, user?: string) => ({ name, address: name, port: 22, user: user ?? 'axe' }), connection: async () => connection, toolPaths: [], probeMemo: new Map(socket ? [[`host:axe@${HOST}:22`, { bwStamp: '', bwVersion: '', dockerSocket: socket }]] : []), hashMemo: new Map() },
    tailnet: async () => tailnet,
    fetchPublic: async () => ({ status: 200, body: '' }),
  } as unknown as Providers;
  return { providers, trips };
}

describe('engine: round trips to a host', () => {
  for (const [name, options, withEngine] of [
    ['a plan (nothing applied)', { apply: false }, false],
    ['an apply whose actions are all held (a closed window: each kind that plans some observes again first)', { apply: true, hold: (_kind: unknown, actions: readonly Action[]) => actions }, false],
    ['a plan with the engine socket known (its engine facts are channels beside the one round trip)', { apply: false }, true],
  ] as const)
  test(`a pass that changes nothing reads the host once: one batch with every section, each kind answered from it; ${name}`, async () => {
    const load = await loadRepo(EXAMPLE_REPO);
    assert.ok(load.ok);
    await using engine = withEngine ? await fakeEngine({ '/containers/json': [], '/networks': [], '/volumes': { Volumes: [] } }) : null;
    const { providers, trips } = standIn(engine?.socket);
    const env: ReconcileEnv = {
      state: load.state,
      settings: { zone: 'axelabs.ai', publicEdgeUrl: null, cloudflareTokenSecret: 'cf', bwMaxVersion: null, cloudflared: { mode: 'auto', image: 'cloudflare/cloudflared:latest', publish: [], metrics_port: 20241 } },
      providers,
      scan: newScan(providers, 'axelabs.ai'),
      revision: null,
    };
    const result = await reconcileCustomer(env, 'acme', options);
    const kinds = (names: string[]) => result.resources.filter((r) => names.includes(r.kind));
    assert.equal(trips.length, 1, `one round trip, not: ${JSON.stringify(trips)}`);
    if (engine) assert.ok(engine.asked.some((p) => p.startsWith('/containers/json')) && engine.asked.some((p) => p.startsWith('/networks')), `the engine facts asked the engine: ${engine.asked.join(', ')}`);
    for (const section of ['probe', 'stack', 'entities', 'vaultwarden', 'checks']) assert.ok(trips[0]!.includes(section), `${section} in the batch: ${trips[0]!.join(', ')}`);
    // Observed from the batch (an empty host: nothing there), none failed reading it.
    const onHost = kinds(['host', 'stack', 'entities', 'vaultwarden', 'checks', 'ingress', 'backup']);
    assert.equal(onHost.length, 7);
    assert.ok(onHost.every((r) => !r.error), JSON.stringify(onHost.map((r) => [r.kind, r.error?.message])));
    if (options.apply) assert.ok(result.resources.some((r) => r.actions.length > 0), 'some kind planned actions (held)');
    assert.ok(result.resources.every((r) => r.applied.length === 0), 'nothing acted');
  });
});
