/** The CLI command table contract: each command declares its options and usage; main dispatches. */
import type { ParseArgsConfig } from 'node:util';

export interface CommandContext {
  signal: AbortSignal;
  stdout(line: string): void;
  stderr(line: string): void;
}

export interface ParsedArgs {
  values: Record<string, string | boolean | (string | boolean)[] | undefined>;
  positionals: string[];
}

export interface Command {
  name: string;
  summary: string;
  usage: string;
  options: NonNullable<ParseArgsConfig['options']>;
  run(args: ParsedArgs, ctx: CommandContext): Promise<number>;
}

/** Bad command line: printed with the command's usage, exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export function intOption(v: unknown, name: string, dflt: number, min: number): number {
  if (v === undefined) return dflt;
  const s = String(v);
  if (!/^\d+$/.test(s) || Number(s) < min) throw new UsageError(`--${name} must be an integer ≥ ${min}, got "${s}"`);
  return Number(s);
}
