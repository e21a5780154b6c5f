import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, test } from 'node:test';
import { envLine, expandTemplate, hookCommand, renderEnvFile } from './templates.js';

const vars = { customer: 'new-co', service: 'blueprint', publicDomain: 'new-co.axelabs.ai', ref: 'v1.0.0' };

describe('templates and env files', () => {
  test('templates expand customer, CUSTOMER, service, public_domain and ref', () => {
    assert.equal(expandTemplate('{customer}/{CUSTOMER}/{service}/{SERVICE}/https://{public_domain}@{ref}', vars), 'new-co/NEW_CO/blueprint/BLUEPRINT/https://new-co.axelabs.ai@v1.0.0');
  });

  test('values are bare when safe, single-quoted otherwise, refused with a quote or line break', () => {
    assert.equal(envLine('A', 'abc-DEF_1.2/x:y@z+w=,~%'), 'A=abc-DEF_1.2/x:y@z+w=,~%');
    assert.equal(envLine('A', 'New Co $HOME #x'), "A='New Co $HOME #x'");
    assert.equal(envLine('A', ''), 'A=');
    assert.throws(() => envLine('A', "it's"), /A holds a quote or a line break/);
    assert.throws(() => envLine('A', 'a\nb'), /line break/);
  });

  test('Compose reads the rendered file back to the exact values', () => {
    const values = new Map([
      ['PLAIN', 'v1.0.0'],
      ['SPACES', 'Demo Company'],
      ['DOLLAR', 'p$ss#word'],
      ['TOKEN', 'abc'],
    ]);
    const text = renderEnvFile('demo', 'hive', values);
    const dir = execFileSync('mktemp', ['-d']).toString().trim();
    try {
      execFileSync('sh', ['-c', `cat > ${dir}/.env.local && printf 'services:\\n  x:\\n    image: scratch\\n    env_file: .env.local\\n' > ${dir}/compose.yml`], { input: text });
      const config = JSON.parse(execFileSync('docker', ['compose', '-p', 'axelab-render-test', '-f', `${dir}/compose.yml`, 'config', '--format', 'json']).toString()) as { services: { x: { environment: Record<string, string> } } };
      // `config` prints `$` escaped as `$$` (what a compose file would need); the value itself is literal.
      const read = Object.fromEntries(Object.entries(config.services.x.environment).map(([k, v]) => [k, v.replaceAll('$$', '$')]));
      assert.deepEqual(read, Object.fromEntries(values));
    } finally {
      execFileSync('rm', ['-rf', dir]);
    }
  });

  test('hook commands fill entity placeholders', () => {
    const exec = { container: '@active', command: ['frame', 'register-entity', '--id', '{entity.id}', '--legal-name', '{entity.legal_name}', '--customer', '{customer}'] } as const;
    assert.deepEqual(hookCommand({ ...exec, command: [...exec.command] }, vars, { id: 'newco', legal_name: 'New Co', kind: 'corporate', accounting_standard: 'ksme' }), ['frame', 'register-entity', '--id', 'newco', '--legal-name', 'New Co', '--customer', 'new-co']);
  });
});
