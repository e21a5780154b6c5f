/**
 * What axe itself creates on the lab hosts (cloudflared containers, the
 * customers' docker networks, their stacks' containers and volumes): all of
 * it carries the label `ai.axelabs.axe.customer=<id>` (compose projects are
 * named `{customer}-{service}`; the customer's own vault, `{customer}-vault`,
 * is found by that project name). `down` removes those of the lab's customers,
 * before the hosts and images go; `up` has nothing to make.
 *
 * Rule: only objects labelled for a customer that is a lab host are touched.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { LabContext, LabPart, LabPartStatus } from './component.js';
import { listHosts } from './hosts/index.js';

const run = promisify(execFile);
export const CUSTOMER_LABEL = 'ai.axelabs.axe.customer';

async function labCustomers(stateDir: string): Promise<string[]> {
  return (await listHosts(stateDir)).map((h) => h.name);
}

async function docker(...args: string[]): Promise<string> {
  const { stdout } = await run('docker', args, { maxBuffer: 16 * 1024 * 1024 });
  return stdout.trim();
}

async function objects(kind: 'container' | 'network' | 'volume', customer: string): Promise<string[]> {
  const format = kind === 'container' ? '{{.ID}}' : '{{.Name}}';
  const list = (filter: string) => docker(kind, 'ls', ...(kind === 'container' ? ['-a'] : []), '--filter', filter, '--format', format).catch(() => '');
  // The customer's own vault compose carries no axe label (the file is the customer's): found by its project name.
  const outs = await Promise.all([list(`label=${CUSTOMER_LABEL}=${customer}`), list(`label=com.docker.compose.project=${customer}-vault`)]);
  return [...new Set(outs.join('\n').split('\n').filter(Boolean))];
}

export const fleetPart: LabPart = {
  name: 'fleet',
  async up() {
    // axe creates these itself when it reconciles the lab's customers.
  },
  async down(ctx: LabContext) {
    for (const customer of await labCustomers(ctx.stateDir)) {
      const containers = await objects('container', customer);
      if (containers.length) await docker('rm', '-f', '-v', ...containers);
      const volumes = await objects('volume', customer);
      if (volumes.length) await docker('volume', 'rm', '-f', ...volumes);
      const networks = await objects('network', customer);
      if (networks.length) await docker('network', 'rm', ...networks);
    }
  },
  async status(ctx: LabContext): Promise<LabPartStatus> {
    let count = 0;
    for (const customer of await labCustomers(ctx.stateDir)) count += (await objects('container', customer)).length;
    return { name: 'fleet', ready: true, detail: `${count} container(s) made by axe on the lab hosts` };
  },
};
