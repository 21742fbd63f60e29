// Output files and folders a user names: one clear line for each way a path can be wrong, and
// nothing half-written. A file is written to a temporary name beside it and renamed into place;
// on any failure the temporary file is removed and the old file (if any) is left as it was.
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, readSync, realpathSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { UserError } from './errors.js';

/** A file-system error as a sentence a user can act on. */
export function fsProblem(e: unknown, path: string): string {
  const code = (e as NodeJS.ErrnoException).code;
  switch (code) {
    case 'ENOSPC': return `no space left on the device holding ${path}`;
    case 'EDQUOT': return `the disk quota is exhausted for ${path}`;
    case 'EACCES': case 'EPERM': return `permission denied: cannot write ${path}`;
    case 'EROFS': return `${path} is on a read-only file system`;
    case 'ENOENT': return `the folder ${dirname(path)} does not exist`;
    case 'ENOTDIR': return `a part of ${path} is a file, not a folder`;
    case 'EISDIR': return `${path} is a folder, not a file`;
    case 'ENAMETOOLONG': return `the name ${path} is too long`;
    default: return `cannot write ${path}: ${(e as Error).message}`;
  }
}

/** The real path of p (following links), or its absolute path when it does not exist yet. */
export function realOrResolved(p: string): string {
  try {
    return realpathSync(p);
  } catch {
    const parent = dirname(resolve(p));
    try {
      return join(realpathSync(parent), basename(p));
    } catch {
      return resolve(p);
    }
  }
}

/** True when a and b are the same path or one lies inside the other. */
export function overlaps(a: string, b: string): boolean {
  const ra = realOrResolved(a), rb = realOrResolved(b);
  return ra === rb || ra.startsWith(rb + sep) || rb.startsWith(ra + sep);
}

/** The checkpoint folder (one holding a MANIFEST) that `path` is or lies inside, if any. */
export function enclosingCheckpoint(path: string): string | undefined {
  let d = realOrResolved(path);
  for (;;) {
    if (existsSync(join(d, 'MANIFEST'))) return d;
    const up = dirname(d);
    if (up === d) return undefined;
    d = up;
  }
}

function startsWith(path: string, magic: Uint8Array, at = 0): boolean {
  const head = Buffer.alloc(magic.length);
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const n = readSync(fd, head, 0, magic.length, at);
    return n === magic.length && head.equals(Buffer.from(magic));
  } catch {
    return false;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

export interface OutputFileOptions {
  /** what the flag is called, for messages (default --out) */
  flag?: string;
  /** files the command reads: the output may be none of them */
  inputs?: readonly string[];
  /** required file name endings, lower case (e.g. ['.png']) */
  extensions?: readonly string[];
  /** an existing file is replaced only if it has these bytes at `magicAt` (a file of the kind written), so that a user's other file is never overwritten */
  magic?: Uint8Array;
  magicAt?: number;
  /** the kind of file, for messages (e.g. 'PNG') */
  kind?: string;
}

/** Checks an output file path before any work is done; throws a UserError naming the problem. */
export function checkOutputFile(path: string, o: OutputFileOptions = {}): void {
  const flag = o.flag ?? '--out';
  if (!path) throw new UserError(`${flag} needs a file name`);
  if (o.extensions && !o.extensions.some((e) => path.toLowerCase().endsWith(e))) {
    throw new UserError(`${flag} must name a ${o.extensions.join(' or ')} file, got ${path}`);
  }
  for (const input of o.inputs ?? []) {
    if (realOrResolved(path) === realOrResolved(input)) throw new UserError(`${flag} ${path} is the input ${input}; choose another name`);
  }
  const ck = enclosingCheckpoint(dirname(resolve(path)));
  if (ck) throw new UserError(`${flag} ${path} is inside a genlab checkpoint (${ck}); choose another folder`);
  let st;
  try {
    st = statSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOTDIR') throw new UserError(`${flag} ${path}: ${fsProblem(e, path)}`);
    if (code !== 'ENOENT') throw new UserError(`${flag} ${path}: ${fsProblem(e, path)}`);
  }
  if (st?.isDirectory()) throw new UserError(`${flag} ${path} is a folder; give a file name such as ${join(path, `out${o.extensions?.[0] ?? ''}`)}`);
  if (st && o.magic && !startsWith(path, o.magic, o.magicAt)) {
    throw new UserError(`${flag} ${path} exists and is not a ${o.kind ?? 'file of the kind written'}; genlab will not overwrite it (remove it or choose another name)`);
  }
  const parent = dirname(resolve(path));
  let pst;
  try {
    pst = statSync(parent);
  } catch {
    throw new UserError(`${flag} ${path}: the folder ${dirname(path)} does not exist`);
  }
  if (!pst.isDirectory()) throw new UserError(`${flag} ${path}: ${dirname(path)} is a file, not a folder`);
}

/**
 * Writes data to path through a temporary file in the same folder and a rename. Any failure (a
 * full disk, a read-only place) removes the temporary file, leaves an existing file untouched and
 * becomes one UserError. `write` is the writer (a seam for tests of failures).
 */
export function writeFileAtomic(path: string, data: Uint8Array, write: (p: string, d: Uint8Array) => void = durableWrite): void {
  // a short name of its own: a temporary named after a long file name could exceed the 255-byte limit
  const tmp = join(dirname(path), `.genlab.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    write(tmp, data);
    renameSync(tmp, path);
    syncDir(dirname(path));
  } catch (e) {
    rmSync(tmp, { force: true });
    throw new UserError(fsProblem(e, path));
  }
}

/** The data on disk before the rename (fsync), so that power loss leaves the old file or the whole new one. */
function durableWrite(p: string, d: Uint8Array): void {
  const fd = openSync(p, 'w');
  try {
    for (let off = 0; off < d.length;) off += writeSync(fd, d, off, d.length - off);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** The rename itself made durable (where the platform lets a folder be synced). */
function syncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    /* not supported here: the rename is still atomic */
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * mkdir -p, one level at a time: Node 20's recursive mkdirSync loops forever under /proc and
 * similar places where a folder can be neither found nor made.
 */
export function makeDirs(dir: string): void {
  const missing: string[] = [];
  let d = resolve(dir);
  while (!existsSync(d)) {
    missing.push(d);
    const up = dirname(d);
    if (up === d) break;
    d = up;
  }
  for (const m of missing.reverse()) {
    try {
      mkdirSync(m);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  }
}

/** checkOutputFile, then writeFileAtomic. */
export function writeOutputFile(path: string, data: Uint8Array, o: OutputFileOptions = {}): void {
  checkOutputFile(path, o);
  writeFileAtomic(path, data);
}

/**
 * Makes (or accepts) an output folder: creates missing parents, refuses a file in its place, a
 * folder that is or lies inside an input, and a genlab checkpoint or run directory, whose files
 * are the user's models.
 */
export function prepareOutputDir(dir: string, o: { flag?: string; inputs?: readonly string[]; allowRunDir?: boolean } = {}): void {
  const flag = o.flag ?? '--out';
  if (!dir) throw new UserError(`${flag} needs a folder name`);
  for (const input of o.inputs ?? []) {
    if (overlaps(dir, input)) throw new UserError(`${flag} ${dir} overlaps the input ${input}; choose a folder outside it`);
  }
  if (existsSync(join(dir, 'MANIFEST')) || (!o.allowRunDir && existsSync(join(dir, 'checkpoint', 'MANIFEST')))) {
    throw new UserError(`${flag} ${dir} holds a genlab checkpoint; choose another folder`);
  }
  const ck = enclosingCheckpoint(dir);
  if (ck) throw new UserError(`${flag} ${dir} is inside a genlab checkpoint (${ck}); choose another folder`);
  try {
    makeDirs(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' || code === 'ENOTDIR') throw new UserError(`${flag} ${dir}: it (or a folder above it) is a file, not a folder`);
    throw new UserError(`${flag} ${dir}: ${fsProblem(e, dir)}`);
  }
  if (!statSync(dir).isDirectory()) throw new UserError(`${flag} ${dir} is a file, not a folder`);
}

export const PNG_MAGIC = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

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
