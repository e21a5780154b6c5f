/**
 * Run once by test/run.sh before the lab files: the service stand-ins' images
 * untagged so this run builds them from the current sources. Compose builds
 * those from the service repos under a ref tag, and an image left by an older
 * checkout of the stand-ins would be reused as is (lab/services/frame/README.md).
 * An image a container still uses stays.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const exec = promisify(execFile);

/** The service stand-ins' images (frame, hive, blueprint: labelled ai.axelabs.lab.service), every tag. */
const SERVICES = ['frame', 'hive', 'blueprint'];

/** Untags every image of the service stand-ins that no container uses (docker refuses those in use). */
export async function untagServiceImages(): Promise<void> {
  for (const service of SERVICES) {
    const { stdout } = await exec('docker', ['image', 'ls', '--filter', `label=ai.axelabs.lab.service=${service}`, '--format', '{{.Repository}}:{{.Tag}}']);
    for (const image of stdout.split('\n').filter((l) => l && !l.includes('<none>'))) await exec('docker', ['image', 'rm', image]).catch(() => undefined);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await untagServiceImages();
}
