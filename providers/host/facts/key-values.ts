/**
 * The `key=value` lines of the host sections that are not facts yet (stack,
 * ingress, entities, vaultwarden, prune): first `=` splits, later keys win.
 * A kind migrated to facts reads typed values instead (fact.ts).
 */
export function keyValues(output: string): Map<string, string> {
  const values = new Map<string, string>();
  for (const line of output.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) values.set(line.slice(0, eq), line.slice(eq + 1));
  }
  return values;
}
