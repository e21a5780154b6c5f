import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compose } from './compose.js';
import { docker } from './docker.js';
import { fs } from './fs.js';
import { git, gitClone } from './git.js';
import { hostPath, line, path, shellQuote, variable } from './quote.js';
import { findTool, requireTool } from './tools.js';

describe('host command lines (exact)', () => {
  it('quotes every word once, in one place', () => {
    assert.equal(shellQuote("it's"), `'it'\\''s'`);
    assert.equal(hostPath('~/a b'), `"$HOME"/'a b'`);
    assert.equal(hostPath('/srv/x'), `'/srv/x'`);
    assert.equal(line(['echo', "a'b", variable('D'), path('~/x')]), `'echo' 'a'\\''b' "$D" "$HOME"/'x'`);
    assert.throws(() => variable('D; rm'), /not a shell variable name/);
  });

  it('compose: project, files and env file, then the subcommand', () => {
    const c = compose('demo-frame', ['compose.yml', '.axe-compose.yml'], '.env.axe');
    const head = `"$D" 'compose' '-p' 'demo-frame' '-f' 'compose.yml' '-f' '.axe-compose.yml' '--env-file' '.env.axe'`;
    assert.equal(line(c.up({ waitSeconds: 120, services: ['frame-mcp-blue'], noDeps: true })), `${head} 'up' '-d' '--wait' '--wait-timeout' '120' '--no-deps' 'frame-mcp-blue'`);
    assert.equal(line(c.up({ waitSeconds: null, forceRecreate: true })), `${head} 'up' '-d' '--force-recreate'`);
    assert.equal(line(compose('p', ['c.yml']).configJson()), `"$D" 'compose' '-p' 'p' '-f' 'c.yml' 'config' '--format' 'json' '--no-interpolate'`);
    assert.equal(line(compose('p', ['c.yml']).configHash()), `"$D" 'compose' '-p' 'p' '-f' 'c.yml' 'config' '--hash' '*'`);
    assert.equal(line(compose('p', ['c.yml']).stop(['a', 'b'])), `"$D" 'compose' '-p' 'p' '-f' 'c.yml' 'stop' 'a' 'b'`);
    assert.equal(line(compose('p', ['c.yml']).down(true)), `"$D" 'compose' '-p' 'p' '-f' 'c.yml' 'down' '--remove-orphans' '-v'`);
  });

  it('git: the mirror rewrites, then the checkout it works in', () => {
    const g = git(path('~/stacks/frame'), { 'https://git.axelabs.ai/': 'file:///srv/git/' });
    assert.equal(line(g.headCommit()), `"$G" '-c' 'url.file:///srv/git/.insteadOf=https://git.axelabs.ai/' '-c' 'advice.detachedHead=false' '-C' "$HOME"/'stacks/frame' 'rev-parse' 'HEAD'`);
    assert.equal(line(git('/srv/x').status()), `"$G" '-c' 'advice.detachedHead=false' '-C' '/srv/x' 'status' '--porcelain' '--untracked-files=no'`);
    assert.equal(line(git('/srv/x').verifyCommit('refs/tags/v1')), `"$G" '-c' 'advice.detachedHead=false' '-C' '/srv/x' 'rev-parse' '-q' '--verify' 'refs/tags/v1^{commit}'`);
    assert.equal(line(git('/srv/x').checkoutDetached(variable('c'))), `"$G" '-c' 'advice.detachedHead=false' '-C' '/srv/x' 'checkout' '-q' '--force' '--detach' "$c"`);
    assert.equal(line(gitClone('https://h/r.git', '/srv/x')), `"$G" 'clone' '-q' '--no-checkout' 'https://h/r.git' '/srv/x'`);
  });

  it('docker: objects, containers, labels', () => {
    assert.equal(line(docker.createObject('network', 'axe-demo', ['ai.axelabs.axe.customer=demo'])), `"$D" 'network' 'create' '--label' 'ai.axelabs.axe.customer=demo' 'axe-demo'`);
    assert.equal(line(docker.inspectObject('volume', 'v')), `"$D" 'volume' 'inspect' 'v'`);
    assert.equal(line(docker.inspectJson('c')), `"$D" 'inspect' 'c'`);
    assert.equal(line(docker.removeForce('a', 'b')), `"$D" 'rm' '-f' 'a' 'b'`);
    assert.equal(line(docker.exec(variable('c'), ['wget', '-q', '-O', '/dev/null', 'http://127.0.0.1:8080/health'])), `"$D" 'exec' "$c" 'wget' '-q' '-O' '/dev/null' 'http://127.0.0.1:8080/health'`);
    assert.equal(line(docker.psByLabels(['com.docker.compose.project=p'], true)), `"$D" 'ps' '-a' '-q' '--no-trunc' '--filter' 'label=com.docker.compose.project=p'`);
  });

  it('fs: file facts and modes through lib.sh', () => {
    assert.equal(line(fs.fileFacts(path('~/.axe/cloudflared'), ['config.yml'])), `axe_file_facts "$HOME"/'.axe/cloudflared' '' 'config.yml'`);
    assert.equal(line(fs.mode('/x')), `axe_mode '/x'`);
  });

  it('tools by absolute path, builtins only', () => {
    assert.equal(findTool('D', 'docker', ['/opt/x y']), `D=""; for d in '/opt/x y' '/opt/homebrew/bin' '/usr/local/bin' "$HOME"/'.docker/bin' '/Applications/Docker.app/Contents/Resources/bin' ` +
      `'/usr/bin' '/bin' "$HOME"/'homebrew/bin'; do if [ -x "$d/docker" ]; then D="$d/docker"; break; fi; done`);
    assert.match(requireTool('git', []), /\nif \[ -z "\$G" \]; then echo "git not found by absolute path on the host" >&2; exit 3; fi$/);
  });
});
