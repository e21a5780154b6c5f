import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { frame } from '../providers/host/facts/fact.js';
import { observeSection, parseObservation } from './prune.js';

const ps = (name: string, labels: string, networks: string) => JSON.stringify({ ID: name, Names: name, Labels: labels, Networks: networks, State: 'running', Status: 'Up 1 hour' });

describe('prune: what axe left on the host', () => {
  it('projects with our label, secret files present, the cloudflared container, and only the networks no one else uses', () => {
    const files = ['~/.axe/stacks/frame/.env.axe', '~/.axe/cloudflared/credentials.json'];
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
    const out = frame('files', '1') + frame('containers', containers) + frame('networks', networks);
    assert.deepEqual(parseObservation(out, 'acme', files), { projects: ['acme-frame'], secretFiles: [files[1]], cloudflared: 'container', networks: ['axe-acme'] });
    assert.equal(parseObservation(frame('launchd', 'state = running'), 'acme', files).cloudflared, 'launchd');
    assert.deepEqual(parseObservation('', 'acme', files), { projects: [], secretFiles: [], cloudflared: null, networks: [] });
  });

  it('the section asks docker for JSON, filtered to the customer label for networks', () => {
    const script = observeSection('acme', ['~/x'], []).script;
    assert.match(script, /"\$D" 'network' 'ls' '--no-trunc' '--filter' 'label=ai\.axelabs\.axe\.customer=acme' '--format' '\{\{json \.\}\}'/);
    assert.match(script, /if \[ -e "\$HOME"\/'x' \]; then echo 0; fi/);
  });
});
