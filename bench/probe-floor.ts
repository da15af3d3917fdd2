// Child of the probe bench: the I/O floor of `memregion probe`. Reads every evidence file of the manifest
// that exists under the root (argv[2], default /) the cheapest way Node can, non-blocking and whole, and
// lists the evidence directories: what `cat` of the same files costs, plus node's own start-up.
import { closeSync, constants, openSync, readdirSync, readSync } from 'node:fs';
import path from 'node:path';
import { EVIDENCE } from '../src/backends/sysfs/evidence-manifest.js';

const root = process.argv[2] ?? '/';
const buffer = Buffer.allocUnsafe(256 * 1024);
let bytes = 0;
for (const item of EVIDENCE) {
  const file = path.join(root, item.path);
  if (item.kind === 'tree') {
    try {
      readdirSync(file);
    } catch {}
    continue;
  }
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch {
    continue;
  }
  try {
    for (;;) {
      const n = readSync(fd, buffer, 0, buffer.length, null);
      if (n === 0) break;
      bytes += n;
    }
  } catch {
    // EAGAIN: the end of the kmsg ring; anything else: as unreadable as for the probe.
  } finally {
    closeSync(fd);
  }
}
process.stdout.write(`${bytes}\n`);
