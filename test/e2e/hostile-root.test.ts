/**
 * Fuzz finding F5 (issue 7): a --root tree whose kernel files are devices that never end or FIFOs that
 * never get a writer cannot stall a run: every kernel file is read non-blocking and bounded.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { execa } from 'execa';
import { cli, describeResult, parseJson } from '../helpers/cli.js';
import { copyFixture } from '../unit/helpers/sysfs-fixture.js';

describe('hostile --root trees (fuzz finding F5)', () => {
  test('dev/kmsg and proc/iomem are /dev/zero clones, proc/kallsyms a FIFO: probe and regions still end', async () => {
    const fixture = copyFixture('cxl');
    try {
      const at = (relative: string) => path.join(fixture.root, relative);
      for (const relative of ['dev/kmsg', 'proc/iomem']) {
        rmSync(at(relative), { force: true });
        await execa('mknod', [at(relative), 'c', '1', '5']);
      }
      rmSync(at('proc/kallsyms'), { force: true });
      await execa('mkfifo', [at('proc/kallsyms')]);
      for (const command of ['probe', 'regions']) {
        const r = await cli(['--root', fixture.root, '--json', command], { timeoutMs: 20_000 });
        assert.ok(r.exitCode === 0 || r.exitCode === 69, describeResult(r));
        assert.equal(typeof parseJson(r), 'object');
      }
    } finally {
      fixture.cleanup();
    }
  });
});
