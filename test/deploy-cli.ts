/**
 * The `axe` CLI with the deploy commands registered, for the deploy tests
 * until cli/main.ts registers them itself (same commands, same exit codes).
 */
import { Command } from 'commander';
import { registerDeployCommands } from '../cli/commands/deploy.js';

const program = new Command('axe').exitOverride();
registerDeployCommands(program);
try {
  await program.parseAsync(process.argv);
} catch (error) {
  process.stderr.write(`axe: ${(error as Error).message}\n`);
  process.exitCode = 1;
}
