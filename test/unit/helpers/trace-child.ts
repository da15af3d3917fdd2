/**
 * Runs a trace session on a fixture tree in its own process, so that a test can send it signals:
 * `node --import tsx trace-child.ts <root> <group> [exit]`. Prints the report as JSON on stdout.
 * With `exit`, the process calls process.exit(7) in the middle of the session (as a second Ctrl-C does).
 */
import { SysRoot } from '../../../src/backends/sysfs/fs.js';
import { runTrace } from '../../../src/backends/sysfs/trace-run.js';
import { silentLogger } from '../../../src/core/log.js';
import { FakeKernelTracefs } from './fake-tracefs.js';

const [root, group, mode] = process.argv.slice(2) as [string, string, string | undefined];
const tracefs = new FakeKernelTracefs(new SysRoot(root));
if (mode === 'exit') setTimeout(() => process.exit(7), 400);
const report = await runTrace(
  tracefs.sys,
  silentLogger,
  { signal: new AbortController().signal },
  { target: { tracefs, providers: [], warnings: [] }, group, pollMs: 20 },
);
process.stdout.write(`${JSON.stringify(report)}\n`);
