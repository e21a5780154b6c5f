/**
 * A standalone entry for the controller's commands (`controller`, `status`,
 * `history`), for running them before they are registered in cli/main.ts, and
 * for tests that start the controller as a process of its own.
 */
import { Command } from 'commander';
import { registerControllerCommands } from '../cli/commands/controller.js';

const program = new Command('axe');
registerControllerCommands(program);
await program.parseAsync(process.argv);
