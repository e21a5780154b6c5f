import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseProbe } from '../../providers/host/probe.js';
import { diffHost, healthHost, type HostDesired, type HostObserved } from './diff.js';

const desired: HostDesired = { customer: 'demo', tailscaleHost: 'demo-macmini.tail-lab.ts.net', needs: ['docker', 'git'], bwMaxVersion: '2025.7.0' };
const facts = parseProbe(['path=/usr/bin:/bin', 'uname=Darwin', 'os_version=14.6', 'tool_docker=/opt/homebrew/bin/docker', 'bare_docker=/opt/homebrew/bin/docker',
  'tool_git=/usr/bin/git', 'bare_git=/usr/bin/git', 'tool_bw=', 'bare_bw=', 'docker_version=27.3.1', 'compose_version=2.29.7', 'sleep=0', 'probe=done'].join('\n'));
const converged: HostObserved = {
  peer: { dnsName: 'demo-macmini.tail-lab.ts.net', hostName: 'demo-macmini', online: true, direct: true, relay: 'tok', matchedBy: 'fqdn' },
  ssh: { ok: true },
  facts,
};

describe('host check', () => {
  it('converged state plans nothing and is Healthy without findings', () => {
    assert.deepEqual(diffHost(), []);
    const health = healthHost(desired, converged);
    assert.equal(health.status, 'Healthy');
    assert.equal(health.findings, undefined);
  });

  const cases: Array<[string, HostObserved, string, string | undefined]> = [
    ['peer missing', { ...converged, peer: null }, 'PeerNotFound', 'tailscale-peer-offline'],
    ['peer offline', { ...converged, peer: { ...converged.peer!, online: false } }, 'PeerOffline', 'tailscale-peer-offline'],
    ['relayed', { ...converged, peer: { ...converged.peer!, direct: false } }, 'PeerRelayed', 'tailscale-relayed'],
    ['asleep', { ...converged, facts: { ...facts, sleepMinutes: 10 } }, 'SleepEnabled', 'host-asleep'],
    ['docker absent', { ...converged, facts: { ...facts, tools: { ...facts.tools, docker: { path: null, bare: null, version: null } } } }, 'ToolMissing', undefined],
    ['ssh key refused', { ...converged, ssh: { ok: false, message: 'SSH key refused', trap: { trap: 'ssh-key-refused', fix: 'x' } } }, 'SshFailed', 'ssh-key-refused'],
  ];
  for (const [name, observed, reason, trapName] of cases) {
    it(`${name}: Degraded, ${reason}${trapName ? `, trap ${trapName}` : ''}`, () => {
      const health = healthHost(desired, observed);
      assert.equal(health.status, 'Degraded');
      assert.equal(health.reason, reason);
      assert.equal(health.trap?.trap, trapName);
    });
  }

  it('the short alias and the non-login PATH are findings on a healthy host', () => {
    const observed: HostObserved = {
      ...converged,
      peer: { ...converged.peer!, matchedBy: 'short-alias' },
      facts: { ...facts, tools: { ...facts.tools, docker: { ...facts.tools.docker, bare: null } } },
    };
    const health = healthHost({ ...desired, tailscaleHost: 'demo-macmini' }, observed);
    assert.equal(health.status, 'Healthy');
    assert.deepEqual(health.findings?.map((f) => f.trap), ['tailscale-short-alias', 'ssh-non-login-path']);
    assert.match(health.findings![0]!.fix, /demo-macmini\.tail-lab\.ts\.net/);
  });

  it('bw in the crashing range: a finding, or Degraded when the host needs bw', () => {
    const withBw = { ...converged, facts: { ...facts, tools: { ...facts.tools, bw: { path: '/opt/homebrew/bin/bw', bare: null, version: '2026.6.0' } } } };
    assert.ok(healthHost(desired, withBw).findings?.some((f) => f.trap === 'bw-cli-crashing-version'));
    assert.equal(healthHost({ ...desired, needs: ['docker', 'git', 'bw'] }, withBw).trap?.trap, 'bw-cli-crashing-version');
  });
});
