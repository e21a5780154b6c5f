/**
 * `axe demo`: the product's main job on the embedded default. Brings the lab
 * up, validates the lab's config repo, and onboards the demo customer from the
 * pack its IT sent (`customers ingest demo … --apply`: three client secrets to
 * the vault, the sso block committed on onboard/demo). Idempotent: run twice,
 * the second run finds nothing to do.
 */
import { join } from 'node:path';
import { ensureDemoPack } from '../../lab/demo-pack.js';
import { configRepoPaths } from '../../lab/config-repo.js';
import { labDir } from '../../lab/index.js';
import { operatorPaths } from '../../lab/operator.js';
import { line } from '../output.js';
import { customersIngest } from './customers.js';
import { labUpCommand } from './lab.js';
import { validate } from './validate.js';

export async function demo(): Promise<number> {
  const stateDir = labDir();
  line('== 1/3 lab up');
  const up = await labUpCommand({});
  if (up !== 0) return up;
  const { clone } = configRepoPaths(stateDir);
  process.env.AXE_HOME = operatorPaths(stateDir).home;
  line('\n== 2/3 axe validate');
  const valid = await validate({ repo: clone });
  if (valid !== 0) return valid;
  const pack = await ensureDemoPack(stateDir);
  line(`\n== 3/3 axe customers ingest demo ${pack} --apply`);
  const ingested = await customersIngest('demo', pack, { repo: clone, apply: true });
  if (ingested !== 0) return ingested;
  line('\nWhere to look:');
  line(`  config repo (operator clone): ${clone}  (git -C ${clone} log --oneline --all)`);
  line(`  the onboarding branch:        git -C ${clone} show onboard/demo`);
  line(`  vault (encrypted file):       ${join(operatorPaths(stateDir).home, 'vault')}`);
  line('  lab status:                   axe lab status');
  return 0;
}
