/** Who asks the controller, as its history records it: `user@host` (the CLI's control commands, `axe plan`, the MCP tools). */
import { hostname, userInfo } from 'node:os';

export function requester(): string {
  let user = process.env.USER ?? 'unknown';
  try {
    user = userInfo().username;
  } catch {
    // No passwd entry (a container): the environment's name stands.
  }
  return `${user}@${hostname()}`;
}
