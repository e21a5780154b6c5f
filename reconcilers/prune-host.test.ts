import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { frame } from '../providers/host/facts/fact.js';
import { cloudflaredLeftSection, parseCloudflaredLeft } from './cloudflared/delete.js';
import { parseStackLeft, stackLeftSection } from './stack/delete.js';
import { sectionsScript } from '../providers/host/sections.js';
import { pruneContainersSection } from './prune-containers.js';

const ps = (name: string, labels: string, networks: string) => JSON.stringify({ ID: name, Names: name, Labels: labels, Networks: networks, State: 'running', Status: 'Up 1 hour' });

describe('prune: what axe left on the host', () => {
  it('projects with our label, secret files present, the cloudflared container, and only the networks no one else uses', () => {
    const stackFiles = ['~/.axe/stacks/frame/.env.axe'];
    const containers = [
      ps('acme-frame-proxy-1', 'ai.axelabs.axe.customer=acme,com.docker.compose.project=acme-frame', 'acme-frame_default,axe-acme'),
      ps('axe-cloudflared-acme', 'ai.axelabs.axe.customer=acme', 'axe-acme'),
      ps('vaultwarden', 'com.docker.compose.project=acme-vault', 'axe-shared'),
      ps('other', 'ai.axelabs.axe.customer=globex,com.docker.compose.project=globex-frame', 'globex'),
    ].join('\n');
    const networks = [
      JSON.stringify({ Name: 'axe-acme', Labels: 'ai.axelabs.axe.customer=acme' }),
      JSON.stringify({ Name: 'axe-shared', Labels: 'ai.axelabs.axe.customer=acme' }),
      JSON.stringify({ Name: 'acme-frame_default', Labels: 'ai.axelabs.axe.customer=acme,com.docker.compose.project=acme-frame' }),
    ].join('\n');
    // The stack's env file is gone, cloudflared's credentials file is still there.
    // Each kind's section output, then the teardown's one container listing (teardown.ts appends it).
    const shared = frame('containers', containers);
    const stackOut = `${frame('files', '') + frame('networks', networks)}\n${shared}`;
    assert.deepEqual(parseStackLeft(stackOut, 'acme', stackFiles), { projects: ['acme-frame'], secretFiles: [], networks: ['axe-acme'] });
    assert.deepEqual(parseCloudflaredLeft(`${frame('files', '0')}\n${shared}`, 'acme'), { secretFiles: ['~/.axe/cloudflared/credentials.json'], service: 'container' });
    assert.equal(parseCloudflaredLeft(frame('launchd', 'state = running'), 'acme').service, 'launchd');
    assert.deepEqual(parseStackLeft('', 'acme', stackFiles), { projects: [], secretFiles: [], networks: [] });
    assert.deepEqual(parseCloudflaredLeft('', 'acme'), { secretFiles: [], service: null });
  });

  it('the sections ask docker for JSON, filtered to the customer label for networks, and test the secret files', () => {
    const script = stackLeftSection('acme', ['~/x'], []).script;
    assert.match(script, /"\$D" 'network' 'ls' '--no-trunc' '--filter' 'label=ai\.axelabs\.axe\.customer=acme' '--format' '\{\{json \.\}\}'/);
    assert.match(script, /if \[ -e "\$HOME"\/'x' \]; then echo 0; fi/);
    assert.match(cloudflaredLeftSection().script, /if \[ -e "\$HOME"\/'\.axe\/cloudflared\/credentials\.json' \]; then echo 0; fi/);
  });

  it('the teardown\'s round trip lists the containers once: one `docker ps` shared by the stack and cloudflared reads', () => {
    const batch = sectionsScript([stackLeftSection('acme', ['~/x'], []), cloudflaredLeftSection(), pruneContainersSection([])], '@@m');
    assert.equal(batch.match(/"\$D" 'ps'/g)?.length, 1, batch);
    assert.doesNotMatch(stackLeftSection('acme', ['~/x'], []).script + cloudflaredLeftSection().script, /'ps'/);
  });
});
