/**
 * Lines written to stdout while a run goes on (`stress --json --interval`), with the pipe's back-pressure:
 * a line that stdout could not take at once gives a promise that resolves once it has (or stdout is
 * gone, or the run is stopped), for the run to wait on. Without it, a reader slower than the lines, or
 * one that did not read at all, grew the process's memory without bound.
 */
let drained: Promise<void> | null = null;

export function writeStdoutLine(line: string, signal: AbortSignal): Promise<void> | undefined {
  if (process.stdout.write(`${line}\n`) || signal.aborted) return undefined;
  drained ??= new Promise<void>((resolve) => {
    const done = () => {
      process.stdout.off('drain', done);
      process.stdout.off('close', done);
      process.stdout.off('error', done);
      signal.removeEventListener('abort', done);
      drained = null;
      resolve();
    };
    process.stdout.on('drain', done);
    process.stdout.on('close', done);
    process.stdout.on('error', done);
    signal.addEventListener('abort', done, { once: true });
  });
  return drained;
}
