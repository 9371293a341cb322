// The images a Dockerfile reads from outside itself: FROM, COPY/ADD --from=, RUN --mount=from= and a
// `# syntax=` frontend, with ARG values resolved as the engine resolves them (global ARGs before the first
// FROM for FROM lines; build args override only declared ARGs). Stage names and `scratch` are not images.
// Used for what makes a build "up to date" (each image's id is an input), which registries need
// credentials, and which pairs a pair depends on.
import { DockerfileParser, type Instruction } from 'dockerfile-ast';

export type ImageReferenceKind = 'from' | 'copy-from' | 'mount-from' | 'syntax';

export interface ImageReference {
  /** The image as written, with variables resolved (e.g. 'golang:1.19', 'registry:5000/team/base'). */
  ref: string;
  kind: ImageReferenceKind;
  /** 0-based line of the instruction (or directive) that names it. */
  line: number;
}

/**
 * A word as the engine's shell lexer reads it in FROM: 'single quotes' literal, "double quotes" expanded,
 * quotes removed, a backslash escaping the next character, and $VAR, ${VAR}, ${VAR:-word}, ${VAR:+word}
 * (word itself expanded) from `vars`; an unset variable is empty. test/unit/dockerfile-refs.test.ts holds
 * these rules to what the engine builds (both builders).
 */
export function expandVariables(text: string, vars: ReadonlyMap<string, string>): string {
  let out = '';
  let i = 0;
  const variable = (): string => {
    // At '$'.
    if (text[i + 1] === '{') {
      const nameMatch = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i + 2));
      if (!nameMatch) {
        i += 1;
        return '$';
      }
      const name = nameMatch[0];
      let at = i + 2 + name.length;
      let word: string | undefined;
      let op = '';
      if (text[at] === ':' && (text[at + 1] === '-' || text[at + 1] === '+')) {
        op = text[at + 1];
        at += 2;
        let depth = 0;
        const start = at;
        for (; at < text.length; at++) {
          if (text[at] === '$' && text[at + 1] === '{') depth++;
          else if (text[at] === '}') {
            if (depth === 0) break;
            depth--;
          }
        }
        word = text.slice(start, at);
      }
      i = at + 1; // past '}'
      const value = vars.get(name) ?? '';
      if (op === '-') return value ? value : expandVariables(word ?? '', vars);
      if (op === '+') return value ? expandVariables(word ?? '', vars) : '';
      return value;
    }
    const bare = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i + 1));
    if (!bare) {
      i += 1;
      return '$';
    }
    i += 1 + bare[0].length;
    return vars.get(bare[0]) ?? '';
  };
  while (i < text.length) {
    const c = text[i];
    if (c === '\\' && i + 1 < text.length) {
      out += text[i + 1];
      i += 2;
    } else if (c === "'") {
      const end = text.indexOf("'", i + 1);
      out += end < 0 ? text.slice(i + 1) : text.slice(i + 1, end);
      i = end < 0 ? text.length : end + 1;
    } else if (c === '"') {
      i++;
      while (i < text.length && text[i] !== '"') {
        if (text[i] === '\\' && i + 1 < text.length) {
          out += text[i + 1];
          i += 2;
        } else if (text[i] === '$') out += variable();
        else out += text[i++];
      }
      i++;
    } else if (c === '$') {
      out += variable();
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

/** The value of an ARG line `NAME[=default]`, overridden by a build arg of that name. */
function declare(vars: Map<string, string>, instruction: Instruction, buildArgs: Readonly<Record<string, string>>): void {
  for (const argument of instruction.getArguments()) {
    const text = argument.getValue();
    const eq = text.indexOf('=');
    const name = eq < 0 ? text : text.slice(0, eq);
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) continue;
    if (Object.prototype.hasOwnProperty.call(buildArgs, name)) vars.set(name, buildArgs[name]);
    else if (eq >= 0) vars.set(name, expandVariables(text.slice(eq + 1), vars));
    else if (!vars.has(name)) vars.set(name, '');
  }
}

/** The `from=` of a RUN --mount value such as `type=bind,from=img,source=/x`. */
function mountFrom(value: string): string | undefined {
  for (const part of value.split(',')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim().toLowerCase() === 'from') return part.slice(eq + 1).trim();
  }
  return undefined;
}

/**
 * Every image the Dockerfile reads from outside itself, in order, FROM lines resolved with the global ARGs
 * (those before the first FROM; a build arg overrides only a declared one) and `automatic` (BuildKit's
 * TARGETARCH and the like, in scope without a declaration). `--from` and `from=` are taken as written:
 * neither builder expands variables there.
 */
export function imageReferences(
  text: string,
  buildArgs: Readonly<Record<string, string>> = {},
  automatic: Readonly<Record<string, string>> = {},
): ImageReference[] {
  const dockerfile = DockerfileParser.parse(text);
  const found: ImageReference[] = [];
  for (const directive of dockerfile.getDirectives()) {
    const value = directive.getValue().trim();
    if (directive.getName().toLowerCase() === 'syntax' && value) found.push({ ref: value, kind: 'syntax', line: directive.getRange().start.line });
  }
  const globals = new Map<string, string>(Object.entries(automatic));
  const stages: string[] = [];
  let seenFrom = false;
  const isStage = (name: string) => stages.includes(name.toLowerCase()) || (/^\d+$/.test(name) && Number(name) < stages.length);
  const external = (ref: string, kind: ImageReferenceKind, line: number) => {
    if (!ref || ref.toLowerCase() === 'scratch' || isStage(ref)) return;
    found.push({ ref, kind, line });
  };
  for (const instruction of dockerfile.getInstructions()) {
    const keyword = instruction.getKeyword();
    const line = instruction.getRange().start.line;
    if (keyword === 'ARG') {
      if (!seenFrom) declare(globals, instruction, buildArgs);
      continue;
    }
    if (keyword === 'FROM') {
      seenFrom = true;
      const args = instruction.getArguments().map((a) => a.getValue());
      const imageAt = args.findIndex((a) => !a.startsWith('--'));
      const image = imageAt >= 0 ? expandVariables(args[imageAt], globals) : '';
      external(image, 'from', line);
      const as = imageAt >= 0 && args[imageAt + 1]?.toLowerCase() === 'as' ? args[imageAt + 2] : undefined;
      stages.push((as ?? `#${stages.length}`).toLowerCase());
      continue;
    }
    const flags =
      'getFlags' in instruction ? (instruction as unknown as { getFlags(): Array<{ getName(): string; getValue(): string | null }> }).getFlags() : [];
    for (const flag of flags) {
      const value = flag.getValue();
      if (value === null) continue;
      if ((keyword === 'COPY' || keyword === 'ADD') && flag.getName() === 'from') external(value, 'copy-from', line);
      if (keyword === 'RUN' && flag.getName() === 'mount') {
        const from = mountFrom(value);
        if (from !== undefined) external(from, 'mount-from', line);
      }
    }
  }
  return found;
}

/** BuildKit's automatic platform ARGs (TARGETARCH …) for an engine's OS and architecture. */
export function platformArgs(os: string, arch: string, variant = ''): Record<string, string> {
  const platform = [os, arch, variant].filter(Boolean).join('/');
  return {
    TARGETPLATFORM: platform,
    TARGETOS: os,
    TARGETARCH: arch,
    TARGETVARIANT: variant,
    BUILDPLATFORM: platform,
    BUILDOS: os,
    BUILDARCH: arch,
    BUILDVARIANT: variant,
  };
}

/** The registry an image reference is pulled from, as the docker CLI normalises names ('docker.io' for Docker Hub). */
export function registryOf(ref: string): string {
  const slash = ref.indexOf('/');
  if (slash < 0) return 'docker.io';
  const first = ref.slice(0, slash);
  return first.includes('.') || first.includes(':') || first === 'localhost' ? first : 'docker.io';
}
