import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { diffIngress, healthIngress, type IngressDesired, type IngressObserved, type RouteObserved } from './diff.js';
import { frame } from '../../providers/host/facts/fact.js';
import { observeSection, parseObservation } from './index.js';

const desired: IngressDesired = {
  customer: 'demo',
  routes: [
    {
      service: 'frame',
      path: '/frame',
      project: 'demo-frame',
      checkout: '~/.axe/stacks/frame',
      proxy: 'axe-frame-proxy',
      colors: { blue: 'frame-mcp-blue', green: 'frame-mcp-green' },
      showCommand: ['frame-proxy-switch'],
      switchTemplate: ['frame-proxy-switch', '{color}'],
    },
  ],
};

const up = { running: true, health: 'healthy' as const };
const down = { running: false, health: null };

function observed(over: Partial<RouteObserved>): IngressObserved {
  return { routes: new Map([['frame', { proxy: true, routed: 'blue', answer: 'frame-mcp-blue', record: 'blue', colors: { blue: up, green: down }, ...over }]]) };
}

describe('ingress diff', () => {
  it('converged: the proxy routes to the recorded, serving color — nothing planned, Healthy', () => {
    assert.deepEqual(diffIngress(desired, observed({})), []);
    const h = healthIngress(desired, observed({}));
    assert.equal(h.status, 'Healthy');
    assert.equal(h.message, '/frame → axe-frame-proxy → frame-mcp-blue');
  });

  it('a proxy switched away from the recorded color (by hand, or restarted with its default) is switched back', () => {
    const o = observed({ routed: 'green', answer: 'frame-mcp-green' });
    const [action, ...rest] = diffIngress(desired, o);
    assert.equal(rest.length, 0);
    assert.equal(action?.op, 'switch');
    assert.deepEqual(action?.payload, { service: 'frame', to: 'blue' });
    assert.equal(action?.target, 'ingress:frame/frame');
    assert.match(action!.summary, /routes to frame-mcp-green, axe's active color is frame-mcp-blue \(running\): switch axe-frame-proxy back to blue/);
    // green is down: traffic fails now.
    assert.equal(healthIngress(desired, o).reason, 'RoutedToDownColor');
    assert.equal(healthIngress(desired, o).status, 'Degraded');
  });

  it('never switches to a recorded color that is down or not yet healthy (the stack kind brings it back)', () => {
    assert.deepEqual(diffIngress(desired, observed({ routed: 'green', record: 'blue', colors: { blue: down, green: up } })), []);
    assert.deepEqual(diffIngress(desired, observed({ routed: 'green', record: 'blue', colors: { blue: { running: true, health: 'starting' }, green: up } })), []);
    const h = healthIngress(desired, observed({ routed: 'green', record: 'blue', colors: { blue: down, green: up } }));
    assert.equal(h.status, 'Healthy');
    assert.equal(h.reason, 'RouteDrift');
  });

  it('without a record the proxy is taken as it is; without a proxy nothing is planned', () => {
    assert.deepEqual(diffIngress(desired, observed({ record: null, routed: 'green', colors: { blue: up, green: up } })), []);
    assert.deepEqual(diffIngress(desired, observed({ proxy: false, routed: null, answer: '' })), []);
    assert.equal(healthIngress(desired, observed({ proxy: false, routed: null, answer: '' })).status, 'Missing');
    assert.equal(healthIngress(desired, observed({ routed: null, answer: 'oops' })).reason, 'UnknownRoute');
  });

  it('parses the host section and shell-quotes every name in the script', () => {
    const ps = (service: string, state: string, status: string) =>
      JSON.stringify({ ID: service, Labels: `com.docker.compose.project=demo-frame,com.docker.compose.service=${service}`, State: state, Status: status });
    const containers = [ps('axe-frame-proxy', 'running', 'Up 1 hour'), ps('frame-mcp-blue', 'running', 'Up 1 hour (healthy)'), ps('frame-mcp-green', 'running', 'Up 2 minutes')].join('\n');
    const o = parseObservation(frame('0.containers', containers) + frame('0.answer', 'frame-mcp-green') + frame('0.record', 'blue'), desired);
    assert.deepEqual(o.routes.get('frame'), { proxy: true, routed: 'green', answer: 'frame-mcp-green', record: 'blue', colors: { blue: up, green: { running: true, health: null } } });
    const empty = parseObservation('', desired).routes.get('frame')!;
    assert.equal(empty.proxy, false);
    assert.equal(empty.record, null);
    assert.equal(empty.colors.blue.running, false);
    assert.equal(parseObservation(frame('0.containers', ps('axe-frame-proxy', 'exited', 'Exited (0)')), desired).routes.get('frame')!.proxy, false);
    const script = observeSection(desired, []).script;
    assert.match(script, /cid 'demo-frame' 'axe-frame-proxy'/);
    assert.match(script, /"\$D" 'exec' "\$pc" 'frame-proxy-switch'/);
    assert.match(script, /"\$HOME"\/'\.axe\/stacks\/frame\/\.axe-active'/);
    assert.match(script, /"\$D" 'ps' '-a' '--no-trunc' '--filter' 'label=com\.docker\.compose\.project=demo-frame' '--format' '\{\{json \.\}\}'/);
  });
});
