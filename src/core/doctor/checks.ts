// The doctor: what makes a runtime image that built fine die at `docker run`, found from its file
// listing and its settings, before anyone runs it. Pure: the listing comes from image-files.ts.
import * as posix from 'node:path/posix';
import { MACHINES, machineOfArchitecture, type ElfInfo } from './elf';
import type { ImageConfig, ImageFile } from './image-files';

export type FindingCode = 'MISSING_LOADER' | 'MISSING_LIBRARY' | 'MISSING_ENTRYPOINT' | 'NOT_EXECUTABLE' | 'MISSING_INTERPRETER' | 'FOREIGN_ARCHITECTURE';

export interface Finding {
  code: FindingCode;
  /** error: `docker run` fails; warning: it may fail (a library could come from LD_LIBRARY_PATH). */
  severity: 'error' | 'warning';
  /** The file in the runtime image the finding is about. */
  path: string;
  message: string;
}

const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
/** Where the loader looks for libraries when the binary names no run path (glibc, musl). */
const LIBRARY_DIRS = [
  '/lib',
  '/usr/lib',
  '/lib64',
  '/usr/lib64',
  '/usr/local/lib',
  '/lib/x86_64-linux-gnu',
  '/usr/lib/x86_64-linux-gnu',
  '/lib/aarch64-linux-gnu',
  '/usr/lib/aarch64-linux-gnu',
];
const MAX_LINKS = 40;

/** The image's files by path, resolving symlinks as the kernel would. */
export class FileTree {
  private readonly byPath = new Map<string, ImageFile>();

  constructor(files: readonly ImageFile[]) {
    for (const file of files) this.byPath.set(file.path, file);
  }

  /** The file a path names after following symlinks (in every component); undefined when it is not there. */
  resolve(path: string): ImageFile | undefined {
    let pending = posix.normalize(path).split('/').filter(Boolean);
    let current = '/';
    let hops = 0;
    while (pending.length > 0) {
      const next = posix.join(current, pending.shift() as string);
      const file = this.byPath.get(next);
      if (!file) return undefined;
      if (file.type === 'symlink' && file.linkTarget !== undefined) {
        if (++hops > MAX_LINKS) return undefined;
        const target = file.linkTarget;
        pending = [...target.split('/').filter(Boolean), ...pending];
        current = target.startsWith('/') ? '/' : current;
        continue;
      }
      current = next;
      if (pending.length === 0) return file.type === 'link' && file.linkTarget ? (this.byPath.get(file.linkTarget) ?? file) : file;
    }
    return this.byPath.get('/') ?? { path: '/', type: 'directory', size: 0, mode: 0o755 };
  }

  exists(path: string): boolean {
    return this.resolve(path) !== undefined;
  }
}

const machineName = (machine: number) => MACHINES[machine] ?? `machine ${machine}`;

function isExecutable(file: ImageFile): boolean {
  return file.type !== 'directory' && (file.mode & 0o111) !== 0;
}

/** A dynamically linked ELF file whose loader or libraries the image lacks. */
function linkingFindings(file: ImageFile, elf: ElfInfo, tree: FileTree): Finding[] {
  if (!elf.interpreter) return [];
  const needed = elf.needed ?? [];
  const libraries = needed.length > 0 ? ` and the librar${needed.length === 1 ? 'y' : 'ies'} ${needed.join(', ')}` : '';
  if (!tree.exists(elf.interpreter)) {
    return [
      {
        code: 'MISSING_LOADER',
        severity: 'error',
        path: file.path,
        message:
          `${file.path} is dynamically linked: it needs the loader ${elf.interpreter}${libraries}, which the runtime image does not have, ` +
          `so running it fails with "no such file or directory". Link it statically (Go: CGO_ENABLED=0; C: -static), ` +
          `or copy the loader and its libraries into the runtime image (or use a base image that has them).`,
      },
    ];
  }
  const dirs = [...(elf.runPath ?? []), ...LIBRARY_DIRS];
  const missing = needed.filter((name) => !(name.includes('/') ? tree.exists(name) : dirs.some((dir) => tree.exists(posix.join(dir, name)))));
  return missing.map((name) => ({
    code: 'MISSING_LIBRARY',
    severity: 'warning',
    path: file.path,
    message: `${file.path} needs the library ${name}, which is in none of ${dirs.slice(0, 4).join(', ')}… in the runtime image. Copy it in, or link statically.`,
  }));
}

function architectureFindings(file: ImageFile, elf: ElfInfo, architecture: string | undefined): Finding[] {
  const expected = architecture ? machineOfArchitecture(architecture) : undefined;
  if (expected === undefined || elf.machine === expected || (elf.type !== 2 && elf.type !== 3)) return [];
  return [
    {
      code: 'FOREIGN_ARCHITECTURE',
      severity: 'error',
      path: file.path,
      message:
        `${file.path} is built for ${machineName(elf.machine)}, but the runtime image is for ${architecture} (${machineName(expected)}): ` +
        `running it fails with "exec format error". Build it for ${architecture} (Go: GOARCH; C: the matching compiler), or build the image for its platform.`,
    },
  ];
}

/** The program `docker run` starts: ENTRYPOINT's first word, else CMD's. */
function programOf(config: ImageConfig): string | undefined {
  const argv = config.entrypoint && config.entrypoint.length > 0 ? config.entrypoint : (config.cmd ?? []);
  return argv[0];
}

function searchPath(config: ImageConfig): string[] {
  const entry = (config.env ?? []).find((e) => e.startsWith('PATH='));
  return (entry ? entry.slice(5) : DEFAULT_PATH).split(':').filter(Boolean);
}

/** Where the image's PATH finds a command; a name with a slash is taken as it is (relative to WORKDIR). */
function locate(command: string, config: ImageConfig, tree: FileTree): string | undefined {
  if (command.includes('/')) return posix.resolve(config.workingDir || '/', command);
  return searchPath(config)
    .map((dir) => posix.join(dir, command))
    .find((candidate) => tree.exists(candidate));
}

function entrypointFindings(config: ImageConfig, tree: FileTree): Finding[] {
  const program = programOf(config);
  if (!program) return [];
  const where = locate(program, config, tree);
  const file = where ? tree.resolve(where) : undefined;
  if (!where || !file) {
    return [
      {
        code: 'MISSING_ENTRYPOINT',
        severity: 'error',
        path: where ?? program,
        message: `The image's ENTRYPOINT/CMD runs ${program}, which is not in the runtime image${where ? '' : ` (searched ${searchPath(config).join(':')})`}. Copy it in (check the COPY lines of the runtime Dockerfile), or fix the ENTRYPOINT.`,
      },
    ];
  }
  if (!isExecutable(file)) {
    return [
      {
        code: 'NOT_EXECUTABLE',
        severity: 'error',
        path: where,
        message: `The image's ENTRYPOINT/CMD runs ${where}, which is ${file.type === 'directory' ? 'a directory' : `not executable (mode ${(file.mode & 0o7777).toString(8).padStart(4, '0')})`}. Make it executable (chmod +x in the builder, or COPY --chmod=755 with BuildKit).`,
      },
    ];
  }
  if (file.shebang !== undefined) return interpreterFindings(where, file.shebang, config, tree);
  return [];
}

/** A script's #! interpreter (and the program `/usr/bin/env NAME` looks up). */
function interpreterFindings(script: string, shebang: string, config: ImageConfig, tree: FileTree): Finding[] {
  const [interpreter, argument] = shebang.split(/\s+/);
  const missing = (what: string) => [
    {
      code: 'MISSING_INTERPRETER' as const,
      severity: 'error' as const,
      path: script,
      message: `${script} is a script for ${what} (its first line is #!${shebang}), which is not in the runtime image. Copy the interpreter in, use a base image that has it, or run a binary instead.`,
    },
  ];
  if (!interpreter || !tree.exists(interpreter)) return missing(interpreter || '(no interpreter)');
  if (posix.basename(interpreter) === 'env' && argument && !locate(argument, config, tree)) return missing(argument);
  return [];
}

/** Every finding for a runtime image, errors first. */
export function diagnose(files: readonly ImageFile[], config: ImageConfig): Finding[] {
  const tree = new FileTree(files);
  const findings: Finding[] = [...entrypointFindings(config, tree)];
  for (const file of files) {
    if (!file.elf) continue;
    findings.push(...architectureFindings(file, file.elf, config.architecture), ...linkingFindings(file, file.elf, tree));
  }
  return findings.sort((a, b) => (a.severity === b.severity ? 0 : a.severity === 'error' ? -1 : 1));
}
