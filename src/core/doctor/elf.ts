// What the doctor needs from an ELF file, read from the bytes that stream past: its class, machine and
// type; the loader it asks for (PT_INTERP); the libraries it needs (DT_NEEDED) and where it looks for
// them (DT_RUNPATH / DT_RPATH). The data is never held whole: ElfCapture keeps the first PREFIX bytes
// (header, program headers, and in practice .interp and .dynstr) and the PT_DYNAMIC range.

export interface ElfInfo {
  bits: 32 | 64;
  /** e_machine, e.g. 62 (x86-64) or 183 (AArch64). */
  machine: number;
  /** e_type: 2 executable, 3 shared object (PIE executables too). */
  type: number;
  /** The loader from PT_INTERP; undefined for a statically linked file. */
  interpreter?: string;
  /** DT_NEEDED names; undefined when they could not be read from the captured bytes. */
  needed?: string[];
  /** DT_RUNPATH or DT_RPATH directories. */
  runPath?: string[];
}

const MAGIC = Buffer.from([0x7f, 0x45, 0x4c, 0x46]);
const PT_LOAD = 1;
const PT_DYNAMIC = 2;
const PT_INTERP = 3;
const DT_NEEDED = 1;
const DT_STRTAB = 5;
const DT_RPATH = 15;
const DT_RUNPATH = 29;

/** Bytes kept from the start of each ELF file. */
export const PREFIX = 256 * 1024;
/** Largest PT_DYNAMIC range kept (a dynamic section is a few hundred bytes). */
const MAX_DYNAMIC = 64 * 1024;

export function isElf(head: Buffer): boolean {
  return head.length >= 4 && head.subarray(0, 4).equals(MAGIC);
}

/** Named machines, for messages; others are shown by number. */
export const MACHINES: Record<number, string> = {
  3: 'x86 (386)',
  8: 'MIPS',
  20: 'PowerPC',
  21: 'PowerPC 64',
  22: 's390x',
  40: 'ARM',
  62: 'x86-64',
  183: 'AArch64',
  243: 'RISC-V',
};

/** The ELF machine of a Docker platform architecture; undefined for one not known here. */
export function machineOfArchitecture(architecture: string): number | undefined {
  const table: Record<string, number> = { amd64: 62, '386': 3, arm64: 183, arm: 40, ppc64le: 21, ppc64: 21, s390x: 22, riscv64: 243, mips64le: 8 };
  return table[architecture];
}

/** Captured ranges of one file, read by offset. */
class Captured {
  constructor(private readonly ranges: Array<{ offset: number; bytes: Buffer }>) {}

  read(offset: number, length: number): Buffer | undefined {
    for (const { offset: start, bytes } of this.ranges) {
      if (offset >= start && offset + length <= start + bytes.length) return bytes.subarray(offset - start, offset - start + length);
    }
    return undefined;
  }

  /** A NUL-terminated string at offset, within one captured range. */
  string(offset: number): string | undefined {
    for (const { offset: start, bytes } of this.ranges) {
      if (offset < start || offset >= start + bytes.length) continue;
      const end = bytes.indexOf(0, offset - start);
      if (end < 0) return undefined;
      return bytes.toString('latin1', offset - start, end);
    }
    return undefined;
  }
}

interface Segment {
  type: number;
  offset: number;
  vaddr: number;
  filesz: number;
}

class Reader {
  constructor(
    private readonly bytes: Buffer,
    private readonly little: boolean,
  ) {}

  u16(at: number): number {
    return this.little ? this.bytes.readUInt16LE(at) : this.bytes.readUInt16BE(at);
  }

  u32(at: number): number {
    return this.little ? this.bytes.readUInt32LE(at) : this.bytes.readUInt32BE(at);
  }

  /** A 64-bit field; offsets and addresses past 2^53 are not in files the doctor reads. */
  u64(at: number): number {
    return Number(this.little ? this.bytes.readBigUInt64LE(at) : this.bytes.readBigUInt64BE(at));
  }
}

/** The ELF header and program headers, from the first bytes of a file; undefined when they are not all there. */
function headers(head: Buffer): { bits: 32 | 64; little: boolean; machine: number; type: number; segments: Segment[] } | undefined {
  if (!isElf(head) || head.length < 52) return undefined;
  const bits = head[4] === 2 ? 64 : head[4] === 1 ? 32 : undefined;
  const little = head[5] === 1 ? true : head[5] === 2 ? false : undefined;
  if (bits === undefined || little === undefined || (bits === 64 && head.length < 64)) return undefined;
  const r = new Reader(head, little);
  const phoff = bits === 64 ? r.u64(32) : r.u32(28);
  const phentsize = r.u16(bits === 64 ? 54 : 42);
  const phnum = r.u16(bits === 64 ? 56 : 44);
  if (phentsize < (bits === 64 ? 56 : 32) || phoff + phnum * phentsize > head.length) return undefined;
  const segments: Segment[] = [];
  for (let i = 0; i < phnum; i++) {
    const at = phoff + i * phentsize;
    segments.push(
      bits === 64
        ? { type: r.u32(at), offset: r.u64(at + 8), vaddr: r.u64(at + 16), filesz: r.u64(at + 32) }
        : { type: r.u32(at), offset: r.u32(at + 4), vaddr: r.u32(at + 8), filesz: r.u32(at + 16) },
    );
  }
  return { bits, little, machine: r.u16(18), type: r.u16(16), segments };
}

/** Where PT_DYNAMIC lies in the file, once the headers are known. */
export function dynamicRange(head: Buffer): { offset: number; length: number } | undefined {
  const dynamic = headers(head)?.segments.find((s) => s.type === PT_DYNAMIC);
  return dynamic && dynamic.filesz <= MAX_DYNAMIC ? { offset: dynamic.offset, length: dynamic.filesz } : undefined;
}

/** Reads an ELF file's facts from captured ranges (the file's start first). */
export function parseElf(ranges: Array<{ offset: number; bytes: Buffer }>): ElfInfo | undefined {
  const head = ranges[0]?.offset === 0 ? ranges[0].bytes : undefined;
  const h = head && headers(head);
  if (!h) return undefined;
  const bytes = new Captured(ranges);
  const info: ElfInfo = { bits: h.bits, machine: h.machine, type: h.type };
  const interp = h.segments.find((s) => s.type === PT_INTERP);
  if (interp) info.interpreter = bytes.string(interp.offset) ?? '(unreadable)';
  const dynamic = h.segments.find((s) => s.type === PT_DYNAMIC);
  if (!dynamic) return info;
  const table = bytes.read(dynamic.offset, dynamic.filesz);
  if (!table) return info;
  const r = new Reader(table, h.little);
  const size = h.bits === 64 ? 16 : 8;
  const entries: Array<[number, number]> = [];
  for (let at = 0; at + size <= table.length; at += size) {
    const tag = h.bits === 64 ? r.u64(at) : r.u32(at);
    if (tag === 0) break;
    entries.push([tag, h.bits === 64 ? r.u64(at + 8) : r.u32(at + 4)]);
  }
  const strtabAddress = entries.find(([tag]) => tag === DT_STRTAB)?.[1];
  const load = h.segments.find((s) => s.type === PT_LOAD && strtabAddress !== undefined && strtabAddress >= s.vaddr && strtabAddress < s.vaddr + s.filesz);
  if (strtabAddress === undefined || !load) return info;
  const strtab = strtabAddress - load.vaddr + load.offset;
  const strings = (tag: number) => entries.filter(([t]) => t === tag).map(([, value]) => bytes.string(strtab + value));
  const needed = strings(DT_NEEDED);
  if (needed.every((name): name is string => name !== undefined)) info.needed = needed;
  const paths = [...strings(DT_RUNPATH), ...strings(DT_RPATH)].filter((p): p is string => p !== undefined);
  if (paths.length > 0) info.runPath = paths.flatMap((p) => p.split(':')).filter(Boolean);
  return info;
}

/**
 * Keeps what parseElf needs of a file whose bytes arrive in order: its first PREFIX bytes, and the
 * PT_DYNAMIC range wherever it lies.
 */
export class ElfCapture {
  private readonly head: Buffer[] = [];
  private headLength = 0;
  private position = 0;
  private dynamic: { offset: number; length: number } | undefined;
  private dynamicKnown = false;
  private readonly dynamicChunks: Buffer[] = [];

  push(chunk: Buffer): void {
    const start = this.position;
    this.position += chunk.length;
    if (this.headLength < PREFIX) {
      const part = chunk.subarray(0, PREFIX - this.headLength);
      this.head.push(Buffer.from(part)); // copied: a stream may reuse its buffers
      this.headLength += part.length;
    }
    if (!this.dynamicKnown && this.headLength >= 64) {
      // Program headers usually sit right after the 64-byte header; try again as more arrives.
      const range = dynamicRange(Buffer.concat(this.head));
      if (range || this.headLength >= PREFIX) {
        this.dynamic = range;
        this.dynamicKnown = true;
      }
    }
    const d = this.dynamic;
    if (d && d.offset >= PREFIX && start + chunk.length > d.offset && start < d.offset + d.length) {
      this.dynamicChunks.push(Buffer.from(chunk.subarray(Math.max(0, d.offset - start), Math.min(chunk.length, d.offset + d.length - start))));
    }
  }

  info(): ElfInfo | undefined {
    const ranges = [{ offset: 0, bytes: Buffer.concat(this.head) }];
    if (this.dynamic && this.dynamicChunks.length > 0) ranges.push({ offset: this.dynamic.offset, bytes: Buffer.concat(this.dynamicChunks) });
    return parseElf(ranges);
  }
}
