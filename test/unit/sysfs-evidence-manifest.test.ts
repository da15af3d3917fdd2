/**
 * The evidence manifest drives both the readers and `collect`: every path probe, regions and the
 * "in use" check of a region touch on a fixture tree must be in what collect records from that tree.
 */
import assert from 'node:assert/strict';
import { existsSync, lstatSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { x as extract } from 'tar';
import { ARCHIVE_TOP, packEvidence } from '../../src/backends/sysfs/collect-archive.js';
import { collectEvidence } from '../../src/backends/sysfs/collector.js';
import { listCxlRegions } from '../../src/backends/sysfs/cxl.js';
import { SysRoot } from '../../src/backends/sysfs/fs.js';
import { onlineBlocksInRange } from '../../src/backends/sysfs/memory.js';
import { probeSysfs } from '../../src/backends/sysfs/probe.js';
import { listRegions } from '../../src/backends/sysfs/regions.js';
import { silentLogger } from '../../src/core/log.js';
import { scratchFolders } from '../helpers/temp-trees.js';
import { FIXTURES } from './helpers/sysfs-fixture.js';
import { FIXTURE_TREES, TouchingRoot } from './helpers/touching-root.js';

const tempFolder = scratchFolders('memregion-manifest-');

const present = (file: string) => {
  try {
    lstatSync(file);
    return true;
  } catch {
    return false;
  }
};

describe('evidence manifest', () => {
  for (const tree of FIXTURE_TREES) {
    test(`${tree}: collect records every path the readers touch`, async () => {
      const root = path.join(FIXTURES, tree);
      const sys = new TouchingRoot(root);
      await probeSysfs(sys, silentLogger, { journal: async () => null });
      await listRegions(sys);
      for (const region of await listCxlRegions(sys)) {
        if (region.start !== null && region.size !== null)
          await onlineBlocksInRange(sys, region.start, region.size);
      }
      assert.ok(sys.touched.size > 10, 'the readers touched the tree');

      const { entries } = await collectEvidence(new SysRoot(root), 'test');
      const dir = tempFolder();
      const archive = path.join(dir, 'evidence.tar.gz');
      const { writeFileSync } = await import('node:fs');
      writeFileSync(archive, (await packEvidence(entries))!);
      await extract({ file: archive, cwd: dir });
      const unpacked = path.join(dir, ARCHIVE_TOP);
      // present(): a link the readers only readlink (driver) dangles in the archive, by design.
      const missing = [...sys.touched].filter(
        (p) => existsSync(path.join(root, p)) && !present(path.join(unpacked, p)),
      );
      assert.deepEqual(missing, [], `${tree}: touched by the readers but not collected`);
      // Links the readers read (driver, uport) stay links.
      for (const p of sys.touched) {
        const original = path.join(root, p);
        if (present(original) && lstatSync(original).isSymbolicLink())
          assert.ok(lstatSync(path.join(unpacked, p)).isSymbolicLink(), `${p} is a link in the archive too`);
      }
    });
  }
});
