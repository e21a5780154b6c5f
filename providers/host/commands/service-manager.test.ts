import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { managerFact } from '../facts/host.js';
import { withArgv } from '../scripts.js';
import { chooseManager, HAS_LAUNCHCTL, managerIs, removeContainerScript, removeLaunchDaemonScript } from './service-manager.js';
import { requireTool, tool } from './tools.js';

describe('a service manager on the host (exact)', () => {
  it('chooses launchd or a container into $m, builtins only; the facts read it', () => {
    const run = (manager: 'auto' | 'container') => execFileSync('/bin/sh', ['-c', `${chooseManager(manager, [])}\n${managerFact('m').command}`]).toString();
    assert.ok(['container', 'none'].includes(managerFact('m').parse(run('container'), 0, '')), 'container, or none without docker');
    assert.equal(managerFact('m').parse('launchd\n', 0, ''), 'launchd');
    assert.equal(managerFact('m').parse('weird\n', 0, ''), 'none');
    assert.ok(chooseManager('auto', []).startsWith(`m='auto'\nif [ "$m" = auto ]; then if [ -x /bin/launchctl ]; then m=launchd; else m=container; fi; fi\n`));
    assert.equal(managerIs('launchd'), '[ "$m" = launchd ]');
    assert.equal(HAS_LAUNCHCTL, '[ -x /bin/launchctl ]');
  });

  it('removing it: the LaunchDaemon (sudo -n, EXIT.sudoPassword), or the container', () => {
    assert.equal(
      removeLaunchDaemonScript('ai.x', '/Library/LaunchDaemons/ai.x.plist'),
      '/usr/bin/sudo -n /bin/launchctl bootout system/ai.x 2>/dev/null || true\n/usr/bin/sudo -n /bin/rm -f /Library/LaunchDaemons/ai.x.plist || { echo "sudo without a password is needed to remove /Library/LaunchDaemons/ai.x.plist" >&2; exit 13; }',
    );
    assert.equal(removeContainerScript('axe-cloudflared-demo', []), `${requireTool('docker', [])}\n"$D" 'rm' '-f' 'axe-cloudflared-demo' >/dev/null`);
  });

  it('a script file with an argv: one set -- line, a ShellWord expanded there', () => {
    assert.ok(withArgv('lib.sh', ['a b', tool('docker'), 'run']).startsWith(`set -- 'a b' "$D" 'run'\n`));
  });
});
