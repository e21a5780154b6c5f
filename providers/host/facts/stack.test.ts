import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { composeHashesFact } from './compose-hash.js';
import { volumesFact } from './docker.js';
import { frame, readFacts } from './fact.js';
import { checkoutFact, envFileFact, stackContainerNetworksFact, stackContainersFact, stackPrelude } from './stack.js';
import { bwSessionFact, hookValueFact, stackInsideFact } from './stack-values.js';

const G = `"$G" '-c' 'advice.detachedHead=false' '-C' "$dir"`;
const bg = { project: 'p', checkout: '~/s', blue: 'b', green: 'g', proxy: 'px', showCommand: ['show'] };

describe('stack facts: command lines', () => {
  it('the checkout: HEAD and the dirty count from the prelude, the ref as a tag, a branch of origin or a commit, origin', () => {
    const f = checkoutFact('x.checkout', "v1'x");
    assert.equal(f.guard, '[ -n "$G" ] && [ -d "$dir/.git" ]');
    const want = ['refs/tags/', 'refs/remotes/origin/', ''].map((p) => `${G} 'rev-parse' '-q' '--verify' '${p}v1'\\''x^{commit}' 2>/dev/null`).join(' || ');
    assert.equal(f.command, `printf '%s\\n%s\\n%s\\n' "$h" "$(${want})" "$dy"; ${G} 'config' '--get' 'remote.origin.url' 2>/dev/null`);
    assert.deepEqual(readFacts(frame('c', 'abc\n\n2\nhttps://o\n'), { c: { ...f, name: 'c' } }).c, { head: 'abc', want: null, dirty: 2, origin: 'https://o' });
    assert.equal(readFacts('', { c: f }).c, null, 'no checkout');
  });

  it('the env file: its sum without the hook vars, its keys (names only), its mode and its services\' files\' modes', () => {
    const f = envFileFact('x.env', ['.env.axe.a'], ['TOK', 'K2']);
    assert.equal(f.guard, '[ -f "$f" ]');
    assert.equal(
      f.command,
      [
        `cat "$f" "$dir"/'.env.axe.a' 2>/dev/null | grep -v -E '^(TOK|K2)=' | axe_sum`,
        `awk -F= '/^[A-Za-z_][A-Za-z0-9_]*=/ { printf "%s%s ", $1, (length($0) > length($1) + 1 ? "" : "!") }' "$f"; echo`,
        'echo "$(axe_mode "$f")"',
        `if [ -f "$dir"/'.env.axe.a' ]; then echo "$(axe_mode "$dir"/'.env.axe.a')"; else echo -; fi`,
      ].join('\n'),
    );
    assert.equal(envFileFact('x.env', [], []).command.split('\n')[0], 'cat "$f" 2>/dev/null | axe_sum');
    const read = (out: string) => readFacts(frame('x.env', out), { e: f }).e;
    assert.deepEqual(read('ffff\nA B! \n600\n644'), { mode: '644', sha256: 'ffff', keys: new Map([['A', true], ['B', false]]) });
    assert.equal(read('ffff\n\n600\n-')?.mode, '600', 'an absent service file is not a mode');
    assert.equal(read('ffff\n\n640\n600')?.mode, '640', 'the env file\'s own mode first');
  });

  it('containers: the prelude lists the project once; one inspect gives every container\'s network ids (JSON)', () => {
    assert.match(stackPrelude({ checkout: '~/s', ref: 'v1', envFile: '.env', ownEnvFiles: [], project: 'p', composeFiles: [], blueGreen: null }), /^PSO_P='p'; PSO=\$\("\$D" ps -a --no-trunc --filter label=com\.docker\.compose\.project='p' --format '\{\{\.ID\}\}\|/m);
    assert.equal(stackContainerNetworksFact('n').command, `"$D" inspect --format '{"id":{{json .Id}},"networks":{{json .NetworkSettings.Networks}}}' $(printf '%s\\n' "$PSO" | cut -d'|' -f1) 2>/dev/null`);
    // An engine fact: the CLI listing only when the batch runs without the engine.
    assert.equal(volumesFact('v').command, `if [ -z "\${axe_engine:-}" ]; then\n"$D" volume ls --format '{{json .}}' 2>/dev/null\nfi`);
    const rows = readFacts(frame('c', 'i1|web|running|Up 2 minutes (healthy)|h|v1|e\n\n'), { c: stackContainersFact('c') }).c;
    assert.deepEqual(rows, [{ id: 'i1', service: 'web', state: 'running', health: 'healthy', configHash: 'h', ref: 'v1', envHash: 'e' }]);
    const nets = readFacts(frame('n', '{"id":"i1","networks":{"a":{"NetworkID":"n1"},"b":{"NetworkID":"n2"}}}\nnot json'), { n: stackContainerNetworksFact('n') }).n;
    assert.deepEqual([...nets], [['i1', ['n1', 'n2']]]);
  });

  it('compose hashes: the key of the inputs first, then the memo\'s lines when it is the same, else config | config --hash (a color without its depends_on)', () => {
    const plain = composeHashesFact('h', { project: 'p', composeFiles: ['dc.yml'], envFile: '.env', ownEnvFiles: ['.env.axe.a'], blueGreen: false });
    assert.equal(plain.background, true);
    assert.equal(plain.guard, '[ -n "$D" ] && [ -f "$f" ] && [ -n "$G" ] && [ -d "$dir/.git" ] && cd "$dir"');
    const key = (color: string, files: string) =>
      `hk=$( { printf '%s\\n' "$CST" "$h" "$dy" "${color}"; if [ "$dy" != 0 ]; then ${G} 'diff' 'HEAD' 2>/dev/null; fi; cat ${files} \${O:+"$O"} 2>/dev/null; } | axe_sum)`;
    const config = (o: string) => `"$D" 'compose' '-p' 'p' '-f' 'dc.yml'${o} '--env-file' '.env' 'config' 2>/dev/null`;
    const hash = `"$D" 'compose' '-p' 'p' '-f' '-' 'config' '--hash' '*' 2>/dev/null`;
    assert.equal(
      plain.command,
      [key('', `'dc.yml' "$f" '.env.axe.a'`), 'echo "hashkey=$hk"', `{ if [ -n "$O" ]; then ${config(` '-f' "$O"`)}; else ${config('')}; fi; } | ${hash} | while read -r a b; do echo "hash=$a $b"; done`].join('\n'),
    );
    const colored = composeHashesFact('h', { project: 'p', composeFiles: ['dc.yml'], envFile: '.env', ownEnvFiles: [], blueGreen: true, memo: { key: 'k1', lines: ['hash=a 1', "colorhash=it's 2"] } });
    const lines = colored.command.split('\n');
    assert.equal(lines[0], key('$cs', `'dc.yml' "$f"`));
    assert.match(lines[2]!, /^if \[ "\$hk" = 'k1' \]; then printf '%s\\n' 'hash=a 1' 'colorhash=it'\\''s 2'; else \{ if .* \| awk -v s="\$cs" '\/\^\[\^ \]\/ \{ insvc = 0 \}$/);
    assert.match(colored.command, /\| while read -r a b; do echo "hash=\$a \$b"; if \[ -n "\$cs" \] && \[ "\$a" = "\$cs" \]; then echo "colorhash=\$a \$b"; fi; done; fi$/);
    const got = readFacts(frame('h', 'hashkey=k2\nhash=a 1\nhash=b 2\ncolorhash=b 3'), { h: colored }).h;
    assert.deepEqual(got, { key: 'k2', lines: ['hash=a 1', 'hash=b 2', 'colorhash=b 3'], hashes: [['a', '1'], ['b', '2']], color: ['b', '3'] });
  });

  it('inside, hook values and the bw session: only ok/fail, two sums, a status word come back', () => {
    const inside = stackInsideFact('i', 'p', '@active', bg, 8080, '/h');
    const exec = (tool: string) => `"$D" 'exec' "$ic" ${tool} 'http://127.0.0.1:8080/h' >/dev/null 2>&1`;
    assert.equal(
      inside.command,
      [`case "$A" in blue) ic=$(cid 'p' 'b');; green) ic=$(cid 'p' 'g');; *) ic="";; esac`, `if [ -n "$ic" ]; then if ${exec(`'wget' '-q' '-O' '/dev/null'`)} || ${exec(`'curl' '-fsS' '-o' '/dev/null'`)}; then echo ok; else echo fail; fi; fi`].join('\n'),
    );
    assert.equal(stackInsideFact('i', 'p', 'web', null, 1, '/').command.split('\n')[0], `ic=$(cid 'p' 'web')`);
    const hook = hookValueFact('k', 'TOK', { project: 'p', container: 'app', blueGreen: null, command: ['tok', 'en'] });
    assert.ok(hook.command.includes(`if [ -n "$c" ]; then w=$("$D" 'exec' "$c" 'tok' 'en' 2>/dev/null) || w=""; else w=""; fi`), hook.command);
    assert.ok(hook.command.includes(`v=$(sed -n 's/^TOK=//p' "$f" 2>/dev/null | head -n 1)`), hook.command);
    assert.deepEqual(readFacts(frame('k', 'aaa bbb\n'), { k: hook }).k, { file: 'aaa', now: 'bbb' });
    assert.equal(readFacts(frame('k', ''), { k: hook }).k, null);
    const bw = bwSessionFact('b', '~/.bw', []);
    assert.deepEqual(readFacts(frame('b', 'present 600\nlocked'), { b: bw }).b, { present: true, mode: '600', status: 'locked' });
    assert.deepEqual(readFacts(frame('b', 'missing'), { b: bw }).b, { present: false, mode: '', status: '' });
  });
});
