// A Dockerfile as stages, for moving lines between a pair and one multi-stage Dockerfile: where each stage
// starts and ends in the text, what it is called and built FROM, and its COPY/ADD lines as flags, sources
// and destination. Parsed with dockerfile-ast (as the rest of the core); the text of lines that are not
// changed is kept as written.
import { DockerfileParser, type Instruction } from 'dockerfile-ast';
import { expandVariables } from '../dockerfile-refs';

export interface Flag {
  name: string;
  value: string | null;
  /** As written, e.g. `--chown=1000:1000`. */
  text: string;
}

export interface CopyLine {
  keyword: 'COPY' | 'ADD';
  flags: Flag[];
  /** Sources and destination as written (quotes of the JSON form removed). */
  sources: string[];
  dest: string;
  json: boolean;
}

export interface StageInstruction {
  keyword: string;
  /** 0-based, inclusive. */
  startLine: number;
  endLine: number;
  /** The instruction's lines as written. */
  text: string;
  flags: Flag[];
  args: string[];
  copy?: CopyLine;
}

export interface Stage {
  index: number;
  /** The name after AS, as written (undefined for an unnamed stage). */
  name?: string;
  /** The FROM image as written (may hold ${VARS}). */
  image: string;
  /** FROM's flags as written (e.g. `--platform=$BUILDPLATFORM`). */
  fromFlags: string[];
  /** The stage's lines: from its leading comments to the line before the next stage's. */
  startLine: number;
  fromLine: number;
  endLine: number;
  instructions: StageInstruction[];
}

export interface ParsedDockerfile {
  lines: string[];
  /** Lines before the first stage: parser directives, comments, global ARGs. */
  preambleEnd: number;
  /** The global ARG instructions (before the first FROM), as written. */
  globalArgs: StageInstruction[];
  stages: Stage[];
}

function flagsOf(instruction: Instruction, lines: string[]): Flag[] {
  if (!('getFlags' in instruction)) return [];
  const flags = (
    instruction as unknown as {
      getFlags(): Array<{
        getName(): string;
        getValue(): string | null;
        getRange(): { start: { line: number; character: number }; end: { line: number; character: number } };
      }>;
    }
  ).getFlags();
  return flags.map((flag) => {
    const range = flag.getRange();
    const text =
      range.start.line === range.end.line
        ? lines[range.start.line].slice(range.start.character, range.end.character)
        : `--${flag.getName()}=${flag.getValue() ?? ''}`;
    return { name: flag.getName(), value: flag.getValue(), text };
  });
}

/** COPY/ADD sources and destination: the JSON form read as JSON, the shell form as words. */
function copyOf(instruction: Instruction, keyword: 'COPY' | 'ADD', flags: Flag[]): CopyLine {
  const raw = (instruction as unknown as { getRawArgumentsContent(): string | null }).getRawArgumentsContent?.() ?? '';
  const trimmed = raw.trim();
  let words: string[] | undefined;
  let json = false;
  if (trimmed.startsWith('[')) {
    try {
      const parsed: unknown = JSON.parse(trimmed);
      if (Array.isArray(parsed) && parsed.every((word) => typeof word === 'string')) {
        words = parsed as string[];
        json = true;
      }
    } catch {
      // not JSON: the engine reads it as words too
    }
  }
  words ??= instruction
    .getArguments()
    .map((a) => a.getValue())
    .filter((word) => !word.startsWith('--') || !flags.some((f) => f.text === word));
  return { keyword, flags, sources: words.slice(0, -1), dest: words.at(-1) ?? '', json };
}

export function parseDockerfile(text: string): ParsedDockerfile {
  const lines = text.split('\n');
  const parsed = DockerfileParser.parse(text);
  const stages: Stage[] = [];
  const globalArgs: StageInstruction[] = [];
  for (const instruction of parsed.getInstructions()) {
    const keyword = instruction.getKeyword();
    const range = instruction.getRange();
    const flags = flagsOf(instruction, lines);
    const item: StageInstruction = {
      keyword,
      startLine: range.start.line,
      endLine: range.end.line,
      text: lines.slice(range.start.line, range.end.line + 1).join('\n'),
      flags,
      args: instruction.getArguments().map((a) => a.getValue()),
    };
    if (keyword === 'COPY' || keyword === 'ADD') item.copy = copyOf(instruction, keyword, flags);
    if (keyword === 'FROM') {
      const args = item.args.filter((a) => !a.startsWith('--'));
      const as = args[1]?.toLowerCase() === 'as' ? args[2] : undefined;
      stages.push({
        index: stages.length,
        name: as,
        image: args[0] ?? '',
        fromFlags: item.args.filter((a) => a.startsWith('--')),
        startLine: range.start.line,
        fromLine: range.start.line,
        endLine: lines.length - 1,
        instructions: [],
      });
      continue;
    }
    if (stages.length === 0) {
      if (keyword === 'ARG') globalArgs.push(item);
      continue;
    }
    stages.at(-1)?.instructions.push(item);
  }
  // A stage's own comments are those right above its FROM (not the first stage's: they describe the file).
  for (let i = 1; i < stages.length; i++) {
    let start = stages[i].fromLine;
    while (start - 1 > (stages[i - 1].instructions.at(-1)?.endLine ?? stages[i - 1].fromLine) && /^\s*#/.test(lines[start - 1])) start--;
    stages[i].startLine = start;
    stages[i - 1].endLine = start - 1;
  }
  return { lines, preambleEnd: stages[0]?.startLine ?? lines.length, globalArgs, stages };
}

/** The stage a `FROM x` or `--from=x` names: by name (any case) or by index; undefined for an image. */
export function stageNamed(stages: readonly Stage[], ref: string, before = stages.length): Stage | undefined {
  const lower = ref.toLowerCase();
  if (/^\d+$/.test(ref)) {
    const index = Number(ref);
    return index < before ? stages[index] : undefined;
  }
  return stages.slice(0, before).find((stage) => stage.name?.toLowerCase() === lower);
}

export function flagValue(flags: readonly Flag[], name: string): string | undefined {
  const flag = flags.find((f) => f.name === name);
  return flag ? (flag.value ?? '') : undefined;
}

/** One shell word for a Dockerfile line: quoted only when it has to be. */
export function shellWord(word: string): string {
  if (word !== '' && /^[A-Za-z0-9_@%+=:,./-]+$/.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** A COPY/ADD line in the form it was written in (JSON form stays JSON). */
export function formatCopy(keyword: string, flags: readonly string[], sources: readonly string[], dest: string, json: boolean): string {
  const head = [keyword, ...flags].join(' ');
  if (json) return `${head} ${JSON.stringify([...sources, dest]).replace(/","/g, '", "')}`;
  return `${head} ${[...sources, dest].join(' ')}`;
}

/** The variables in scope at each instruction of a stage, from its ARG and ENV lines (those the
 * Dockerfile sets; the base image's own ENV is not known without an engine). */
export function stageVariables(
  stage: Stage,
  globals: ReadonlyMap<string, string>,
  buildArgs: Readonly<Record<string, string>> = {},
): Map<number, Map<string, string>> {
  const scopes = new Map<number, Map<string, string>>();
  const vars = new Map<string, string>();
  for (const instruction of stage.instructions) {
    scopes.set(instruction.startLine, new Map(vars));
    if (instruction.keyword === 'ARG') {
      for (const text of instruction.args) {
        const eq = text.indexOf('=');
        const name = eq < 0 ? text : text.slice(0, eq);
        if (Object.prototype.hasOwnProperty.call(buildArgs, name)) vars.set(name, buildArgs[name]);
        else if (eq >= 0) vars.set(name, expandVariables(text.slice(eq + 1), vars));
        else if (globals.has(name)) vars.set(name, globals.get(name) ?? '');
      }
    } else if (instruction.keyword === 'ENV') {
      const args = instruction.args;
      if (args.length >= 2 && !args[0].includes('=')) vars.set(args[0], expandVariables(args.slice(1).join(' '), vars));
      else
        for (const pair of args) {
          const eq = pair.indexOf('=');
          if (eq > 0) vars.set(pair.slice(0, eq), expandVariables(pair.slice(eq + 1), vars));
        }
    }
  }
  return scopes;
}

/** The global ARGs (before the first FROM) with their defaults, build args overriding. */
export function globalVariables(parsed: ParsedDockerfile, buildArgs: Readonly<Record<string, string>> = {}): Map<string, string> {
  const vars = new Map<string, string>();
  for (const instruction of parsed.globalArgs) {
    for (const text of instruction.args) {
      const eq = text.indexOf('=');
      const name = eq < 0 ? text : text.slice(0, eq);
      if (Object.prototype.hasOwnProperty.call(buildArgs, name)) vars.set(name, buildArgs[name]);
      else if (eq >= 0) vars.set(name, expandVariables(text.slice(eq + 1), vars));
      else vars.set(name, '');
    }
  }
  return vars;
}
