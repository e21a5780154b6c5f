/**
 * Reads a secret the way every axe command does: from a hidden prompt on a
 * terminal, else from stdin (one trailing newline dropped) — never from an
 * argument, which would show in `ps` and the shell history.
 */
import password from '@inquirer/password';

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

export async function readSecretInput(message: string): Promise<string> {
  return process.stdin.isTTY ? password({ message, mask: false }) : readStdin();
}
