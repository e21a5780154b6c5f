import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { backupScriptCommand, observeBackupScript, renderConf } from './backup.js';

describe('the backup on the host (exact)', () => {
  it('backup.conf quotes every value and carries no secret', () => {
    const conf = renderConf({ customer: 'demo', items: [{ kind: 'dump', service: 's', project: "p'x", container: 'db', file: 'f.sql', command: ['pg_dump', '$(rm -rf /)'], load: ['psql'] }], toolPaths: ['~/bin'], offsite: null, intervalMinutes: 60, verifyEveryDays: 30 });
    assert.match(conf, /dump 'p'\\''x' 'db' 'f\.sql' 'pg_dump' '\$\(rm -rf \/\)'/);
    assert.match(conf, /load 'p'\\''x' 'db' 'f\.sql' 'psql'/);
    assert.match(conf, /TOOL_DIRS="\$HOME\/bin /);
    assert.match(conf, /INTERVAL_SECONDS=3600/);
  });

  it("a pushed script runs with the backup directory and its arguments, each quoted", () => {
    assert.equal(backupScriptCommand('backup.sh', ['pre-release']), `/bin/sh -c 'exec /bin/sh "$HOME"/'\\''.axe/backup'\\''/bin/backup.sh "$HOME"/'\\''.axe/backup'\\'' '\\''pre-release'\\'''`);
    assert.equal(backupScriptCommand('verify.sh', ['latest', "o'p"]), `/bin/sh -c 'exec /bin/sh "$HOME"/'\\''.axe/backup'\\''/bin/verify.sh "$HOME"/'\\''.axe/backup'\\'' '\\''latest'\\'' '\\''o'\\''\\'\\'''\\''p'\\'''`);
    assert.match(observeBackupScript(['/opt/bin', '~/bin'], 'BODY'), /^DIR="\$HOME\/\.axe\/backup"\nTOOL_DIRS="\/opt\/bin \$HOME\/bin [^"]*"\nBODY$/);
  });
});
