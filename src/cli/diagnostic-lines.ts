// The CLI's problems as compiler-style lines on stderr, `FILE:LINE: error CODE: message`, one per problem,
// placed by the same rules as the extension's Problems panel (src/extension/diagnostics/locate.ts). The
// `dockerception` task's problem matcher (package.json "problemMatchers") reads exactly this format.
import type { BuildResult, Finding, Pair, ProgressEvent } from '../core';
import { DockerceptionError } from '../core';
import { locateProblems, type Problem, type ProblemInput } from '../extension/diagnostics/locate';

/** The line format the problem matcher reads: 1-based line, severity, code, the message's first line. */
export function diagnosticLine(problem: Problem): string {
  return `${problem.file}:${problem.line + 1}: ${problem.severity} ${problem.code}: ${problem.message.split('\n')[0]}`;
}

export function diagnosticLines(input: ProblemInput): string[] {
  return locateProblems(input).map(diagnosticLine);
}

/**
 * Runs one pair's build, passing its events on to `print`, and writes its problems as lines to stderr:
 * the doctor's findings after a success, the failure (and findings seen before it) when it throws.
 */
export async function withDiagnosticLines(
  pair: Pair,
  print: (event: ProgressEvent) => void,
  build: (onEvent: (event: ProgressEvent) => void) => Promise<BuildResult>,
  write: (text: string) => void = (text) => process.stderr.write(text),
): Promise<BuildResult> {
  const findings: Finding[] = [];
  const onEvent = (event: ProgressEvent) => {
    if (event.type === 'finding') findings.push(event.finding);
    print(event);
  };
  let result: BuildResult;
  try {
    result = await build(onEvent);
  } catch (error) {
    if (error instanceof DockerceptionError && error.code !== 'CANCELLED') {
      const lines = diagnosticLines({ pair, findings, error: { code: error.code, message: error.message, phase: error.phase } });
      if (lines.length > 0) write(`\n${lines.join('\n')}\n`);
    }
    throw error;
  }
  const lines = diagnosticLines({ pair, findings: result.doctor, dockerfileSource: result.context.dockerfileSource });
  if (lines.length > 0) write(`\n${lines.join('\n')}\n`);
  return result;
}
