/**
 * The one container listing of a teardown's host read: the stack and the
 * cloudflared deletions both read every container (all states), so the
 * teardown's batch lists them once, in its own section, and each kind's
 * `observe` gets that section's output after its own (teardown.ts). The
 * kinds read the listing as the same fact (`containers`), never run it.
 */
import { findTool, hasTool } from '../providers/host/commands/tools.js';
import { containersFact } from '../providers/host/facts/docker.js';
import { factsSection, when } from '../providers/host/facts/fact.js';
import type { HostSection } from '../providers/host/sections.js';

export const PRUNE_CONTAINERS_SECTION = 'prune-containers';

/** Every container on the host, all states (`docker ps -a`, JSON); [] when docker is not there. */
export const pruneContainersFact = () => when(hasTool('docker'), containersFact('containers'));

/** The shared section: the one `docker ps` of the teardown's round trip. */
export function pruneContainersSection(toolPaths: readonly string[]): HostSection {
  return factsSection(PRUNE_CONTAINERS_SECTION, { containers: pruneContainersFact() }, findTool('D', 'docker', toolPaths));
}
