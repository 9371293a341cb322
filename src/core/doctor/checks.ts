// The doctor: what makes a runtime image that built fine die at `docker run`, found from its file
// listing and its settings, before anyone runs it. Pure: the listing comes from image-files.ts.
//
// It follows what `docker run` does to start the entrypoint: the runtime looks the command up (the image's
// PATH, skipping what is not executable), the kernel execs it (a #! script execs its interpreter, and
// /usr/bin/env execs the program it names; an ELF file asks for its loader), and the loader maps every
// library the program needs, as glibc searches for them: DT_RPATH of the object and of what loaded it
// (unless the object has DT_RUNPATH), the image's LD_LIBRARY_PATH, DT_RUNPATH, /etc/ld.so.cache, then the
// loader's own default folders; $ORIGIN is the folder of the object (for the program, its real path);
// a library of another machine is passed over. Whatever stops that chain is an error: `docker run` fails.
// Everything else in the image that would fail if it were run or loaded later is a warning.
import * as posix from 'node:path/posix';
import { MACHINES, machineOfArchitecture, type ElfInfo } from './elf';
import type { ImageConfig, ImageFile } from './image-files';
import { ldConfDirs, parseLdCache } from './loader';

export type FindingCode =
  'MISSING_LOADER' | 'MISSING_LIBRARY' | 'MISSING_ENTRYPOINT' | 'NOT_EXECUTABLE' | 'MISSING_INTERPRETER' | 'FOREIGN_ARCHITECTURE' | 'NOT_A_PROGRAM';

export interface Finding {
  code: FindingCode;
  /** error: `docker run` cannot start the entrypoint; warning: something may fail later (a program run, or a library loaded, after start). */
  severity: 'error' | 'warning';
  /** The file in the runtime image the finding is about. */
  path: string;
  message: string;
}

const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
/** A glibc loader's default folders when its own could not be read from it (Debian's and Fedora's). */
const FALLBACK_SYSTEM_DIRS: Record<number, string[]> = {
  62: ['/lib/x86_64-linux-gnu', '/usr/lib/x86_64-linux-gnu', '/lib64', '/usr/lib64', '/lib', '/usr/lib'],
  183: ['/lib/aarch64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/lib64', '/usr/lib64', '/lib', '/usr/lib'],
};
const GENERIC_SYSTEM_DIRS = ['/lib64', '/usr/lib64', '/lib', '/usr/lib'];
const MUSL_DIRS = ['/lib', '/usr/local/lib', '/usr/lib'];
const MAX_LINKS = 40;
/** How deep #! interpreters may nest (the kernel's BINPRM_MAX_RECURSION). */
const MAX_SCRIPT_DEPTH = 4;

const ROOT: ImageFile = { path: '/', type: 'directory', size: 0, mode: 0o755 };

/** The image's files by path, resolving symlinks as the kernel would. */
export class FileTree {
  readonly byPath = new Map<string, ImageFile>();
  /** Folders that only appear as the parent of an entry. */
  private readonly implicitDirs = new Set<string>();

  constructor(files: readonly ImageFile[]) {
    for (const file of files) {
      this.byPath.set(file.path, file);
      for (let dir = posix.dirname(file.path); dir !== '/' && !this.implicitDirs.has(dir); dir = posix.dirname(dir)) this.implicitDirs.add(dir);
    }
  }

  /**
   * A path's file and real path after following symlinks in every component, as the kernel walks it:
   * `..` goes to the parent of the real folder reached so far (at / it stays at /), a component under a
   * file that is not a folder fails, and so do more than 40 links. Undefined when it is not there.
   */
  locate(path: string, cwd = '/'): { file: ImageFile; path: string } | undefined {
    const pending = [...(path.startsWith('/') ? [] : cwd.split('/')), ...path.split('/')];
    let current = '/';
    let currentFile = this.byPath.get('/') ?? ROOT;
    let hops = 0;
    while (pending.length > 0) {
      const part = pending.shift() as string;
      if (part === '' || part === '.') continue;
      if (currentFile.type !== 'directory') return undefined; // ENOTDIR
      if (part === '..') {
        current = posix.dirname(current);
        currentFile = this.byPath.get(current) ?? ROOT;
        continue;
      }
      const next = current === '/' ? `/${part}` : `${current}/${part}`;
      const file = this.byPath.get(next) ?? (this.implicitDirs.has(next) ? { path: next, type: 'directory' as const, size: 0, mode: 0o755 } : undefined);
      if (!file) return undefined;
      if (file.type === 'symlink' && file.linkTarget !== undefined) {
        if (++hops > MAX_LINKS) return undefined; // ELOOP
        if (file.linkTarget.startsWith('/')) {
          current = '/';
          currentFile = this.byPath.get('/') ?? ROOT;
        }
        pending.unshift(...file.linkTarget.split('/'));
        continue;
      }
      current = next;
      currentFile = file.type === 'link' && file.linkTarget ? (this.byPath.get(file.linkTarget) ?? file) : file;
    }
    return { file: current === '/' ? (this.byPath.get('/') ?? ROOT) : currentFile, path: current };
  }

  /** The file a path names after following symlinks; undefined when it is not there. */
  resolve(path: string, cwd = '/'): ImageFile | undefined {
    return this.locate(path, cwd)?.file;
  }

  exists(path: string): boolean {
    return this.resolve(path) !== undefined;
  }
}

const machineName = (machine: number) => MACHINES[machine] ?? `machine ${machine}`;

function isExecutable(file: ImageFile): boolean {
  return file.type === 'file' && (file.mode & 0o111) !== 0;
}

/** The program `docker run` starts: ENTRYPOINT's first word, else CMD's. */
function programOf(config: ImageConfig): string | undefined {
  const argv = config.entrypoint && config.entrypoint.length > 0 ? config.entrypoint : (config.cmd ?? []);
  return argv[0];
}

function envOf(config: ImageConfig, name: string): string | undefined {
  const entry = (config.env ?? []).filter((e) => e.startsWith(`${name}=`)).pop();
  return entry?.slice(name.length + 1);
}

function searchPath(config: ImageConfig): string[] {
  return (envOf(config, 'PATH') ?? DEFAULT_PATH).split(':').filter(Boolean);
}

/**
 * The checks' view of one image: its tree, its settings, and what the loader reads (ld.so.cache and the
 * folders ld.so.conf names).
 */
class Image {
  readonly tree: FileTree;
  readonly cache: Map<string, string[]> | undefined;
  readonly machine: number | undefined;
  private confDirs: Array<{ dir: string; from: string }> | undefined;
  private readonly loaders = new Map<number, ImageFile | undefined>();

  constructor(
    files: readonly ImageFile[],
    readonly config: ImageConfig,
  ) {
    this.tree = new FileTree(files);
    const cacheFile = this.tree.resolve('/etc/ld.so.cache');
    this.cache = cacheFile?.content ? parseLdCache(cacheFile.content) : undefined;
    this.machine = config.architecture ? machineOfArchitecture(config.architecture) : undefined;
  }

  get cwd(): string {
    return this.config.workingDir || '/';
  }

  ldConf(): Array<{ dir: string; from: string }> {
    this.confDirs ??= ldConfDirs(this.tree.byPath);
    return this.confDirs;
  }

  /** Where a command is found the way the runtime (and env) look it up: a name with a slash as it is, else the first executable file on PATH. */
  lookup(command: string): string | undefined {
    if (command.includes('/')) return posix.resolve(this.cwd, command);
    return searchPath(this.config)
      .map((dir) => posix.join(posix.resolve(this.cwd, dir), command))
      .find((candidate) => {
        const file = this.tree.resolve(candidate);
        return file !== undefined && isExecutable(file);
      });
  }

  /** A glibc loader in the image for `elf`'s machine (whose default folders a library nothing loads at start would be searched in). */
  defaultLoader(elf: ElfInfo): ImageFile | undefined {
    if (!this.loaders.has(elf.machine)) {
      let found: ImageFile | undefined;
      for (const file of this.tree.byPath.values()) if (file.elf?.systemDirs && file.elf.machine === elf.machine) found ??= file;
      this.loaders.set(elf.machine, found);
    }
    return this.loaders.get(elf.machine);
  }

  /** Whether an ELF file can run (or be loaded) on the image's platform next to `like`. */
  compatible(elf: ElfInfo, like?: ElfInfo): boolean {
    if (like) return elf.machine === like.machine && elf.bits === like.bits;
    return this.machine === undefined || elf.machine === this.machine || (this.machine === 62 && elf.machine === 3);
  }
}

/** One object the loader has mapped: the program or a library. */
interface Loaded {
  /** The path it was found at (its $ORIGIN is this path's folder; the program's is its real path's). */
  path: string;
  origin: string;
  elf: ElfInfo;
  /** The object that needed it, up to the program: whose DT_RPATH is searched for its needs too. */
  loader?: Loaded;
}

/** $ORIGIN and ${ORIGIN} in a run path; undefined for other tokens ($LIB, $PLATFORM) the doctor does not expand. */
function expand(dir: string, origin: string): string | undefined {
  const expanded = dir.replace(/\$(ORIGIN\b|\{ORIGIN\})/g, origin);
  return expanded.includes('$') ? undefined : expanded;
}

interface Search {
  found?: { path: string; file: ImageFile; elf: ElfInfo };
  /** Places looked, in order, for the message. */
  looked: string[];
  /** Files of the right name passed over because they are for another machine. */
  foreign: string[];
  /** A run path with a token the doctor cannot expand: the library may be there. */
  unsure: boolean;
}

/** Finds a library as the loader (glibc, or musl by its loader's name) would for `object`. */
function findLibrary(name: string, object: Loaded, program: Loaded, image: Image, loaderFile: ImageFile | undefined, musl: boolean): Search {
  const search: Search = { looked: [], foreign: [], unsure: false };
  const tryPath = (path: string): boolean => {
    const hit = image.tree.locate(path, image.cwd);
    if (!hit || hit.file.type !== 'file' || !hit.file.elf) return false;
    if (!image.compatible(hit.file.elf, program.elf)) {
      search.foreign.push(`${path} (${machineName(hit.file.elf.machine)}, ${hit.file.elf.bits}-bit)`);
      return false;
    }
    search.found = { path, file: hit.file, elf: hit.file.elf };
    return true;
  };
  if (name.includes('/')) {
    search.looked.push(name);
    tryPath(name);
    return search;
  }
  const tryDirs = (dirs: readonly string[] | undefined, origin: string, label: string): boolean => {
    for (const dir of dirs ?? []) {
      const expanded = expand(dir, origin);
      if (expanded === undefined) {
        search.unsure = true;
        continue;
      }
      search.looked.push(`${expanded || image.cwd} (${label})`);
      if (tryPath(posix.join(posix.resolve(image.cwd, expanded), name))) return true;
    }
    return false;
  };
  const ldLibraryPath = (envOf(image.config, 'LD_LIBRARY_PATH') ?? '').split(/[:;]/);
  const hasLdLibraryPath = envOf(image.config, 'LD_LIBRARY_PATH') !== undefined && envOf(image.config, 'LD_LIBRARY_PATH') !== '';
  if (musl) {
    if (hasLdLibraryPath && tryDirs(ldLibraryPath, program.origin, 'LD_LIBRARY_PATH')) return search;
    if (tryDirs([...(object.elf.rpath ?? []), ...(object.elf.runpath ?? [])], object.origin, `run path of ${object.path}`)) return search;
    const pathFile = [...image.tree.byPath.values()].find((f) => /^\/etc\/ld-musl-[^/]+\.path$/.test(f.path) && f.content);
    const dirs = pathFile?.content ? pathFile.content.toString('utf8').split(/[:\n]/).filter(Boolean) : MUSL_DIRS;
    tryDirs(dirs, object.origin, 'default');
    return search;
  }
  if (!object.elf.runpath) {
    for (let l: Loaded | undefined = object; l; l = l.loader) if (!l.elf.runpath && tryDirs(l.elf.rpath, l.origin, `RPATH of ${l.path}`)) return search;
  }
  if (hasLdLibraryPath && tryDirs(ldLibraryPath, program.origin, 'LD_LIBRARY_PATH')) return search;
  if (tryDirs(object.elf.runpath, object.origin, `RUNPATH of ${object.path}`)) return search;
  if (object.elf.noDefaultLib) return search;
  if (image.cache) {
    search.looked.push('/etc/ld.so.cache');
    for (const path of image.cache.get(name) ?? []) if (tryPath(path)) return search;
  }
  const systemDirs = loaderFile?.elf?.systemDirs ?? FALLBACK_SYSTEM_DIRS[program.elf.machine] ?? GENERIC_SYSTEM_DIRS;
  tryDirs(systemDirs, object.origin, 'default');
  return search;
}

/** Why a library was not found, and what to do. */
function missingLibraryMessage(name: string, object: Loaded, search: Search, image: Image, starting: string | undefined): string {
  const what = starting
    ? `so ${starting} cannot start: the loader stops with "error while loading shared libraries: ${name}: cannot open shared object file"`
    : 'so running or loading it later fails (the entrypoint does not need it)';
  const foreign = search.foreign.length > 0 ? ` Passed over for another machine: ${search.foreign.join(', ')}.` : '';
  const listed = image.ldConf().find(({ dir }) => image.tree.locate(posix.join(dir, name))?.file.elf);
  const conf = listed
    ? ` It is in ${listed.dir}, which ${listed.from} names, but /etc/ld.so.cache ${image.cache ? 'does not list it' : 'is not there'}: the loader reads only the cache, so run ldconfig in the runtime image after copying the library in (RUN ["/sbin/ldconfig"]), or set LD_LIBRARY_PATH.`
    : '';
  return (
    `${object.path} needs the library ${name}, which the loader does not find in the runtime image (looked in ${search.looked.join(', ') || 'nowhere'}), ${what}.${foreign}${conf}` +
    (conf
      ? ''
      : ` Copy ${name} into one of those folders (or next to the binary with an $ORIGIN run path), set LD_LIBRARY_PATH in the runtime image, or link statically.`)
  );
}

/**
 * Everything the loader maps to start `program` (an ELF file asking for a loader): each missing
 * library is a finding of `severity`. Returns the real paths of what it mapped.
 */
function loadFindings(
  programPath: string,
  realPath: string,
  elf: ElfInfo,
  image: Image,
  severity: 'error' | 'warning',
  starting: string | undefined,
  mapped: Set<string>,
): Finding[] {
  const findings: Finding[] = [];
  const interpreter = elf.interpreter as string;
  const loader = image.tree.locate(interpreter);
  const musl = /ld-musl/.test(interpreter);
  const program: Loaded = { path: programPath, origin: posix.dirname(realPath), elf };
  if (loader) mapped.add(loader.path);
  const names = new Set<string>([posix.basename(interpreter)]);
  if (loader?.file.elf?.soname) names.add(loader.file.elf.soname);
  const queue: Loaded[] = [program];
  while (queue.length > 0) {
    const object = queue.shift() as Loaded;
    if (object.elf.needed === undefined) {
      findings.push({
        code: 'MISSING_LIBRARY',
        severity: 'warning',
        path: object.path,
        message: `${object.path} is dynamically linked, but the doctor could not read which libraries it needs (its dynamic section or string table lies outside what it reads), so they were not checked. Check with \`docker run\`, or ldd in the builder.`,
      });
      continue;
    }
    for (const name of object.elf.needed) {
      if (names.has(name) || names.has(posix.basename(name))) continue;
      const search = findLibrary(name, object, program, image, loader?.file, musl);
      if (!search.found) {
        findings.push({
          code: 'MISSING_LIBRARY',
          severity: search.unsure ? 'warning' : severity,
          path: object.path,
          message: missingLibraryMessage(name, object, search, image, starting),
        });
        continue;
      }
      names.add(name);
      if (search.found.elf.soname) names.add(search.found.elf.soname);
      const real = image.tree.locate(search.found.path, image.cwd)?.path ?? search.found.path;
      if (mapped.has(real) && real !== realPath) continue;
      mapped.add(real);
      const libraryPath = posix.resolve(image.cwd, search.found.path);
      queue.push({ path: libraryPath, origin: posix.dirname(libraryPath), elf: search.found.elf, loader: object });
    }
  }
  return findings;
}

/**
 * What stops the kernel from exec'ing `path` (found as the runtime or env would find it) and the loader
 * from starting it: every finding here is an error. `role` names it in messages.
 */
function execFindings(path: string, image: Image, depth: number, what: string, mapped: Set<string>): Finding[] {
  const role = what.charAt(0).toUpperCase() + what.slice(1);
  const hit = image.tree.locate(path, image.cwd);
  const code = depth === 0 ? 'MISSING_ENTRYPOINT' : 'MISSING_INTERPRETER';
  if (!hit) {
    return [
      {
        code,
        severity: 'error',
        path,
        message: `${role} is ${path}, which is not in the runtime image (or is a symlink to nothing, or a symlink loop), so docker run fails with "no such file or directory". Copy it in (check the COPY lines of the runtime Dockerfile), or fix the ${depth === 0 ? 'ENTRYPOINT/CMD' : '#! line'}.`,
      },
    ];
  }
  const { file, path: real } = hit;
  mapped.add(real);
  if (!isExecutable(file)) {
    return [
      {
        code: 'NOT_EXECUTABLE',
        severity: 'error',
        path,
        message: `${role} is ${path}, which is ${file.type === 'directory' ? 'a directory' : `not executable (mode ${(file.mode & 0o7777).toString(8).padStart(4, '0')})`}, so docker run fails with "permission denied". ${file.type === 'directory' ? 'Point the ENTRYPOINT at the program inside it.' : 'Make it executable (chmod +x in the builder, or COPY --chmod=755 with BuildKit).'}`,
      },
    ];
  }
  if (file.format === 'script' && file.shebang !== undefined) return scriptFindings(path, file.shebang, image, depth, mapped);
  if (file.format === 'other' || (file.format === 'elf' && !file.elf)) {
    return [
      {
        code: 'NOT_A_PROGRAM',
        severity: 'error',
        path,
        message: `${role} is ${path}, which is neither an ELF program the doctor can read nor a script starting with #!, so docker run fails with "exec format error". Add a #! line (e.g. #!/bin/sh) to a script, or point the ENTRYPOINT at the program.`,
      },
    ];
  }
  const elf = file.elf;
  if (!elf) return [];
  if (!image.compatible(elf) || (elf.type !== 2 && elf.type !== 3)) {
    const expected = image.machine ?? 0;
    return [
      {
        code: 'FOREIGN_ARCHITECTURE',
        severity: 'error',
        path,
        message:
          elf.type !== 2 && elf.type !== 3
            ? `${role} is ${path}, an ELF file that is not a program (e_type ${elf.type}), so docker run fails with "exec format error". Point it at the linked program.`
            : `${path} is built for ${machineName(elf.machine)}, but the runtime image is for ${image.config.architecture} (${machineName(expected)}): ` +
              `running it fails with "exec format error". Build it for ${image.config.architecture} (Go: GOARCH; C: the matching compiler), or build the image for its platform.`,
      },
    ];
  }
  if (!elf.interpreter) return [];
  const libraries = elf.needed && elf.needed.length > 0 ? ` and the librar${elf.needed.length === 1 ? 'y' : 'ies'} ${elf.needed.join(', ')}` : '';
  const loader = image.tree.locate(elf.interpreter);
  if (!loader || !isExecutable(loader.file) || (loader.file.elf && !image.compatible(loader.file.elf, elf))) {
    const why = !loader
      ? 'which the runtime image does not have'
      : !isExecutable(loader.file)
        ? 'which is not an executable file in the runtime image'
        : 'which in the runtime image is for another machine';
    return [
      {
        code: 'MISSING_LOADER',
        severity: 'error',
        path,
        message:
          `${path} is dynamically linked: it needs the loader ${elf.interpreter}${libraries}, ${why}, ` +
          `so running it fails with "no such file or directory". Link it statically (Go: CGO_ENABLED=0; C: -static), ` +
          `or copy the loader and its libraries into the runtime image (or use a base image that has them).`,
      },
    ];
  }
  return loadFindings(path, real, elf, image, 'error', what, mapped);
}

/** A script: the kernel execs its #! interpreter; `/usr/bin/env NAME` then execs NAME from PATH. */
function scriptFindings(script: string, shebang: string, image: Image, depth: number, mapped: Set<string>): Finding[] {
  // As the kernel reads the line: spaces and tabs around, the interpreter up to the first one, the rest
  // one argument. A "\r" (a script saved with CRLF line ends) is part of the name.
  const line = shebang.replace(/^[ \t]+/, '').replace(/[ \t]+$/, '');
  const split = /^([^ \t]*)[ \t]*(.*)$/.exec(line) as RegExpExecArray;
  const [, interpreter, argument] = split;
  const crlf = /\r/.test(shebang) ? ' Its first line ends in "\\r": the script was saved with CRLF line ends; save it with LF (dos2unix).' : '';
  const missing = (what: string, why: string): Finding[] => [
    {
      code: 'MISSING_INTERPRETER',
      severity: 'error',
      path: script,
      message: `${script} is a script for ${JSON.stringify(what).slice(1, -1)} (its first line is #!${JSON.stringify(shebang).slice(1, -1)}), ${why}, so docker run fails.${crlf || ' Copy the interpreter in, use a base image that has it, or run a binary instead.'}`,
    },
  ];
  if (!interpreter) return missing('(no interpreter)', 'which names no interpreter');
  if (depth >= MAX_SCRIPT_DEPTH) return missing(interpreter, 'whose interpreters nest too deeply for the kernel');
  const interpreterPath = posix.resolve(image.cwd, interpreter);
  if (!image.tree.locate(interpreterPath, image.cwd)) return missing(interpreter, 'which is not in the runtime image');
  const findings = execFindings(interpreterPath, image, depth + 1, `the interpreter of ${script}`, mapped);
  if (findings.length > 0 || posix.basename(interpreter) !== 'env' || !argument) return findings;
  // env's own arguments: -S splits the rest; other options are not followed.
  const words = argument.startsWith('-S') ? argument.slice(2).trim().split(/\s+/) : argument.startsWith('-') ? [] : [argument];
  const command = words.find((w) => !w.includes('=') && !w.startsWith('-'));
  if (!command) return [];
  const found = image.lookup(command);
  if (!found) return missing(command, `which is on none of the image's PATH (${searchPath(image.config).join(':')})`);
  return execFindings(found, image, 0, `the program ${script} runs through env`, mapped).map((f) => ({
    ...f,
    code: f.code === 'MISSING_ENTRYPOINT' ? 'MISSING_INTERPRETER' : f.code,
  }));
}

function entrypointFindings(image: Image, mapped: Set<string>): Finding[] {
  const program = programOf(image.config);
  if (!program) {
    return [
      {
        code: 'MISSING_ENTRYPOINT',
        severity: 'error',
        path: '/',
        message: `The runtime image has no ENTRYPOINT and no CMD, so docker run fails with "No command specified". Add ENTRYPOINT ["/your-program"] to the runtime Dockerfile.`,
      },
    ];
  }
  const where = image.lookup(program);
  if (!where) {
    return [
      {
        code: 'MISSING_ENTRYPOINT',
        severity: 'error',
        path: program,
        message: `The image's ENTRYPOINT/CMD runs ${program}, which is not an executable file on the image's PATH (${searchPath(image.config).join(':')}), so docker run fails with "executable file not found in $PATH". Copy it in (check the COPY lines of the runtime Dockerfile), or fix the ENTRYPOINT.`,
      },
    ];
  }
  return execFindings(where, image, 0, "the image's ENTRYPOINT/CMD", mapped);
}

/** What would fail later in a file nothing runs or loads at start: warnings. */
function laterFindings(file: ImageFile, elf: ElfInfo, image: Image): Finding[] {
  if (!image.compatible(elf)) {
    // A foreign shared library nothing loads (prebuilt for several platforms, say) is no problem.
    if (elf.type !== 2 && !elf.interpreter) return [];
    return [
      {
        code: 'FOREIGN_ARCHITECTURE',
        severity: 'warning',
        path: file.path,
        message: `${file.path} is built for ${machineName(elf.machine)}, but the runtime image is for ${image.config.architecture}: running it later fails with "exec format error" (the entrypoint does not run it). Build it for ${image.config.architecture}, or leave it out.`,
      },
    ];
  }
  if (elf.interpreter) {
    const loader = image.tree.locate(elf.interpreter);
    if (!loader) {
      return [
        {
          code: 'MISSING_LOADER',
          severity: 'warning',
          path: file.path,
          message: `${file.path} is dynamically linked and needs the loader ${elf.interpreter}, which the runtime image does not have: running it later fails with "no such file or directory" (the entrypoint does not run it). Link it statically, copy the loader in, or leave it out.`,
        },
      ];
    }
    if (elf.type === 2 || !elf.soname) return loadFindings(file.path, file.path, elf, image, 'warning', undefined, new Set());
  }
  // A library: its own needs, searched as if the program loading it had no run path.
  const findings: Finding[] = [];
  const self: Loaded = { path: file.path, origin: posix.dirname(file.path), elf };
  const loaderFile = image.defaultLoader(elf);
  for (const name of elf.needed ?? []) {
    if (/^ld-linux|^ld64\.so|^ld-musl/.test(name)) continue;
    const search = findLibrary(name, self, self, image, loaderFile, false);
    if (!search.found)
      findings.push({ code: 'MISSING_LIBRARY', severity: 'warning', path: file.path, message: missingLibraryMessage(name, self, search, image, undefined) });
  }
  return findings;
}

/** Every finding for a runtime image, errors first. */
export function diagnose(files: readonly ImageFile[], config: ImageConfig): Finding[] {
  const image = new Image(files, config);
  const mapped = new Set<string>();
  const findings: Finding[] = [...entrypointFindings(image, mapped)];
  for (const file of files) {
    if (file.type !== 'file' || !file.elf || mapped.has(file.path)) continue;
    findings.push(...laterFindings(file, file.elf, image));
  }
  const seen = new Set<string>();
  return findings
    .filter((f) => {
      const key = `${f.severity} ${f.code} ${f.path} ${f.message}`;
      return !seen.has(key) && (seen.add(key), true);
    })
    .sort((a, b) => (a.severity === b.severity ? 0 : a.severity === 'error' ? -1 : 1));
}
