/** A small file's content and mode (base64 over the wire, so any byte survives the batch). */
import { fs } from '../commands/fs.js';
import { line, path as pathWord, type Word } from '../commands/quote.js';
import type { Fact } from './fact.js';

export interface FileContent {
  mode: string;
  text: string;
}

/** The file's text and mode, or null when it is absent. */
export function fileContentFact(name: string, file: Word): Fact<FileContent | null> {
  return {
    name,
    command: line(fs.base64(file)),
    parse: (output) => {
      const [mode = '', b64] = output.split('\n');
      return b64 === undefined ? null : { mode: mode.trim(), text: Buffer.from(b64, 'base64').toString('utf8') };
    },
  };
}

/** Whether a path is a regular file (a builtin test, no process). */
export function existsFact(name: string, file: Word): Fact<boolean> {
  return { name, command: `[ -f ${line([file])} ]`, parse: (_output, code) => code === 0 };
}

/** Which of these paths exist (`~/` is the home), as given. */
export function existingPathsFact(name: string, paths: readonly string[]): Fact<string[]> {
  return {
    name,
    command: paths.map((p, i) => `if [ -e ${line([pathWord(p)])} ]; then echo ${i}; fi`).join('\n') || ':',
    parse: (output) => output.split('\n').flatMap((i) => (paths[Number(i)] !== undefined && i !== '' ? [paths[Number(i)]!] : [])),
  };
}
