import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, test } from 'node:test';
import { Customer } from '../../schemas/customers.js';
import { StackManifest } from '../../schemas/service-manifest.js';
import { entityTokens, envDigest, envFilesText, envVarSpecs, renderServiceEnvFile, serviceEnvs } from './render.js';
import { customerField, renderEnvFile, sha256 } from '../templates.js';

const vars = { customer: 'new-co', service: 'blueprint', publicDomain: 'new-co.axelabs.ai', ref: 'v1.0.0' };

const customer = Customer.parse({
  legal_name: 'New Co',
  primary_domain: 'newco.example.com',
  public_domain: 'new-co.axelabs.ai',
  tailscale_host: 'new-co-macmini.tail-lab.ts.net',
  entities: ['newco'],
});

describe('stack render', () => {
  test('env vars: values, secrets, hooks, and customer fields that are not set yet', () => {
    const manifest = StackManifest.parse({
      name: 'blueprint',
      source: { repo: 'r', ref: 'v1.0.0' },
      checkout: '~/x',
      compose: {},
      env: {
        vars: {
          B_URL: { value: 'https://{public_domain}' },
          A_SECRET: { secret: 'AZURE_{CUSTOMER}_BLUEPRINT_CLIENT_SECRET' },
          C_TOKEN: { hook: 'frame_mcp_token' },
          D_TENANT: { customer: 'sso.tenant_id' },
          E_NAME: { customer: 'legal_name' },
        },
      },
    });
    assert.deepEqual(envVarSpecs(manifest, customer, vars), [
      { name: 'A_SECRET', kind: 'secret', secret: 'AZURE_NEW_CO_BLUEPRINT_CLIENT_SECRET' },
      { name: 'B_URL', kind: 'value', value: 'https://new-co.axelabs.ai' },
      { name: 'C_TOKEN', kind: 'hook', hook: 'frame_mcp_token' },
      { name: 'D_TENANT', kind: 'missing-field', field: 'sso.tenant_id' },
      { name: 'E_NAME', kind: 'value', value: 'New Co' },
    ]);
    assert.equal(customerField(customer, 'entities'), null);
  });

  test('the digest leaves hook lines out and matches what grep -v | sha256sum gives on a host', () => {
    const text = renderEnvFile('demo', 'blueprint', new Map([['A', '1'], ['FRAME_MCP_TOKEN', 'secret-token'], ['Z', '2']]));
    const digest = envDigest(text, ['FRAME_MCP_TOKEN']);
    const other = envDigest(renderEnvFile('demo', 'blueprint', new Map([['A', '1'], ['FRAME_MCP_TOKEN', 'another'], ['Z', '2']])), ['FRAME_MCP_TOKEN']);
    assert.equal(digest, other);
    const host = execFileSync('sh', ['-c', "grep -v -E '^(FRAME_MCP_TOKEN)=' | sha256sum | cut -d' ' -f1"], { input: text }).toString().trim();
    assert.equal(host, digest);
    assert.equal(envDigest(text, []), sha256(text));
  });

  test("env.services: one file per compose service beside the env file, holding only its vars; the hash covers every file", () => {
    const manifest = StackManifest.parse({
      name: 'blueprint',
      source: { repo: 'r', ref: 'v1' },
      checkout: '~/x',
      compose: {},
      env: {
        file: 'conf/.env.local',
        vars: { A: { value: '1' }, SECRET: { secret: 'S' }, FRAME_MCP_TOKEN: { hook: 'h' }, AXE_REF: { value: '{ref}' } },
        services: { web: ['SECRET', 'FRAME_MCP_TOKEN', 'A', 'A'], db: [] },
        compose_only: ['AXE_REF'],
      },
    });
    const envs = serviceEnvs(manifest)!;
    assert.deepEqual(envs, [
      { service: 'db', file: 'conf/.env.axe.db', vars: [] },
      { service: 'web', file: 'conf/.env.axe.web', vars: ['A', 'FRAME_MCP_TOKEN', 'SECRET'] },
    ]);
    assert.equal(serviceEnvs({ ...manifest, env: { ...manifest.env, services: undefined } }), null, 'without the map the compose files decide');
    const text = renderEnvFile('demo', 'blueprint', new Map([['A', '1'], ['AXE_REF', 'v1'], ['FRAME_MCP_TOKEN', 'tok'], ['SECRET', 's3cret']]));
    assert.deepEqual(renderServiceEnvFile('demo', 'blueprint', text, envs[1]!).split('\n').slice(1), ['A=1', 'FRAME_MCP_TOKEN=tok', 'SECRET=s3cret', '']);
    assert.deepEqual(renderServiceEnvFile('demo', 'blueprint', text, envs[0]!).split('\n').slice(1), ['']);
    // The hash covers the containers' files (a value moved between them changes it) and still leaves hook lines out.
    const all = envFilesText('demo', 'blueprint', text, envs);
    assert.equal(envDigest(all, ['FRAME_MCP_TOKEN']), envDigest(envFilesText('demo', 'blueprint', text.replace('tok', 'other'), envs), ['FRAME_MCP_TOKEN']));
    const moved = serviceEnvs({ ...manifest, env: { ...manifest.env, services: { web: ['FRAME_MCP_TOKEN', 'A'], db: ['SECRET'] } } });
    assert.notEqual(envDigest(envFilesText('demo', 'blueprint', text, moved), []), envDigest(all, []));
    assert.equal(envFilesText('demo', 'blueprint', text, null), text);
  });
});

describe('per-entity env vars', () => {
  test('a {ENTITY} var is one var per entity, its secret named per entity; env.services lists expand the same way', () => {
    const manifest = StackManifest.parse({
      name: 'frame',
      source: { repo: 'r', ref: 'v1' },
      checkout: '~/x',
      compose: {},
      env: {
        vars: { A: { value: '1' }, 'FRAME_PII_PASSPHRASE_{ENTITY}': { secret: 'FRAME_{CUSTOMER}_{ENTITY}_PII_PASSPHRASE' } },
        services: { app: ['A', 'FRAME_PII_PASSPHRASE_{ENTITY}'], db: ['A'] },
      },
    });
    const customer = Customer.parse({ legal_name: 'N', primary_domain: 'n.example.com', public_domain: 'n.axelabs.ai', tailscale_host: 'n.ts.net', entities: ['acmec', { id: 'new-co', legal_name: 'New' }] });
    const specs = envVarSpecs(manifest, customer, { customer: 'acme', service: 'frame', publicDomain: 'n.axelabs.ai', ref: 'v1' });
    assert.deepEqual(specs, [
      { name: 'A', kind: 'value', value: '1' },
      { name: 'FRAME_PII_PASSPHRASE_ACMEC', kind: 'secret', secret: 'FRAME_ACME_ACMEC_PII_PASSPHRASE' },
      { name: 'FRAME_PII_PASSPHRASE_NEW_CO', kind: 'secret', secret: 'FRAME_ACME_NEW_CO_PII_PASSPHRASE' },
    ]);
    assert.deepEqual(serviceEnvs(manifest, entityTokens(customer))?.map((e) => [e.service, e.vars]), [
      ['app', ['A', 'FRAME_PII_PASSPHRASE_ACMEC', 'FRAME_PII_PASSPHRASE_NEW_CO']],
      ['db', ['A']],
    ]);
    // No entity: no var (and no secret wanted).
    assert.deepEqual(envVarSpecs(manifest, { ...customer, entities: [] }, { customer: 'acme', service: 'frame', publicDomain: 'x', ref: 'v1' }).map((v) => v.name), ['A']);
  });
});
