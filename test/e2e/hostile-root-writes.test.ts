/**
 * Session 6 hostile audit: the attributes the sysfs backend writes, in a `--root` tree that is not what
 * sysfs is. Every sysfs attribute is a regular file that a write never creates, yet the backend wrote
 * with `echo >` semantics: a FIFO as `memN/security/sanitize` blocked the open for ever (`erase --yes
 * --timeout 2s` hung until killed), and a device node there would have taken the write, as root. The
 * second test guards the other half of the rule: a missing attribute is not created.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { assertOneErrorLine, cli, describeResult } from '../helpers/cli.js';
import { copyFixture } from '../unit/helpers/sysfs-fixture.js';

describe('hostile --root attributes to write (session 6)', () => {
  test('a FIFO where an erase writes is refused at once (74), not waited on', async () => {
    const fixture = copyFixture('cxl');
    try {
      const sanitize = path.join(fixture.root, 'sys/bus/cxl/devices/mem1/security/sanitize');
      rmSync(sanitize);
      execFileSync('mkfifo', [sanitize], { timeout: 10_000 });
      const r = await cli(['--root', fixture.root, 'erase', 'mem1', '--yes', '--force', '--timeout', '2s'], {
        timeoutMs: 20_000,
      });
      assert.equal(r.exitCode, 74, describeResult(r));
      assertOneErrorLine(r, /sanitize of mem1 failed \(not a regular file\)/);
    } finally {
      fixture.cleanup();
    }
  });

  test('a missing bind attribute is not created by --enable', async () => {
    const fixture = copyFixture('cxl');
    try {
      const bind = path.join(fixture.root, 'sys/bus/cxl/drivers/cxl_region/bind');
      rmSync(bind);
      const r = await cli(
        ['--root', fixture.root, 'invalidate', '--region', 'region1', '--yes', '--force', '--enable'],
        {
          timeoutMs: 20_000,
        },
      );
      assert.match(r.stdout, /binding cxl_region failed \(ENOENT\)/, describeResult(r));
      assert.equal(existsSync(bind), false, 'bind was created');
      assert.equal(
        readFileSync(path.join(fixture.root, 'sys/bus/cxl/devices/region1/commit'), 'utf8'),
        '1\n',
        'the commit itself is still written',
      );
    } finally {
      fixture.cleanup();
    }
  });
});

describe('hostile --root tracefs (session 6)', () => {
  test('a FIFO as kprobe_events: trace ends with one line instead of hanging deaf to signals', async () => {
    const fixture = copyFixture('cxl');
    try {
      const events = path.join(fixture.root, 'sys/kernel/tracing/kprobe_events');
      rmSync(events);
      execFileSync('mkfifo', [events], { timeout: 10_000 });
      const r = await cli(['--root', fixture.root, 'trace', '--duration', '1s'], { timeoutMs: 20_000 });
      assert.notEqual(r.exitCode, 0, describeResult(r));
      assertOneErrorLine(r, /not a regular file/);
    } finally {
      fixture.cleanup();
    }
  });
});
