// Writes stages back out as text: FROM lines and stage references renamed, chosen instructions replaced,
// every other line kept as written.
import { formatCopy, stageNamed, type ParsedDockerfile, type Stage, type StageInstruction } from './dockerfile';

/** What to put in place of an instruction (its lines), or undefined to keep it. */
export type Rewrite = (instruction: StageInstruction, stage: Stage) => string | undefined;

/** `from=NAME` inside a RUN --mount value, renamed. */
function renameMount(text: string, rename: (ref: string) => string | undefined): string {
  return text.replace(/(^|[=,])from=([^,\s]+)/g, (whole, lead: string, ref: string) => {
    const renamed = rename(ref);
    return renamed === undefined ? whole : `${lead}from=${renamed}`;
  });
}

/**
 * The text of `indices`' stages of `parsed`, each FROM named `names.get(index)`, references to stages
 * (FROM, COPY/ADD --from, RUN --mount from=) renamed the same way.
 */
export function renderStages(parsed: ParsedDockerfile, indices: readonly number[], names: ReadonlyMap<number, string>, rewrite?: Rewrite): string {
  const out: string[] = [];
  for (const index of indices) {
    const stage = parsed.stages[index];
    const rename = (ref: string) => {
      const target = stageNamed(parsed.stages, ref, stage.index);
      return target ? names.get(target.index) : undefined;
    };
    const replaced = new Map<number, { end: number; text: string }>();
    for (const instruction of stage.instructions) {
      let text = rewrite?.(instruction, stage);
      if (text === undefined && instruction.copy && instruction.flags.some((f) => f.name === 'from' && f.value && rename(f.value))) {
        const { copy } = instruction;
        const flags = copy.flags.map((f) => (f.name === 'from' && f.value ? `--from=${rename(f.value) ?? f.value}` : f.text));
        text = formatCopy(copy.keyword, flags, copy.sources, copy.dest, copy.json);
      }
      if (text === undefined && instruction.keyword === 'RUN' && instruction.flags.some((f) => f.name === 'mount' && /(^|,)from=/.test(f.value ?? ''))) {
        text = instruction.text;
        for (const flag of instruction.flags) if (flag.name === 'mount') text = text.replace(flag.text, renameMount(flag.text, rename));
      }
      if (text !== undefined) replaced.set(instruction.startLine, { end: instruction.endLine, text });
    }
    for (let line = stage.startLine; line <= stage.endLine; line++) {
      if (line === stage.fromLine) {
        const image = rename(stage.image) ?? stage.image;
        out.push(['FROM', ...stage.fromFlags, image, 'AS', names.get(index) ?? `stage-${index}`].join(' '));
        // A FROM continued over several lines: its other lines are part of it.
        while (line + 1 <= stage.endLine && /\\\s*$/.test(parsed.lines[line])) line++;
        continue;
      }
      const swap = replaced.get(line);
      if (swap) {
        out.push(swap.text);
        line = swap.end;
        continue;
      }
      out.push(parsed.lines[line]);
    }
  }
  // No run of blank lines at the end of a part: the parts are joined with one.
  while (out.length > 0 && out.at(-1)?.trim() === '') out.pop();
  return out.join('\n');
}
