/**
 * A lab check that the engine facts (providers/host/facts/engine.ts) observe
 * what their shell forms observe: the same host read twice over the lab
 * host's SSH connection, once with the engine (Engine API channels to the
 * socket the probe found) and once by the shell (curl and the docker CLI),
 * parsed with the kinds' own parsers. Only the customer's own objects are
 * compared: other labs on the same engine change theirs meanwhile.
 */
import assert from 'node:assert/strict';
import { findTool } from '../providers/host/commands/tools.js';
import { batchEngine } from '../providers/host/engine-api.js';
import { runBatch } from '../providers/host/executor.js';
import { labelledNetworksFact, networksFact, volumesFact } from '../providers/host/facts/docker.js';
import { factsSection, readFacts, when } from '../providers/host/facts/fact.js';
import { parseProbe, probeScript } from '../providers/host/probe.js';
import { CLOUDFLARED_SECTION } from '../reconcilers/cloudflared/index.js';
import { observeSection, parseObservation } from '../reconcilers/cloudflared/service.js';
import { PRUNE_CONTAINERS_SECTION, pruneContainersFact, pruneContainersSection } from '../reconcilers/prune-containers.js';
import type { ReconcileEnv } from '../reconcilers/runtime.js';

const ANSWERED = / end \S+ 256\n/;

/** Asserts the engine and the shell observe the same cloudflared service, containers, networks and volumes of `id`. */
export async function assertEngineFactsMatchShell(env: ReconcileEnv, id: string): Promise<void> {
  const customer = env.state.customers.customers[id]!;
  const hosts = env.providers.hosts;
  const connection = await hosts.connection(hosts.target(customer.tailscale_host, customer.ssh_user));
  const probe = (await runBatch(connection, [{ name: 'probe', script: probeScript(hosts.toolPaths) }])).get('probe');
  const socket = parseProbe(probe?.output ?? '').dockerSocket;
  assert.ok(socket, `the probe found the engine socket: ${probe?.output}`);
  const engine = batchEngine(connection, socket);
  assert.ok(engine);
  const { mode, metrics_port: port } = env.settings.cloudflared;
  const label = `ai.axelabs.axe.customer=${id}`;
  const docker = '[ -n "$D" ]';
  const objects = { networks: when(docker, networksFact('networks')), volumes: when(docker, volumesFact('volumes')), labelled: when(docker, labelledNetworksFact('labelled', [label])) };
  const sections = () => [observeSection(CLOUDFLARED_SECTION, id, mode, port, hosts.toolPaths), pruneContainersSection(hosts.toolPaths), factsSection('objects', objects, findTool('D', 'docker', hosts.toolPaths))];
  const read = async (withEngine: boolean) => {
    const out = await runBatch(connection, sections(), 60_000, withEngine ? engine : null);
    const text = [CLOUDFLARED_SECTION, PRUNE_CONTAINERS_SECTION, 'objects'].map((s) => out.get(s)?.output ?? '');
    assert.equal(text.every((t) => ANSWERED.test(t)), withEngine, `engine answers ${withEngine ? 'in every section' : 'in none'}: ${text.join('\n')}`);
    // The CLI prints a container's networks in Go's map order (random): compared as sets.
    const containers = readFacts(text[1]!, { c: pruneContainersFact() }).c.filter((c) => c.labels['ai.axelabs.axe.customer'] === id).map((c) => ({ ...c, networks: [...c.networks].sort() }));
    const o = readFacts(text[2]!, objects);
    const mine = (names: Iterable<string>) => [...names].filter((n) => n.includes(id)).sort();
    return {
      cloudflared: parseObservation(text[0]!, id, port),
      containers: containers.sort((a, b) => a.id.localeCompare(b.id)),
      networks: mine(o.networks.names),
      volumes: mine(o.volumes),
      labelled: o.labelled.sort((a, b) => a.name.localeCompare(b.name)),
    };
  };
  const byEngine = await read(true);
  const byShell = await read(false);
  assert.deepEqual(byEngine, byShell, 'the engine facts observe what their shell forms observe');
  assert.equal(byEngine.cloudflared.state, 'running', JSON.stringify(byEngine.cloudflared));
  assert.ok(byEngine.cloudflared.hash, 'the service hash label read');
  assert.ok(byEngine.containers.length >= 2 && byEngine.networks.length > 0 && byEngine.volumes.length > 0 && byEngine.labelled.length > 0, JSON.stringify(byEngine));
}
