import { formatIssue } from '../../schemas/load.js';
import { loadRepo } from '../../schemas/repo.js';
import { line, printJson } from '../output.js';
import { resolveRepo } from '../settings.js';

export interface ValidateOptions {
  repo?: string;
  json?: boolean;
}

/** `axe validate`: 0 when the config repo is valid, 1 with every issue listed. */
export async function validate(options: ValidateOptions): Promise<number> {
  const root = resolveRepo(options, null);
  const result = await loadRepo(root);
  if (options.json) {
    printJson(result.ok
      ? { valid: true, repo: root, customers: Object.keys(result.state.customers.customers), services: [...result.state.manifests.keys()], issues: [] }
      : { valid: false, repo: root, issues: result.issues });
    return result.ok ? 0 : 1;
  }
  if (result.ok) {
    const customers = Object.keys(result.state.customers.customers);
    line(`valid: ${customers.length} customers (${customers.join(', ')}), ${result.state.manifests.size} services (${[...result.state.manifests.keys()].join(', ')})`);
    return 0;
  }
  for (const issue of result.issues) process.stderr.write(`${formatIssue(issue)}\n`);
  process.stderr.write(`${result.issues.length} error${result.issues.length === 1 ? '' : 's'} in ${root}\n`);
  return 1;
}
