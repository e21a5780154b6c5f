/**
 * The lab's base image, `axelab-base:1`: FROM scratch + static busybox (shell,
 * wget, nc …) + this machine's own `node` binary and the few shared libraries
 * it links, so stand-in services can be small plain-JS programs with real HTTP.
 * No registry is needed: everything is copied from the machine.
 *
 * Rules: built only when missing (or when `force`); labelled with LAB_LABEL so
 * `axe lab down` removes it.
 */
import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { LAB_LABEL } from '../component.js';

const run = promisify(execFile);

export const BASE_IMAGE = 'axelab-base:1';

/** True when the image exists in the local engine. */
export async function imageExists(image: string): Promise<boolean> {
  try {
    await run('docker', ['image', 'inspect', '--format', '{{.Id}}', image]);
    return true;
  } catch {
    return false;
  }
}

/** Shared libraries a dynamically linked binary needs, as absolute paths (from ldd). */
async function sharedLibraries(binary: string): Promise<string[]> {
  const { stdout } = await run('ldd', [binary]);
  const libs: string[] = [];
  for (const line of stdout.split('\n')) {
    const arrow = line.match(/=>\s+(\/\S+)/);
    const bare = line.match(/^\s*(\/\S+)\s+\(/);
    const path = arrow?.[1] ?? bare?.[1];
    if (path) libs.push(path);
  }
  return libs;
}

/** Builds axelab-base:1 unless it exists. Returns the image name. */
export async function ensureBaseImage(options: { force?: boolean; log?: (m: string) => void } = {}): Promise<string> {
  if (!options.force && (await imageExists(BASE_IMAGE))) return BASE_IMAGE;
  options.log?.(`building ${BASE_IMAGE} (scratch + busybox + node)`);
  const ctx = await mkdtemp(join(tmpdir(), 'axelab-base-'));
  try {
    const rootfs = join(ctx, 'rootfs');
    const busybox = '/bin/busybox';
    const node = await realpath(process.execPath);
    const files = [busybox, node, ...(await sharedLibraries(node))];
    for (const file of files) {
      const target = join(rootfs, file === node ? '/usr/bin/node' : file);
      await mkdir(dirname(target), { recursive: true });
      await copyFile(await realpath(file), target);
    }
    await mkdir(join(rootfs, 'tmp'), { recursive: true });
    await mkdir(join(rootfs, 'etc'), { recursive: true });
    await writeFile(join(rootfs, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n');
    await writeFile(join(rootfs, 'etc/group'), 'root:x:0:\nnogroup:x:65534:\n');
    const resolvConf = await readFile('/etc/nsswitch.conf', 'utf8').catch(() => 'hosts: files dns\n');
    await writeFile(join(rootfs, 'etc/nsswitch.conf'), resolvConf);
    await writeFile(
      join(ctx, 'Dockerfile'),
      [
        'FROM scratch',
        'COPY rootfs/ /',
        'RUN ["/bin/busybox", "--install", "-s", "/bin"]',
        'ENV PATH=/usr/local/bin:/usr/bin:/bin',
        `LABEL ${LAB_LABEL}=1`,
        'CMD ["/bin/sh"]',
        '',
      ].join('\n'),
    );
    await run('docker', ['build', '-q', '-t', BASE_IMAGE, ctx], { maxBuffer: 16 * 1024 * 1024 });
    return BASE_IMAGE;
  } finally {
    await rm(ctx, { recursive: true, force: true });
  }
}
