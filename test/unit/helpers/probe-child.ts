// Runs probeSysfs on a root given on the command line and prints the report with the uid it ran as:
// the unreadable-tree test runs it as an unprivileged user, since root ignores permission bits.
import { SysRoot } from '../../../src/backends/sysfs/fs.js';
import { probeSysfs } from '../../../src/backends/sysfs/probe.js';
import { silentLogger } from '../../../src/core/log.js';

const root = process.argv[2];
if (!root) throw new Error('usage: probe-child <root>');
probeSysfs(new SysRoot(root), silentLogger).then((report) => {
  process.stdout.write(JSON.stringify({ uid: process.getuid?.() ?? null, report }));
});
