/**
 * The `axe` command line. Commands are thin: they parse options, call the
 * product code, print, and map errors to exit codes (1 for errors, 2 where a
 * command documents "changes pending"). Every error is one line on stderr.
 */
import { Command, CommanderError } from 'commander';
import { errorLine, terminal } from '../core/errors.js';
import type { ControllerCliOptions } from './commands/controller.js';
import type { DeployCliOptions } from './commands/deploy.js';
import { collect, runCommand as run } from './run.js';

// Each command's module (and what it pulls in: the SDKs, the lab, the controller) is
// loaded only when that command runs: `axe --help` and `axe controller` load only what they use.
const validateCmd = () => import('./commands/validate.js');
const customersCmd = () => import('./commands/customers.js');
const reconcileCmd = () => import('./commands/reconcile.js');
const planCmd = () => import('./commands/plan.js');
const secretCmd = () => import('./commands/secret.js');
const vaultCmd = () => import('./commands/vault.js');
const deployCmd = () => import('./commands/deploy.js');
const controllerCmd = () => import('./commands/controller.js');
const planRevisionsCmd = () => import('./commands/plan-revisions.js');
const statusCmd = () => import('./commands/status.js');
const historyCmd = () => import('./commands/history.js');
const rolloutCmd = () => import('./commands/rollout.js');
const controlCmd = () => import('./commands/control.js');
const labCmd = () => import('./commands/lab.js');
const demoCmd = () => import('./commands/demo.js');
const mcpCmd = () => import('./commands/mcp.js');
const backupCmd = () => import('./commands/backup.js');
const handoffCmd = () => import('./commands/handoff.js');
const secretRotateCmd = () => import('./commands/secret-rotate.js');

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
    .action(run(async (options) => (await validateCmd()).validate(options)));

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
    .action(run(async (id: string, options) => (await customersCmd()).customersAdd(id, options)));
  addOptions(customers.command('ingest <id> <pack>').description("the IT's pack: 3 client secrets to the vault, the sso block to customers.yaml, on branch onboard/{id}"))
    .action(run(async (id: string, pack: string, options) => (await customersCmd()).customersIngest(id, pack, options)));
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
    .option('--local', 'plan here even when a running controller could plan over its warm connections (it is asked when this checkout is its revision)')
    .action(
      run(async (customer: string | undefined, options) => {
        if (options.base || options.head) {
          if (!options.base || !options.head) throw terminal('--base and --head go together', { fix: 'axe plan --base origin/main --head HEAD --markdown' });
          return (await planRevisionsCmd()).planRevisionsCommand(customer, options);
        }
        return (await planCmd()).plan(customer, options);
      }),
    );
  common(program.command('onboard <customer>').description("the customer's exposure: host check, tunnel, DNS, cloudflared (plan unless --apply)"))
    .option('--apply', 'make the changes')
    .option('--lock-wait <duration>', 'wait this long (e.g. 5m) while the controller or another command changes the customer (default: stop at once, naming it)')
    .option('--revision-mismatch-ok', "act on this checkout even when it is not the revision the controller runs")
    .option('--markdown', 'a pull request comment')
    .action(run(async (customer: string, options) => (await reconcileCmd()).onboard(customer, options)));
  common(program.command('apply <customer>').description('reconcile every resource of one customer (plan unless --apply)'))
    .option('--apply', 'make the changes')
    .option('--lock-wait <duration>', 'wait this long (e.g. 5m) while the controller or another command changes the customer (default: stop at once, naming it)')
    .option('--revision-mismatch-ok', "act on this checkout even when it is not the revision the controller runs")
    .option('--only <kinds>', 'limit to these resource kinds (comma-separated)')
    .option('--markdown', 'a pull request comment')
    .action(run(async (customer: string, options) => (await reconcileCmd()).apply(customer, options)));

  const secret = program.command('secret').description('secrets in the operator vault: values never on a command line, never printed');
  common(secret.command('push <name>').description('store a secret read from a hidden prompt or stdin (never an argument)'))
    .requiredOption('--service <service>', 'the service whose slot declares it (cloudflare for the operator token)')
    .requiredOption('--customer <customer>', 'the customer (operator for the Cloudflare token)')
    .action(run(async (name: string, options) => (await secretCmd()).secretPush(name, options)));
  common(secret.command('list').description('every declared secret: owner and presence, never a value'))
    .option('--customer <customer>', 'one customer')
    .action(run(async (options) => (await secretCmd()).secretList(options)));

  common(secret.command('rotate <name>').description('a new value (generated, or from a hidden prompt or stdin) rolled out to every service using it; its rotate hook changes it in the database first (plan unless --apply)'))
    .option('--customer <customer>', 'the customer (default: the one customer whose secret it is)')
    .option('--apply', 'rotate and roll out')
    .option('--lock-wait <duration>', 'wait this long (e.g. 5m) while the controller or another command changes the customer (default: stop at once, naming it)')
    .option('--revision-mismatch-ok', "act on this checkout even when it is not the revision the controller runs")
    .action(run(async (name: string, options) => (await secretRotateCmd()).secretRotate(name, options)));

  const vault = program.command('vault').description('the operator vault (bw serve), and the customer vaults (--customer)');
  vault
    .command('login')
    .description('unlock once; keep the session in the OS keychain (8 h); password from a hidden prompt or stdin')
    .option('--config <file>', 'axe config (default: $AXE_CONFIG or ~/.axe/config.yaml)')
    .option('--customer <customer>', "unlock that customer vault's bw serve instead (config customer_vaults): the owner session the vault-org kind acts with")
    .option('--json', 'machine-readable output')
    .action(run(async (options) => (await vaultCmd()).vaultLoginCommand(options)));

  common(program.command('deploy <what> <customer>').description('deploy one service (frame|blueprint|hive|…) for a customer, or "customer" for everything (plan unless --apply)'))
    .option('--apply', 'make the changes')
    .option('--lock-wait <duration>', 'wait this long (e.g. 5m) while the controller or another command changes the customer (default: stop at once, naming it)')
    .option('--revision-mismatch-ok', "act on this checkout even when it is not the revision the controller runs")
    .option('--markdown', 'a pull request comment')
    .option('--from-pack <pack>', 'with "deploy customer": ingest the IT\'s axelabs-bootstrap pack first')
    .action(
      run(async (what: string, customer: string, options: DeployCliOptions) => {
        if (what === 'customer') return (await deployCmd()).deployCustomer(customer, options);
        if (options.fromPack) throw terminal('--from-pack goes with axe deploy customer', { fix: `axe deploy customer ${customer} --from-pack ${options.fromPack}` });
        return (await deployCmd()).deployService(what, customer, options);
      }),
    );
  common(vault.command('bootstrap <customer>').description("the customer vault's SSO keys and DOMAIN path, patched in place and recreated once (plan unless --apply)"))
    .option('--apply', 'make the changes')
    .option('--lock-wait <duration>', 'wait this long (e.g. 5m) while the controller or another command changes the customer (default: stop at once, naming it)')
    .option('--revision-mismatch-ok', "act on this checkout even when it is not the revision the controller runs")
    .action(run(async (customer: string, options: DeployCliOptions) => (await deployCmd()).vaultBootstrap(customer, options)));
  const backup = program.command('backup').description("the customer's backups on its host (restic): a snapshot now, a restore drill");
  common(backup.command('now <customer>').description('take a snapshot now and wait for it'))
    .option('--lock-wait <duration>', 'wait this long (e.g. 5m) while the controller or another command changes the customer (default: stop at once, naming it)')
    .action(run(async (customer: string, options) => (await backupCmd()).backupNow(customer, options)));
  common(backup.command('verify <customer>').description('restore drill on the host: restic check, restore into scratch, the dumps load into a throwaway container; exit 1 when it fails'))
    .option('--snapshot <id>', 'the snapshot to restore (default: the newest)')
    .option('--lock-wait <duration>', 'wait this long (e.g. 5m) while the controller or another command changes the customer (default: stop at once, naming it)')
    .action(run(async (customer: string, options) => (await backupCmd()).backupVerify(customer, options)));
  common(program.command('health <customer>').description("the customer's public endpoints through its tunnel; exit 0 when all answer 200")).action(
    run(async (customer: string, options: DeployCliOptions) => (await deployCmd()).health(customer, options)),
  );

  common(program.command('handoff <customer>').description("the runbook's message to the customer's IT (URLs, vault SSO link and identifier, versions, onboarding links), only when every resource is Healthy; refused with the reason otherwise"))
    .option('--lang <lang>', 'ko (default) or en')
    .action(run(async (customer: string, options) => (await handoffCmd()).handoffCommand(customer, options)));

  program
    .command('controller')
    .description('run the GitOps controller: pull the config repo, reconcile every customer, serve /metrics /status /healthz /readyz and the signed webhook /hooks/git')
    .option('--config <file>', 'axe config (default: $AXE_CONFIG or ~/.axe/config.yaml)')
    .option('--watch <dir>', 'dev mode: watch this local checkout instead of fetching the repo')
    .option('--once', 'reconcile every customer once and exit (exit 1 when a resource failed)')
    .option('--listen <host:port>', 'override the config\'s listen address')
    .action(run(async (options: ControllerCliOptions) => (await controllerCmd()).controllerCommand(options)));

  program
    .command('status [customer]')
    .description("the controller's view: every resource's sync, health, reason, trap and fix (exit 1 when something is degraded or failing)")
    .option('--config <file>', 'axe config (default: $AXE_CONFIG or ~/.axe/config.yaml)')
    .option('--url <url>', 'ask a running controller (e.g. http://127.0.0.1:9464) instead of reading its history database')
    .option('--json', 'machine-readable output')
    .action(run(async (customer: string | undefined, options) => (await statusCmd()).status(customer, options)));

  // Runtime controls: asked of the running controller (its authenticated API), recorded in its history.
  const control = (name: string, description: string) =>
    program.command(name).description(description).option('--config <file>', 'axe config (default: $AXE_CONFIG or ~/.axe/config.yaml)').option('--json', 'machine-readable output');
  control('reconcile <customer>', 'ask the running controller to reconcile the customer now').action(run(async (customer: string, options) => (await controlCmd()).reconcileNow(customer, options)));
  control('suspend <customer>', 'ask the running controller to leave the customer (or one kind) alone until resumed: no reconcile, no drift scan; survives a restart')
    .requiredOption('--reason <text>', 'why (recorded in the history, shown by axe status)')
    .option('--kind <kind>', 'only this resource kind (e.g. stack, dns)')
    .action(run(async (customer: string, options) => (await controlCmd()).suspend(customer, options)));
  control('resume <customer>', 'lift the suspension of the customer (or of one kind) and reconcile it now')
    .option('--kind <kind>', 'only this resource kind')
    .action(run(async (customer: string, options) => (await controlCmd()).resume(customer, options)));

  program
    .command('history [customer]')
    .description('what the controller did: revisions, actions, drift, errors, alerts and ship log lines, oldest first')
    .option('--config <file>', 'axe config (default: $AXE_CONFIG or ~/.axe/config.yaml)')
    .option('--limit <n>', 'how many events (default 50)')
    .option('--type <type>', 'only this event type (repeatable): revision, rejected, action, drift, drift-closed, error, ship, interrupted, removed, alert, control, rollout', collect)
    .option('--json', 'machine-readable output')
    .action(run(async (customer: string | undefined, options) => (await historyCmd()).history(customer, options)));

  const rollout = program.command('rollout').description("staged releases: each service's current release, its waves and every customer's progress; pause, resume or abort one");
  rollout
    .command('status [service]')
    .description('the current release of each service (or one): state, waves, who started, is healthy since, failed at which step and why (exit 1 when one is halted)')
    .option('--config <file>', 'axe config (default: $AXE_CONFIG or ~/.axe/config.yaml)')
    .option('--json', 'machine-readable output')
    .action(run(async (service: string | undefined, options) => (await rolloutCmd()).rolloutStatus(service, options)));
  for (const [verb, what] of [
    ['pause', 'nobody new starts the release until resume (customers that started go on)'],
    ['resume', 'a paused release goes on'],
    ['abort', 'nobody new starts the release, for good (a new ref starts a new rollout)'],
  ] as const) {
    rollout
      .command(`${verb} <service>`)
      .description(`${what}; recorded in the history`)
      .option('--config <file>', 'axe config (default: $AXE_CONFIG or ~/.axe/config.yaml)')
      .action(run(async (service: string, options) => (await rolloutCmd()).rolloutControl(verb, service, options)));
  }

  program
    .command('mcp')
    .description("serve the Model Context Protocol over stdio for the operators' assistant: status, plan, history, validate, traps (read-only) and ingest onto a branch (never a push)")
    .option('--config <file>', 'axe config (default: $AXE_CONFIG or ~/.axe/config.yaml)')
    .option('--repo <dir>', 'config repo checkout (default: $AXE_REPO, the config\'s repo.checkout, or the current directory)')
    .option('--url <url>', "a running controller's base URL for status (default: its history database)")
    .action(run(async (options) => (await mcpCmd()).mcpCommand(options)));

  const lab = program.command('lab').description('the local stand-ins for Cloudflare, Tailscale, the vault and the Mac minis (root)');
  lab.command('up').description('bring every lab part up (idempotent)').option('--json', 'machine-readable output').action(run(async (o) => (await labCmd()).labUpCommand(o)));
  lab.command('status').description('is every part ready').option('--json', 'machine-readable output').action(run(async (o) => (await labCmd()).labStatusCommand(o)));
  lab.command('down').description('remove everything the lab made, and nothing else').option('--json', 'machine-readable output').action(run(async (o) => (await labCmd()).labDownCommand(o)));
  lab.command('reset').description('down, then up: a fresh lab').option('--json', 'machine-readable output').action(run(async (o) => (await labCmd()).labResetCommand(o)));

  program.command('demo').description('the main job on the lab: lab up, validate, onboard the demo customer from its pack').action(run(async () => (await demoCmd()).demo()));
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
