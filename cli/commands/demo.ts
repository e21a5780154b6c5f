/**
 * `axe demo`: the product's main job on the embedded default (the lab).
 * Brings the lab up, validates the lab's config repo, onboards the demo
 * customer from the pack its IT sent (`customers ingest demo … --apply`: three
 * client secrets to the vault, the sso block committed on onboard/demo), shows
 * the plan a pull request would carry, merges the branch (D-day), and
 * converges the customer with the same reconcile the controller runs.
 * Idempotent: run twice, the second run finds nothing to do.
 */
import { join } from 'node:path';
import { ensureDemoPack } from '../../lab/demo-pack.js';
import { configRepoPaths } from '../../lab/config-repo.js';
import { labDir } from '../../lab/index.js';
import { operatorPaths } from '../../lab/operator.js';
import { onboardBranch } from '../../onboarding/apply.js';
import { openConfigRepo } from '../../providers/git/config-repo.js';
import { line } from '../output.js';
import { customersIngest } from './customers.js';
import { labUpCommand } from './lab.js';
import { apply, plan } from './reconcile.js';
import { validate } from './validate.js';

export async function demo(): Promise<number> {
  const stateDir = labDir();
  line('== 1/6 axe lab up');
  const up = await labUpCommand({});
  if (up !== 0) return up;
  const { clone } = configRepoPaths(stateDir);
  process.env.AXE_HOME = operatorPaths(stateDir).home;
  line('\n== 2/6 axe validate');
  const valid = await validate({ repo: clone });
  if (valid !== 0) return valid;
  const pack = await ensureDemoPack(stateDir);
  line(`\n== 3/6 axe customers ingest demo ${pack} --apply`);
  const ingested = await customersIngest('demo', pack, { repo: clone, apply: true });
  if (ingested !== 0) return ingested;
  line('\n== 4/6 axe plan demo --markdown   (the comment on the pull request)');
  const planned = await plan('demo', { repo: clone, markdown: true });
  if (planned === 1) return 1;
  line(`\n== 5/6 merge ${onboardBranch('demo')} into main (D-day) and push`);
  const merged = await openConfigRepo(clone).mergeAndPush(onboardBranch('demo'), 'main');
  line(merged ? 'merged and pushed to the config repo' : 'already merged');
  line('\n== 6/6 axe apply demo --apply   (the reconcile the controller runs on merge)');
  const applied = await apply('demo', { repo: clone, apply: true });
  line('\nWhere to look:');
  line(`  plan now:                     AXE_HOME=${operatorPaths(stateDir).home} axe plan demo`);
  line(`  config repo (operator clone): ${clone}  (git -C ${clone} log --oneline --graph --all)`);
  line(`  vault (encrypted file):       ${join(operatorPaths(stateDir).home, 'vault')}`);
  line('  lab status:                   axe lab status');
  return applied;
}
