/**
 * `axe demo`: the product's main job on the embedded default (the lab).
 * Brings the lab up (the controller last, hooked to the lab's config repo),
 * validates the config repo, onboards the demo customer from the pack its IT
 * sent (`customers ingest demo … --apply`: three client secrets to the vault,
 * the sso block committed on onboard/demo), shows the plan a pull request
 * would carry, merges the branch and pushes it (D-day), and then only waits:
 * the push reaches the controller through the signed webhook and the
 * controller converges the customer, with no CLI call. Ends with the
 * controller running and where to look at it.
 * Idempotent: run twice, the second run finds nothing to do.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ensureDemoPack } from '../../lab/demo-pack.js';
import { controllerLabPaths } from '../../lab/controller-part.js';
import { waitConverged } from '../../controller/wait.js';
import { configRepoPaths } from '../../lab/config-repo.js';
import { labDir } from '../../lab/index.js';
import { operatorPaths } from '../../lab/operator.js';
import { onboardBranch } from '../../onboarding/apply.js';
import { openConfigRepo } from '../../providers/git/config-repo.js';
import { terminal } from '../../core/errors.js';
import { line, progress } from '../output.js';
import { customersIngest } from './customers.js';
import { labUpCommand } from './lab.js';
import { plan } from './reconcile.js';
import { status } from './status.js';
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
  const head = await openConfigRepo(clone).head();
  if (!head) throw terminal(`the config repo clone ${clone} has no HEAD after the merge`, { fix: 'axe lab reset' });
  const controller = controllerLabPaths(stateDir);
  const url = (await readFile(controller.url, 'utf8')).trim();
  line(`\n== 6/6 the controller converges demo at ${head.slice(0, 12)}   ${merged ? '(no CLI call: the push reached its webhook)' : '(nothing new was pushed: it has converged already or is at it)'}`);
  const waited = await waitConverged(url, 'demo', { revision: head, timeoutMs: 10 * 60_000, onChange: progress });
  line('');
  await status('demo', { url });
  if (waited.converged) line(`\ndemo converged by the controller in ${waited.seconds.toFixed(1)} s after the merge`);
  else process.stderr.write(`axe: demo: the controller did not converge demo within 10 min: ${waited.reason}; fix: read its log (${controller.log}) and axe status --url ${url}\n`);
  line('\nWhere to look (the controller keeps running; axe lab down stops it):');
  line(`  status:                       ${url}/status   (axe status --url ${url})`);
  line(`  metrics (Prometheus):         ${url}/metrics`);
  line(`  history and ship log:         AXE_HOME=${operatorPaths(stateDir).home} axe history demo`);
  line(`  controller log:               ${controller.log}`);
  line(`  plan now:                     AXE_HOME=${operatorPaths(stateDir).home} axe plan demo`);
  line(`  config repo (operator clone): ${clone}  (git -C ${clone} log --oneline --graph --all)`);
  line(`  vault (encrypted file):       ${join(operatorPaths(stateDir).home, 'vault')}`);
  line('  lab status:                   axe lab status');
  return waited.converged ? 0 : 1;
}
