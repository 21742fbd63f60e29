import { readFileSync } from 'node:fs';

/** An error in the user's input (a file, a flag): shown as one clear line, never a stack trace. */
export class UserError extends Error {
  override name = 'UserError';
}

/** Reads a file the user named; a missing or unreadable one is a UserError. */
export function readUserFile(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new UserError(`no such file: ${path}`);
    if (code === 'EISDIR') throw new UserError(`${path} is a directory, not a file`);
    throw new UserError(`cannot read ${path}: ${(e as Error).message}`);
  }
}
