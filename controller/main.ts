/**
 * A standalone entry for the controller's commands (`controller`, `status`,
 * `history`, and `plan --base --head`), for running them before they are
 * registered in cli/main.ts, and for tests that start them as processes.
 */
import { Command } from 'commander';
import { errorLine } from '../core/errors.js';
import { planRevisionsCommand, registerControllerCommands } from '../cli/commands/controller.js';

const program = new Command('axe');
registerControllerCommands(program);
program
  .command('plan [customer]')
  .description('the pull request plan: only the customers whose desired state differs between --base and --head')
  .requiredOption('--base <rev>', 'the revision the pull request starts from')
  .requiredOption('--head <rev>', 'the pull request head')
  .option('--repo <dir>', 'config repo checkout')
  .option('--config <file>', 'axe config')
  .option('--markdown', 'a pull request comment')
  .option('--json', 'machine-readable output')
  .action(async (customer: string | undefined, options) => {
    try {
      process.exitCode = await planRevisionsCommand(customer, options);
    } catch (error) {
      process.stderr.write(`axe: ${errorLine(error)}\n`);
      process.exitCode = 1;
    }
  });
await program.parseAsync(process.argv);
