/** Node CLI entry (`etegrec <command> …`): a command table; later stages add commands here. */
import { parseArgs } from 'node:util';
import { formatStudioError, StudioError, toStudioErrorInfo } from '../core/errors.ts';
import { UsageError, type Command, type CommandContext } from './command.ts';
import { prepareCommand } from './commands/prepare.ts';
import { rqvaeCommand } from './rqvae.ts';
import { sasrecCommand } from './sasrec.ts';
import { trainCommand } from './train.ts';
import { pipelineCommand } from './pipeline.ts';
import { grpoCommand } from './grpo.ts';
import { evaluateCommand } from './evaluate.ts';
import { ablateCommand } from './ablate.ts';
import { exportReferenceCommand } from './exportReference.ts';

const TERMINATING = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

export const COMMANDS: Command[] = [prepareCommand, sasrecCommand, rqvaeCommand, trainCommand, pipelineCommand, grpoCommand, evaluateCommand, ablateCommand, exportReferenceCommand];

export function usage(): string {
  const w = Math.max(...COMMANDS.map((c) => c.name.length));
  return `Usage: etegrec <command> [options]

Commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(w)}  ${c.summary}`).join('\n')}

Run "etegrec <command> --help" for the options of a command.
`;
}

export interface MainIO {
  stdout(text: string): void;
  stderr(text: string): void;
}

const defaultIO: MainIO = {
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
};

/** Runs the CLI; returns the exit code (0 ok, 1 failure, 2 usage, 130 interrupted). */
export async function main(argv: string[], io: MainIO = defaultIO, signal?: AbortSignal): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '-h' || name === '--help' || name === 'help') {
    const target = name === 'help' ? COMMANDS.find((c) => c.name === rest[0]) : undefined;
    if (name === undefined) { io.stderr(usage()); return 2; }
    io.stdout(target ? target.usage : usage());
    return 0;
  }
  const cmd = COMMANDS.find((c) => c.name === name);
  if (!cmd) {
    io.stderr(`etegrec: unknown command "${name}"\n\n${usage()}`);
    return 2;
  }
  if (rest.includes('-h') || rest.includes('--help')) {
    io.stdout(cmd.usage);
    return 0;
  }
  let parsed;
  try {
    parsed = parseArgs({ args: rest, options: cmd.options, allowPositionals: true, strict: true });
  } catch (e) {
    io.stderr(`etegrec ${cmd.name}: ${(e as Error).message}\n\n${cmd.usage}`);
    return 2;
  }
  const ac = new AbortController();
  const onSig = () => ac.abort();
  signal?.addEventListener('abort', onSig);
  // SIGTERM and SIGHUP cancel like Ctrl-C: the staged output is removed, nothing is half-written
  for (const s of TERMINATING) process.once(s, onSig);
  const ctx: CommandContext = {
    signal: ac.signal,
    stdout: (l) => io.stdout(l + '\n'),
    stderr: (l) => io.stderr(l + '\n'),
  };
  try {
    return await cmd.run(parsed as Parameters<Command['run']>[0], ctx);
  } catch (e) {
    if (e instanceof UsageError) {
      io.stderr(`etegrec ${cmd.name}: ${e.message}\n\n${cmd.usage}`);
      return 2;
    }
    const info = toStudioErrorInfo(e);
    if (info.code === 'cancelled' || ac.signal.aborted) {
      io.stderr(`etegrec ${cmd.name}: cancelled; nothing was written\n`);
      return 130;
    }
    io.stderr(`etegrec ${cmd.name}: error: ${e instanceof StudioError ? e.message : formatStudioError(info)}\n`);
    if (info.code === 'internal' && e instanceof Error && e.stack && process.env.ETEGREC_DEBUG) io.stderr(e.stack + '\n');
    return 1;
  } finally {
    for (const s of TERMINATING) process.removeListener(s, onSig);
    signal?.removeEventListener('abort', onSig);
  }
}
