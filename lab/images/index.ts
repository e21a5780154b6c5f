/**
 * The lab's stand-in images that come from no service repo: `axelab-vaultwarden:1` and
 * `axelab-cloudflared:1` (and the base they build on). frame, blueprint and hive images
 * are built by `docker compose` from their repos (lab/services).
 *
 * Rules:
 * - An image is built when it is missing, when `force` is set, or when its
 *   `ai.axelabs.lab.source` label differs from the hash of its build context (so a
 *   changed stand-in is never served stale).
 * - Every image carries LAB_LABEL; `imagesPart.down` removes every image with that
 *   label (service images included) and nothing else.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cp, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { LAB_LABEL, type LabContext, type LabPart, type LabPartStatus } from '../component.js';
import { BASE_IMAGE, ensureBaseImage, imageExists } from './base.js';
import { VAULTWARDEN_IMAGE } from './vaultwarden-compose.js';

const run = promisify(execFile);

export { VAULTWARDEN_IMAGE };
export const CLOUDFLARED_IMAGE = 'axelab-cloudflared:1';
const SOURCE_LABEL = `${LAB_LABEL}.source`;

export interface EnsureImagesOptions {
  force?: boolean;
  log?: (message: string) => void;
}

interface StandIn {
  image: string;
  /** Folder name beside this file. */
  folder: string;
  /** Extra npm packages copied into the context's node_modules/. */
  packages: string[];
}

const STAND_INS: StandIn[] = [
  { image: VAULTWARDEN_IMAGE, folder: 'vaultwarden', packages: [] },
  { image: CLOUDFLARED_IMAGE, folder: 'cloudflared', packages: ['yaml'] },
];

/** The folder holding vaultwarden/, cloudflared/ and probe.sh (the repo's lab/images, also when run from dist/). */
function standInRoot(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  return here.includes(`${join('dist', 'lab')}`) ? resolve(here, '../../../lab/images') : here;
}

function packageDir(name: string): string {
  const require = createRequire(import.meta.url);
  return dirname(require.resolve(`${name}/package.json`));
}

/** Hash of every file in a directory tree, by relative path and content. */
async function hashTree(root: string, hash = createHash('sha256'), prefix = ''): Promise<ReturnType<typeof createHash>> {
  const entries = (await readdir(root, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name));
  for (const entry of entries) {
    const path = join(root, entry.name);
    const rel = `${prefix}${entry.name}`;
    if (entry.isDirectory()) {
      await hashTree(path, hash, `${rel}/`);
      continue;
    }
    if (!entry.isFile()) continue;
    hash.update(rel).update('\0').update(await readFile(path)).update('\0');
  }
  return hash;
}

async function imageLabel(image: string, label: string): Promise<string | null> {
  try {
    const { stdout } = await run('docker', ['image', 'inspect', '--format', `{{ index .Config.Labels "${label}" }}`, image]);
    return stdout.trim() || null;
  } catch {
    return null;
  }
}

async function buildStandIn(standIn: StandIn, options: EnsureImagesOptions): Promise<boolean> {
  const context = await mkdtemp(join(tmpdir(), `axelab-${standIn.folder}-`));
  try {
    await cp(join(standInRoot(), standIn.folder), context, { recursive: true });
    // Every stand-in's HEALTHCHECK runs through the shared probe wrapper (probe.sh: backs off once healthy).
    await cp(join(standInRoot(), 'probe.sh'), join(context, 'probe.sh'));
    for (const name of standIn.packages) {
      await cp(packageDir(name), join(context, 'node_modules', name), { recursive: true });
    }
    const source = (await hashTree(context)).digest('hex').slice(0, 16);
    if (!options.force && (await imageLabel(standIn.image, SOURCE_LABEL)) === source) return false;
    options.log?.(`building ${standIn.image}`);
    await run('docker', ['build', '-q', '--label', `${SOURCE_LABEL}=${source}`, '-t', standIn.image, context], {
      maxBuffer: 16 * 1024 * 1024,
    });
    return true;
  } finally {
    await rm(context, { recursive: true, force: true });
  }
}

/**
 * Builds the base, vaultwarden and cloudflared stand-in images when missing or stale.
 * Returns the names of the images that are now present.
 */
export async function ensureStandInImages(options: EnsureImagesOptions = {}): Promise<string[]> {
  const baseBuilt = !(await imageExists(BASE_IMAGE)) || options.force === true;
  await ensureBaseImage(options);
  // A rebuilt base invalidates the images built on it.
  const next: EnsureImagesOptions = baseBuilt ? { ...options, force: true } : options;
  for (const standIn of STAND_INS) await buildStandIn(standIn, next);
  return [BASE_IMAGE, ...STAND_INS.map((s) => s.image)];
}

/** Every image (as repo:tag, or id when untagged) carrying LAB_LABEL. */
export async function labImages(): Promise<string[]> {
  const { stdout } = await run('docker', ['image', 'ls', '--filter', `label=${LAB_LABEL}=1`, '--format', '{{.Repository}}:{{.Tag}} {{.ID}}']);
  return stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [name = '', id = ''] = line.split(' ');
      return name.includes('<none>') ? id : name;
    });
}

/** Removes every image labelled LAB_LABEL; throws naming the ones still in use. */
export async function removeLabImages(log?: (message: string) => void): Promise<void> {
  const images = await labImages();
  const stuck: string[] = [];
  // Children first: the base goes last, so its dependants are already gone.
  const ordered = [...images.filter((i) => i !== BASE_IMAGE), ...images.filter((i) => i === BASE_IMAGE)];
  for (const image of ordered) {
    try {
      await run('docker', ['image', 'rm', image]);
      log?.(`removed image ${image}`);
    } catch (error) {
      const stderr = (error as { stderr?: string }).stderr ?? '';
      if (/No such image/i.test(stderr)) continue;
      stuck.push(image);
    }
  }
  if (stuck.length > 0) {
    throw new Error(`lab images still in use by containers: ${stuck.join(', ')}; stop the lab hosts' stacks first (axe lab down removes them in order)`);
  }
}

export const imagesPart: LabPart = {
  name: 'images',
  async up(ctx: LabContext): Promise<void> {
    await ensureStandInImages({ log: ctx.log });
  },
  async down(ctx: LabContext): Promise<void> {
    await removeLabImages(ctx.log);
  },
  async status(): Promise<LabPartStatus> {
    const wanted = [BASE_IMAGE, VAULTWARDEN_IMAGE, CLOUDFLARED_IMAGE];
    const missing: string[] = [];
    for (const image of wanted) if (!(await imageExists(image))) missing.push(image);
    if (missing.length > 0) return { name: 'images', ready: false, detail: `missing ${missing.join(', ')}; run axe lab up` };
    return { name: 'images', ready: true, detail: `${wanted.join(', ')} present` };
  },
};
