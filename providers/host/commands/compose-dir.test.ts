import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { containerInDirPrelude, upInDirScript } from './compose-dir.js';
import { ensureObjectScript } from './docker.js';
import { isSet } from './quote.js';
import { findTool, requireTool } from './tools.js';

const IN_DIR = `'--filter' 'label=com.docker.compose.service=vault' '--filter' 'label=com.docker.compose.project.working_dir='"$dir"`;

describe('a compose service known by its directory (exact)', () => {
  it("the observation's prelude: docker, the file's directory, the service's container of that directory", () => {
    assert.equal(
      containerInDirPrelude('~/vault/docker-compose.yml', 'vault', ['/opt/bin']),
      [findTool('D', 'docker', ['/opt/bin']), `f="$HOME"/'vault/docker-compose.yml'; dir=\${f%/*}; id=""`, `if [ -n "$D" ]; then id=$("$D" 'ps' '-aq' '--no-trunc' ${IN_DIR} 2>/dev/null | head -n 1); fi`].join('\n'),
    );
    assert.equal(isSet('id'), '[ -n "$id" ]');
  });

  it('up: in the directory, under the project the service runs under, else the default one', () => {
    assert.equal(
      upInDirScript({ composeFile: '/srv/v/c.yml', service: 'vault', defaultProject: "acme-vault'", waitSeconds: 120, forceRecreate: true, toolPaths: [] }),
      [
        'set -e',
        requireTool('docker', []),
        `f='/srv/v/c.yml'; dir=\${f%/*}; cd "$dir"`,
        `p=$("$D" 'ps' '-a' ${IN_DIR} '--format' '{{.Label "com.docker.compose.project"}}' | head -n 1)`,
        `if [ -z "$p" ]; then p='acme-vault'\\'''; fi`,
        `"$D" 'compose' '-p' "$p" '-f' "$f" 'up' '-d' '--wait' '--wait-timeout' '120' '--no-deps' '--force-recreate' 'vault'`,
      ].join('\n'),
    );
  });

  it('a network made unless it exists, docker required', () => {
    assert.equal(
      ensureObjectScript('network', 'axe-acme', ['ai.axelabs.axe.customer=acme'], []),
      `set -e\n${requireTool('docker', [])}\n"$D" 'network' 'inspect' 'axe-acme' >/dev/null 2>&1 || "$D" 'network' 'create' '--label' 'ai.axelabs.axe.customer=acme' 'axe-acme' >/dev/null`,
    );
  });
});
