/**
 * The `axe` command line. Commands are thin: they parse options, call the
 * product code, print, and map errors to exit codes (1 for errors, 2 where a
 * command documents "changes pending"). Every error is one line on stderr.
 */
import { Command, CommanderError } from 'commander';
import { errorLine, terminal } from '../core/errors.js';
import { planRevisionsCommand, registerControllerCommands } from './commands/controller.js';
import { customersAdd, customersIngest } from './commands/customers.js';
import { registerDeployCommands } from './commands/deploy.js';
import { demo } from './commands/demo.js';
import { labDownCommand, labResetCommand, labStatusCommand, labUpCommand } from './commands/lab.js';
import { apply, onboard, plan } from './commands/reconcile.js';
import { secretList, secretPush } from './commands/secret.js';
import { validate } from './commands/validate.js';
import { vaultLoginCommand } from './commands/vault.js';
import { collect, runCommand as run } from './run.js';

export function buildProgram(): Command {
  const program = new Command('axe')
    .description('GitOps reconciler for the customer fleet: desired state in git, converged on every Mac mini')
    .showHelpAfterError('(run axe --help for usage)')
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });

  program
    .command('validate')
    .description('check the config repo; every error as file:line:column path: reason')
    .option('--repo <dir>', 'config repo (default: $AXE_REPO or the current directory)')
    .option('--json', 'machine-readable output')
    .action(run((options) => validate(options)));

  const customers = program.command('customers').description('edit customers.yaml by branch (comment-keeping)');
  const addOptions = (cmd: Command): Command =>
    cmd
      .option('--repo <dir>', 'config repo (default: $AXE_REPO or the current directory)')
      .option('--config <file>', 'axe config (default: $AXE_CONFIG or ~/.axe/config.yaml)')
      .option('--legal-name <name>', 'legal name of the customer')
      .option('--domain <domain>', "the customer's primary domain (e.g. newco.co.kr)")
      .option('--public-domain <domain>', 'public name (default: {id}.axelabs.ai)')
      .option('--tailscale-host <fqdn>', 'the Mac mini\'s MagicDNS FQDN (default: {id}-macmini.{tailnet})')
      .option('--tailnet <suffix>', 'tailnet MagicDNS suffix, e.g. tail1234.ts.net')
      .option('--entity <id>', 'an entity id (repeatable; default: the customer id)', collect)
      .option('--sovereign', 'the customer deploys its own stacks: no service slots')
      .option('--apply', 'write the change (default: print the plan only)')
      .option('--json', 'machine-readable output');
  addOptions(customers.command('add <id>').description('a new customer block and its service slots, committed on branch onboard/{id}'))
    .action(run((id: string, options) => customersAdd(id, options)));
  addOptions(customers.command('ingest <id> <pack>').description("the IT's pack: 3 client secrets to the vault, the sso block to customers.yaml, on branch onboard/{id}"))
    .action(run((id: string, pack: string, options) => customersIngest(id, pack, options)));
  const common = (cmd: Command): Command =>
    cmd
      .option('--repo <dir>', 'config repo (default: $AXE_REPO, the config\'s repo.checkout, or the current directory)')
      .option('--config <file>', 'axe config (default: $AXE_CONFIG or ~/.axe/config.yaml)')
      .option('--json', 'machine-readable output');
  common(program.command('plan [customer]').description('what the controller would change now, per customer and resource (read-only); exit 0 in sync, 2 changes pending, 1 error'))
    .option('--markdown', 'a pull request comment')
    .option('--only <kinds>', 'limit to these resource kinds (comma-separated)')
    .option('--concurrency <n>', 'customers planned in parallel (default 8)')
    .option('--base <rev>', 'with --head: plan only the customers whose desired state differs between the two revisions (the PR plan)')
    .option('--head <rev>', 'the pull request head (with --base)')
    .action(
      run((customer: string | undefined, options) => {
        if (options.base || options.head) {
          if (!options.base || !options.head) throw terminal('--base and --head go together', { fix: 'axe plan --base origin/main --head HEAD --markdown' });
          return planRevisionsCommand(customer, options);
        }
        return plan(customer, options);
      }),
    );
  common(program.command('onboard <customer>').description("the customer's exposure: host check, tunnel, DNS, cloudflared (plan unless --apply)"))
    .option('--apply', 'make the changes')
    .option('--markdown', 'a pull request comment')
    .action(run((customer: string, options) => onboard(customer, options)));
  common(program.command('apply <customer>').description('reconcile every resource of one customer (plan unless --apply)'))
    .option('--apply', 'make the changes')
    .option('--only <kinds>', 'limit to these resource kinds (comma-separated)')
    .option('--markdown', 'a pull request comment')
    .action(run((customer: string, options) => apply(customer, options)));

  const secret = program.command('secret').description('secrets in the operator vault: values never on a command line, never printed');
  common(secret.command('push <name>').description('store a secret read from a hidden prompt or stdin (never an argument)'))
    .requiredOption('--service <service>', 'the service whose slot declares it (cloudflare for the operator token)')
    .requiredOption('--customer <customer>', 'the customer (operator for the Cloudflare token)')
    .action(run((name: string, options) => secretPush(name, options)));
  common(secret.command('list').description('every declared secret: owner and presence, never a value'))
    .option('--customer <customer>', 'one customer')
    .action(run((options) => secretList(options)));

  const vault = program.command('vault').description('the operator vault (bw serve)');
  vault
    .command('login')
    .description('unlock once; keep the session in the OS keychain (8 h); password from a hidden prompt or stdin')
    .option('--config <file>', 'axe config (default: $AXE_CONFIG or ~/.axe/config.yaml)')
    .option('--json', 'machine-readable output')
    .action(run((options) => vaultLoginCommand(options)));

  registerDeployCommands(program);
  registerControllerCommands(program);

  const lab = program.command('lab').description('the local stand-ins for Cloudflare, Tailscale, the vault and the Mac minis (root)');
  lab.command('up').description('bring every lab part up (idempotent)').option('--json', 'machine-readable output').action(run((o) => labUpCommand(o)));
  lab.command('status').description('is every part ready').option('--json', 'machine-readable output').action(run((o) => labStatusCommand(o)));
  lab.command('down').description('remove everything the lab made, and nothing else').option('--json', 'machine-readable output').action(run((o) => labDownCommand(o)));
  lab.command('reset').description('down, then up: a fresh lab').option('--json', 'machine-readable output').action(run((o) => labResetCommand(o)));

  program.command('demo').description('the main job on the lab: lab up, validate, onboard the demo customer from its pack').action(run(() => demo()));
  return program;
}

try {
  await buildProgram().parseAsync(process.argv);
} catch (error) {
  if (!(error instanceof CommanderError)) {
    process.stderr.write(`axe: ${errorLine(error)}\n`);
    process.exitCode = 1;
  }
}
