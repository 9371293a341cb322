// The Problems panel: each build's failure and doctor findings on the line they are about (located by
// locate.ts), source "dockerception", the code of the finding or error; replaced by the pair's next build
// (a success without findings clears them). Quick Fixes where the fix is mechanical.
import { readFileSync } from 'node:fs';
import * as vscode from 'vscode';
import type { Pair } from '../../core';
import { runtimeDockerfileFor } from '../../core/runtime-dockerfile';
import { locateProblems, type Problem, type ProblemInput } from './locate';

export const DIAGNOSTIC_SOURCE = 'dockerception';

/** Dockerfile.run for a pair whose builder's tar is not known yet (the core's, for no entries). */
export const RUNTIME_DOCKERFILE_TEMPLATE = runtimeDockerfileFor();

export class PairDiagnostics implements vscode.Disposable, vscode.CodeActionProvider {
  static readonly providedCodeActionKinds = [vscode.CodeActionKind.QuickFix];
  private readonly collection = vscode.languages.createDiagnosticCollection(DIAGNOSTIC_SOURCE);
  /** The files each pair's last build put problems on. */
  private readonly filesOf = new Map<string, vscode.Uri[]>();
  /** The problem behind each diagnostic, by file, line and code (the diagnostics a Quick Fix gets are copies). */
  private readonly problems = new Map<string, { problem: Problem; pair: Pair }>();
  private readonly registration: vscode.Disposable;

  constructor() {
    this.registration = vscode.languages.registerCodeActionsProvider({ scheme: 'file', pattern: '**/Dockerfile*' }, this, {
      providedCodeActionKinds: PairDiagnostics.providedCodeActionKinds,
    });
  }

  /** Replaces the pair's problems with those of its latest build. */
  show(input: ProblemInput): Problem[] {
    const { pair } = input;
    for (const uri of this.filesOf.get(pair.dir) ?? []) {
      this.collection.delete(uri);
      for (const key of [...this.problems.keys()]) if (key.startsWith(`${uri.toString()}|`)) this.problems.delete(key);
    }
    const located = locateProblems(input);
    const byFile = new Map<string, vscode.Diagnostic[]>();
    for (const problem of located) {
      const diagnostic = new vscode.Diagnostic(
        new vscode.Range(problem.line, 0, problem.line, 10_000),
        problem.message,
        problem.severity === 'error' ? vscode.DiagnosticSeverity.Error : vscode.DiagnosticSeverity.Warning,
      );
      diagnostic.source = DIAGNOSTIC_SOURCE;
      diagnostic.code = problem.code;
      const list = byFile.get(problem.file) ?? [];
      list.push(diagnostic);
      byFile.set(problem.file, list);
      this.problems.set(keyOf(vscode.Uri.file(problem.file), problem.line, problem.code), { problem, pair });
    }
    const uris = [...byFile.keys()].map((file) => vscode.Uri.file(file));
    for (const uri of uris) this.collection.set(uri, byFile.get(uri.fsPath) ?? []);
    this.filesOf.set(pair.dir, uris);
    return located;
  }

  /** What the Problems panel holds for a file (for tests). */
  get(uri: vscode.Uri): readonly vscode.Diagnostic[] {
    return this.collection.get(uri) ?? [];
  }

  provideCodeActions(document: vscode.TextDocument, _range: vscode.Range, context: vscode.CodeActionContext): vscode.CodeAction[] {
    const actions: vscode.CodeAction[] = [];
    for (const diagnostic of context.diagnostics) {
      if (diagnostic.source !== DIAGNOSTIC_SOURCE) continue;
      const found = this.problems.get(keyOf(document.uri, diagnostic.range.start.line, String(diagnostic.code)));
      const action = found && quickFix(found.problem, found.pair);
      if (!action) continue;
      action.diagnostics = [diagnostic];
      action.isPreferred = true;
      actions.push(action);
    }
    return actions;
  }

  dispose(): void {
    this.registration.dispose();
    this.collection.dispose();
  }
}

const keyOf = (uri: vscode.Uri, line: number, code: string) => `${uri.toString()}|${line}|${code}`;

/** The Quick Fix for a problem, when its fix is mechanical. */
function quickFix(problem: Problem, pair: Pair): vscode.CodeAction | undefined {
  if (problem.fix === 'cgo-disabled') {
    const builder = vscode.workspace.textDocuments.find((d) => d.uri.fsPath === pair.builderDockerfile);
    const text = builder?.getText() ?? readText(pair.builderDockerfile);
    const lines = text.split(/\r?\n/);
    const at = lines.findIndex((line) => /^\s*RUN\b.*\bgo\s+build\b/i.test(line));
    if (at < 0) return undefined;
    const action = new vscode.CodeAction('Build a static Go binary: add ENV CGO_ENABLED=0 before go build', vscode.CodeActionKind.QuickFix);
    action.edit = new vscode.WorkspaceEdit();
    action.edit.insert(vscode.Uri.file(pair.builderDockerfile), new vscode.Position(at, 0), 'ENV CGO_ENABLED=0\n');
    return action;
  }
  if (problem.fix === 'create-runtime-dockerfile') {
    const action = new vscode.CodeAction(`Create ${pair.runtimeDockerfile.split(/[\\/]/).pop()} for ${pair.name}`, vscode.CodeActionKind.QuickFix);
    action.edit = new vscode.WorkspaceEdit();
    action.edit.createFile(vscode.Uri.file(pair.runtimeDockerfile), {
      ignoreIfExists: true,
      contents: new TextEncoder().encode(problem.content ?? RUNTIME_DOCKERFILE_TEMPLATE),
    });
    return action;
  }
  return undefined;
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}
