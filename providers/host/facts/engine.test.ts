import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { fakeEngine, localConnection } from '../../../test/fake-engine.js';
import { batchEngine, ENGINE_RETRY_MS, engineQuery } from '../engine-api.js';
import { hostScript, runBatch } from '../executor.js';
import { containerFact, engineListUrl } from './container.js';
import { containersFact, labelledNetworksFact, networksFact, volumesFact } from './docker.js';
import { engineFact } from './engine.js';
import { answerEngineFacts, ENGINE_ANSWERED, type Fact, factsSection, frame, readFacts, when } from './fact.js';

/** A fact's value from the engine's answer, and from its shell form's output. */
const byEngine = <T>(f: Fact<T>, answer: unknown): T => readFacts(frame(f.name, JSON.stringify(answer), ENGINE_ANSWERED), { f }).f;
const byShell = <T>(f: Fact<T>, output: string): T => readFacts(frame(f.name, output), { f }).f;

const sh = (script: string) => execFileSync('/bin/sh', ['-c', hostScript(script)], { env: { PATH: '/usr/bin:/bin' } }).toString();

/** A container as the engine lists it, and the same as `docker ps -a --no-trunc --format '{{json .}}'` prints it. */
const listed = {
  Id: 'c0ffee',
  Names: ['/axe-cloudflared-acme'],
  Labels: { 'ai.axelabs.axe.customer': 'acme', 'ai.axelabs.axe.service-hash': 'h1', note: 'a,b' },
  State: 'running',
  Status: 'Up 3 minutes (healthy)',
  NetworkSettings: { Networks: { 'axe-acme': { NetworkID: 'n2' }, bridge: { NetworkID: 'n1' } } },
};
const psRow = { ID: 'c0ffee', Names: 'axe-cloudflared-acme', Labels: 'note=a,b,ai.axelabs.axe.customer=acme,ai.axelabs.axe.service-hash=h1', Networks: 'axe-acme,bridge', State: 'running', Status: 'Up 3 minutes (healthy)' };

describe('engine facts: the engine answer parses as the shell form does', () => {
  it('a container by name (the engine list, as the curl form prints it); absent is null either way', () => {
    const f = containerFact('container', 'axe-cloudflared-acme');
    const expected = { state: 'running', health: 'healthy', labels: listed.Labels };
    assert.deepEqual(byEngine(f, [listed]), expected);
    assert.deepEqual(byShell(f, JSON.stringify([listed])), expected);
    assert.equal(byEngine(f, []), null);
    assert.equal(byShell(f, ''), null);
    assert.equal(byEngine(f, [{ ...listed, Names: ['/axe-cloudflared-acme2'] }]), null, 'only the exact name');
    assert.match(engineListUrl('x'), /^http:\/\/localhost\/containers\/json\?all=1&filters=/);
  });

  it('the container listing (names without /, networks by name sorted, labels whole)', () => {
    const f = containersFact('containers', ['a=b']);
    const value = byEngine(f, [listed]);
    assert.deepEqual(value, byShell(f, JSON.stringify(psRow)));
    assert.deepEqual(value, [{ id: 'c0ffee', names: ['axe-cloudflared-acme'], labels: listed.Labels, networks: ['axe-acme', 'bridge'], state: 'running', health: 'healthy' }]);
    assert.deepEqual(byEngine(f, { message: 'not a list' }), []);
  });

  it('networks, volumes and labelled networks', () => {
    const nets = networksFact('networks');
    const engineNets = [{ Id: 'n1', Name: 'bridge', Labels: {} }, { Id: 'n2', Name: 'axe-acme', Labels: { 'ai.axelabs.axe.customer': 'acme' } }];
    const cliNets = '{"ID":"n1","Name":"bridge","Labels":""}\n{"ID":"n2","Name":"axe-acme","Labels":"ai.axelabs.axe.customer=acme"}';
    assert.deepEqual(byEngine(nets, engineNets), { ids: new Set(['n1', 'n2']), names: new Set(['bridge', 'axe-acme']) });
    assert.deepEqual(byEngine(nets, engineNets), byShell(nets, cliNets));
    const labelled = labelledNetworksFact('networks', ['ai.axelabs.axe.customer=acme']);
    assert.deepEqual(byEngine(labelled, engineNets), byShell(labelled, cliNets));
    const vols = volumesFact('volumes');
    assert.deepEqual(byEngine(vols, { Volumes: [{ Name: 'data' }, { Name: 'other' }], Warnings: null }), new Set(['data', 'other']));
    assert.deepEqual(byEngine(vols, { Volumes: [{ Name: 'data' }, { Name: 'other' }] }), byShell(vols, '{"Name":"data"}\n{"Name":"other"}'));
    assert.deepEqual(byEngine(vols, { Volumes: null }), new Set());
  });

  it("a fact not run (its guard did not hold) parses as not run, whatever the engine said; the query's filters are JSON", () => {
    const f = when('false', containerFact('container', 'x'));
    const output = sh(factsSection('s', { f }, 'axe_engine=1').script);
    assert.equal(readFacts(answerEngineFacts(output, new Map([['container', [{ Names: ['/x'], State: 'running' }]]])), { f }).f, null);
    assert.equal(engineQuery({ all: 1, filters: { name: ['^/x$'] } }), `?all=1&filters=${encodeURIComponent('{"name":["^/x$"]}')}`);
    assert.equal(engineQuery(), '');
  });
});

describe('engine facts in the batch', () => {
  const echoFact = (name: string, path: string) =>
    engineFact({ call: (engine) => engine.get(path), parse: (answer) => `engine:${JSON.stringify(answer)}`, fallback: { name, command: `echo shell-${name}`, parse: (output: string, code: number) => `shell:${output}:${code}` } });
  const section = () => factsSection('s', { a: echoFact('a', '/a'), b: when('true', echoFact('b', '/b')), c: when('false', echoFact('c', '/c')), plain: { name: 'plain', command: 'echo plain', parse: (o: string) => o } });
  const read = (output: string) => {
    const s = { a: echoFact('a', '/a'), b: echoFact('b', '/b'), c: echoFact('c', '/c'), plain: { name: 'plain', command: '', parse: (o: string) => o } };
    return readFacts(output, s);
  };

  it('with the engine: its answers in one round trip, the shell forms skipped (channels counted apart); a guarded-out fact stays not run', async () => {
    const engine = await fakeEngine({ '/a': [1], '/b': { x: 'y' }, '/c': 'never' });
    const connection = localConnection('engine-ok');
    try {
      const out = await runBatch(connection, [section()], 10_000, batchEngine(connection, engine.socket));
      assert.equal(connection.trips, 1, 'one round trip');
      assert.equal(connection.channels, 3, 'one channel per engine fact');
      assert.deepEqual(read(out.get('s')!.output), { a: 'engine:[1]', b: 'engine:{"x":"y"}', c: 'shell::-1', plain: 'plain' });
    } finally {
      await engine.close();
    }
  });

  it('without a known socket: the shell forms, no channel; when the engine fails: the shell forms in a second round trip, and the shell for a while', async () => {
    const engine = await fakeEngine({ '/a': [1], '/b': 500 });
    const connection = localConnection('engine-down');
    try {
      assert.equal(batchEngine(connection, null), null);
      const shellOnly = await runBatch(connection, [section()], 10_000, null);
      assert.deepEqual(read(shellOnly.get('s')!.output), { a: 'shell:shell-a:0', b: 'shell:shell-b:0', c: 'shell::-1', plain: 'plain' });
      assert.deepEqual([connection.trips, connection.channels], [1, 0]);
      const started = Date.now();
      const out = await runBatch(connection, [section()], 10_000, batchEngine(connection, engine.socket, started));
      assert.deepEqual(read(out.get('s')!.output), { a: 'shell:shell-a:0', b: 'shell:shell-b:0', c: 'shell::-1', plain: 'plain' });
      assert.equal(connection.trips, 3, 'the failed batch ran its engine sections again by the shell');
      assert.equal(batchEngine(connection, engine.socket, started + 1000), null, 'the shell while the engine failed lately');
      assert.ok(batchEngine(connection, engine.socket, started + ENGINE_RETRY_MS + 1000), 'the engine again later');
    } finally {
      await engine.close();
    }
  });
});
