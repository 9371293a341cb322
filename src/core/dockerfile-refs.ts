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
 * Expands $VAR, ${VAR}, ${VAR:-word} and ${VAR:+word} (the forms Dockerfiles take in FROM and flags) from
 * `vars`; an unset variable is empty. A backslash escapes `$`.
 */
export function expandVariables(text: string, vars: ReadonlyMap<string, string>): string {
  return text.replace(/\\\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::([-+])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (match, braced, op, word, bare) => {
    if (match === '\\$') return '$';
    const name = (braced ?? bare) as string;
    const value = vars.get(name);
    if (op === '-') return value ? value : expandVariables(word as string, vars);
    if (op === '+') return value ? expandVariables(word as string, vars) : '';
    return value ?? '';
  });
}

/** The value of an ARG line `NAME[=default]`, overridden by a build arg of that name. */
function declare(vars: Map<string, string>, instruction: Instruction, buildArgs: Readonly<Record<string, string>>): void {
  for (const argument of instruction.getArguments()) {
    const text = argument.getValue();
    const eq = text.indexOf('=');
    const name = eq < 0 ? text : text.slice(0, eq);
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) continue;
    if (Object.prototype.hasOwnProperty.call(buildArgs, name)) vars.set(name, buildArgs[name]);
    else if (eq >= 0) vars.set(name, expandVariables(stripQuotes(text.slice(eq + 1)), vars));
    else if (!vars.has(name)) vars.set(name, '');
  }
}

function stripQuotes(value: string): string {
  return /^(["']).*\1$/s.test(value) ? value.slice(1, -1) : value;
}

/** The `from=` of a RUN --mount value such as `type=bind,from=img,source=/x`. */
function mountFrom(value: string): string | undefined {
  for (const part of value.split(',')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim().toLowerCase() === 'from') return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** Every image the Dockerfile reads from outside itself, in order, variables resolved with `buildArgs`. */
export function imageReferences(text: string, buildArgs: Readonly<Record<string, string>> = {}): ImageReference[] {
  const dockerfile = DockerfileParser.parse(text);
  const found: ImageReference[] = [];
  for (const directive of dockerfile.getDirectives()) {
    const value = directive.getValue().trim();
    if (directive.getName().toLowerCase() === 'syntax' && value) found.push({ ref: value, kind: 'syntax', line: directive.getRange().start.line });
  }
  const globals = new Map<string, string>();
  let stageVars = new Map<string, string>();
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
      else {
        // Inside a stage, `ARG NAME` without a value takes the global's default.
        for (const argument of instruction.getArguments()) {
          const name = argument.getValue().split('=')[0];
          if (!argument.getValue().includes('=') && globals.has(name) && !Object.prototype.hasOwnProperty.call(buildArgs, name)) {
            stageVars.set(name, globals.get(name) as string);
          }
        }
        declare(stageVars, instruction, buildArgs);
      }
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
      stageVars = new Map();
      continue;
    }
    const vars = stageVars;
    const flags =
      'getFlags' in instruction ? (instruction as unknown as { getFlags(): Array<{ getName(): string; getValue(): string | null }> }).getFlags() : [];
    for (const flag of flags) {
      const value = flag.getValue();
      if (value === null) continue;
      if ((keyword === 'COPY' || keyword === 'ADD') && flag.getName() === 'from') external(expandVariables(value, vars), 'copy-from', line);
      if (keyword === 'RUN' && flag.getName() === 'mount') {
        const from = mountFrom(value);
        if (from !== undefined) external(expandVariables(from, vars), 'mount-from', line);
      }
    }
  }
  return found;
}

/** The registry an image reference is pulled from, as the docker CLI normalises names ('docker.io' for Docker Hub). */
export function registryOf(ref: string): string {
  const slash = ref.indexOf('/');
  if (slash < 0) return 'docker.io';
  const first = ref.slice(0, slash);
  return first.includes('.') || first.includes(':') || first === 'localhost' ? first : 'docker.io';
}
