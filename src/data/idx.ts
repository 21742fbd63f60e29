// The IDX format of MNIST and its relatives (LeCun et al.): a magic number (two zero bytes, a
// type byte, a dimension count), big-endian int32 dimensions, then big-endian values. Plain or
// gzip-compressed files.
import { gunzipSync } from 'node:zlib';
import { UserError } from '../util/errors.js';
import { readUserFile } from '../util/files.js';

export interface IdxArray {
  dims: number[];
  /** values in row-major order, as numbers of the file's type */
  data: Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;
}

const TYPES: Record<number, { name: string; bytes: number }> = {
  0x08: { name: 'ubyte', bytes: 1 }, 0x09: { name: 'byte', bytes: 1 }, 0x0b: { name: 'short', bytes: 2 },
  0x0c: { name: 'int', bytes: 4 }, 0x0d: { name: 'float', bytes: 4 }, 0x0e: { name: 'double', bytes: 8 },
};

/** Parses IDX bytes (gunzipping first when they start with gzip's magic); `what` names the source in errors. */
export function parseIdx(raw: Uint8Array, what: string): IdxArray {
  let buf = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
  if (buf.length >= 2 && buf[0] === 0x1f && buf[1] === 0x8b) {
    try {
      buf = gunzipSync(buf);
    } catch (e) {
      throw new UserError(`${what}: gzip data is corrupt or truncated (${(e as Error).message})`);
    }
  }
  if (buf.length < 4 || buf[0] !== 0 || buf[1] !== 0 || !(buf[2] in TYPES) || buf[3] === 0) {
    throw new UserError(`${what} is not an IDX file (bad magic number ${buf.subarray(0, 4).toString('hex') || 'none'})`);
  }
  const type = TYPES[buf[2]], nd = buf[3];
  if (buf.length < 4 + 4 * nd) throw new UserError(`${what} is truncated: its header needs ${4 + 4 * nd} bytes, the file has ${buf.length}`);
  const dims = Array.from({ length: nd }, (_, i) => buf.readUInt32BE(4 + 4 * i));
  const count = dims.reduce((a, b) => a * b, 1);
  const start = 4 + 4 * nd, need = start + count * type.bytes;
  if (buf.length < need) throw new UserError(`${what} is truncated: dimensions ${dims.join('x')} need ${need} bytes, the file has ${buf.length}`);
  let data: IdxArray['data'];
  switch (type.name) {
    case 'ubyte': data = Uint8Array.from(buf.subarray(start, need)); break;
    case 'byte': data = Int8Array.from(buf.subarray(start, need), (v) => (v << 24) >> 24); break;
    case 'short': data = Int16Array.from({ length: count }, (_, i) => buf.readInt16BE(start + 2 * i)); break;
    case 'int': data = Int32Array.from({ length: count }, (_, i) => buf.readInt32BE(start + 4 * i)); break;
    case 'float': data = Float32Array.from({ length: count }, (_, i) => buf.readFloatBE(start + 4 * i)); break;
    default: data = Float64Array.from({ length: count }, (_, i) => buf.readDoubleBE(start + 8 * i));
  }
  return { dims, data };
}

export function readIdx(path: string): IdxArray {
  return parseIdx(readUserFile(path), path);
}

/** Writes an IDX file's bytes (ubyte only), for tests and exports. */
export function encodeIdxUbyte(dims: number[], data: Uint8Array): Buffer {
  const head = Buffer.alloc(4 + 4 * dims.length);
  head[2] = 0x08;
  head[3] = dims.length;
  dims.forEach((d, i) => head.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([head, Buffer.from(data)]);
}
