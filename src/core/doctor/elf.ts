// What the doctor needs from an ELF file, read from the bytes that stream past: its class, machine and
// type; the loader it asks for (PT_INTERP); the libraries it needs (DT_NEEDED) and where it looks for
// them (DT_RPATH / DT_RUNPATH). The data is never held whole: ElfCapture keeps the first PREFIX bytes
// (header, program headers, and usually .interp and .dynstr), then whatever of PT_INTERP, PT_DYNAMIC and
// the first PT_LOAD segment (where linkers put .dynstr: 2.2 MB into Node's binary) lies past them.

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
  /** DT_RPATH directories (searched for this object's libraries and those of everything it loads); ignored by the loader when DT_RUNPATH is there. */
  rpath?: string[];
  /** DT_RUNPATH directories (searched after LD_LIBRARY_PATH, for this object's own libraries only). */
  runpath?: string[];
  /** DT_SONAME. */
  soname?: string;
  /** DF_1_NODEFLIB: the loader skips ld.so.cache and its default directories for this object's libraries. */
  noDefaultLib?: boolean;
  /** For a glibc loader: the directories it searches by default, as compiled into it ("/lib/x86_64-linux-gnu", …). */
  systemDirs?: string[];
}

const MAGIC = Buffer.from([0x7f, 0x45, 0x4c, 0x46]);
const PT_LOAD = 1;
const PT_DYNAMIC = 2;
const PT_INTERP = 3;
const DT_NEEDED = 1;
const DT_STRTAB = 5;
const DT_STRSZ = 10;
const DT_SONAME = 14;
const DT_RPATH = 15;
const DT_RUNPATH = 29;
const DT_FLAGS_1 = 0x6ffffffb;
const DF_1_NODEFLIB = 0x800;

/** Bytes kept from the start of each ELF file. */
export const PREFIX = 256 * 1024;
/** Largest PT_DYNAMIC range kept (a dynamic section is a few hundred bytes). */
const MAX_DYNAMIC = 64 * 1024;
/** Most bytes kept of the first PT_LOAD segment past PREFIX, where .dynstr lies (Node's: 7.8 MB). */
const MAX_WINDOW = 32 * 1024 * 1024;

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
      if (end < 0) continue; // a later range may hold the whole string
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

/**
 * The ranges past the first PREFIX bytes that parseElf may need, once the headers are known: PT_INTERP,
 * PT_DYNAMIC, and for a dynamically linked file the first PT_LOAD segment (which holds .dynstr; where
 * exactly is known only from the dynamic section, which comes after it). Undefined while the program
 * headers have not all arrived.
 */
export function wantedRanges(head: Buffer): Array<{ offset: number; length: number }> | undefined {
  const h = headers(head);
  if (!h) return undefined;
  const ranges: Array<{ offset: number; length: number }> = [];
  const interp = h.segments.find((s) => s.type === PT_INTERP);
  if (interp && interp.filesz <= 4096) ranges.push({ offset: interp.offset, length: interp.filesz });
  const dynamic = h.segments.find((s) => s.type === PT_DYNAMIC);
  if (dynamic && dynamic.filesz <= MAX_DYNAMIC) {
    ranges.push({ offset: dynamic.offset, length: dynamic.filesz });
    const first = h.segments.filter((s) => s.type === PT_LOAD).sort((a, b) => a.offset - b.offset)[0];
    if (first && first.offset + first.filesz > PREFIX) {
      const start = Math.max(first.offset, PREFIX);
      ranges.push({ offset: start, length: Math.min(first.offset + first.filesz - start, MAX_WINDOW) });
    }
  }
  return ranges.filter((r) => r.offset + r.length > PREFIX && r.length > 0);
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
  const flags1 = entries.find(([tag]) => tag === DT_FLAGS_1)?.[1];
  if (flags1 !== undefined && (flags1 & DF_1_NODEFLIB) !== 0) info.noDefaultLib = true;
  const strtabAddress = entries.find(([tag]) => tag === DT_STRTAB)?.[1];
  const load = h.segments.find((s) => s.type === PT_LOAD && strtabAddress !== undefined && strtabAddress >= s.vaddr && strtabAddress < s.vaddr + s.filesz);
  if (strtabAddress === undefined || !load) return info;
  const strtab = strtabAddress - load.vaddr + load.offset;
  const strsz = entries.find(([tag]) => tag === DT_STRSZ)?.[1];
  const strings = (tag: number) =>
    entries.filter(([t]) => t === tag).map(([, value]) => (strsz !== undefined && value >= strsz ? undefined : bytes.string(strtab + value)));
  const needed = strings(DT_NEEDED);
  if (needed.every((name): name is string => name !== undefined)) info.needed = needed;
  const dirs = (tag: number) =>
    strings(tag)
      .filter((p): p is string => p !== undefined)
      .flatMap((p) => p.split(':'));
  const runpath = dirs(DT_RUNPATH);
  const rpath = dirs(DT_RPATH);
  if (runpath.length > 0) info.runpath = runpath;
  if (rpath.length > 0) info.rpath = rpath;
  const [soname] = strings(DT_SONAME);
  if (soname) info.soname = soname;
  return info;
}

/** A glibc loader's default directories, from its bytes: the run of NUL-separated "/…lib…/" strings it is compiled with. */
export function systemDirsOf(bytes: Buffer): string[] | undefined {
  const text = bytes.toString('latin1');
  const run = /\0((?:\/[\w.+\-/]*lib[\w.+\-/]*\/\0){2,16})/.exec(text);
  return run
    ? run[1]
        .split('\0')
        .filter(Boolean)
        .map((dir) => dir.replace(/\/+$/, '') || '/')
    : undefined;
}

/**
 * Keeps what parseElf needs of a file whose bytes arrive in order: its first PREFIX bytes, and the
 * ranges past them that wantedRanges names. `loader`: the file is a loader (ld-linux*.so*), whose
 * default directories are read from its bytes too.
 */
export class ElfCapture {
  private readonly head: Buffer[] = [];
  private headLength = 0;
  private position = 0;
  private ranges: Array<{ offset: number; length: number; chunks: Buffer[] }> | undefined;
  private loaderBytes: Buffer[] | undefined;

  constructor(loader = false) {
    if (loader) this.loaderBytes = [];
  }

  push(chunk: Buffer): void {
    const start = this.position;
    this.position += chunk.length;
    if (this.loaderBytes && start < 4 * PREFIX) this.loaderBytes.push(Buffer.from(chunk.subarray(0, 4 * PREFIX - start)));
    if (this.headLength < PREFIX) {
      const part = chunk.subarray(0, PREFIX - this.headLength);
      this.head.push(Buffer.from(part)); // copied: a stream may reuse its buffers
      this.headLength += part.length;
    }
    if (this.ranges === undefined && this.headLength >= 64) {
      // Program headers usually sit right after the 64-byte header; try again as more arrives.
      const wanted = wantedRanges(this.head.length === 1 ? this.head[0] : Buffer.concat(this.head));
      if (wanted) this.ranges = wanted.map((r) => ({ ...r, chunks: [] }));
      else if (this.headLength >= PREFIX) this.ranges = [];
    }
    for (const r of this.ranges ?? []) {
      // Only what lies past the head: the head holds the rest.
      const from = Math.max(r.offset, PREFIX, start);
      const to = Math.min(r.offset + r.length, start + chunk.length);
      if (from < to) r.chunks.push(Buffer.from(chunk.subarray(from - start, to - start)));
    }
  }

  info(): ElfInfo | undefined {
    const ranges = [{ offset: 0, bytes: Buffer.concat(this.head) }];
    for (const r of this.ranges ?? []) {
      if (r.chunks.length === 0) continue;
      const offset = Math.max(r.offset, PREFIX);
      // A range that continues the head joins it: a string may cross the boundary.
      if (offset === PREFIX && ranges[0].bytes.length === PREFIX) ranges.push({ offset: 0, bytes: Buffer.concat([ranges[0].bytes, ...r.chunks]) });
      else ranges.push({ offset, bytes: Buffer.concat(r.chunks) });
    }
    const info = parseElf(ranges);
    if (info && this.loaderBytes && !info.interpreter) {
      const dirs = systemDirsOf(Buffer.concat(this.loaderBytes));
      if (dirs) info.systemDirs = dirs;
    }
    return info;
  }
}
