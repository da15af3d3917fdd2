import assert from 'node:assert/strict';
import { renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { type EraseDeps, eraseMemdev } from '../../src/backends/sysfs/erase.js';
import type { Verdict } from '../../src/backends/types.js';
import { silentLogger } from '../../src/core/log.js';
import { fixtureEachTest } from '../helpers/temp-trees.js';
import { errnoError } from './helpers/recording-root.js';
import { eraseOptions, refusal } from './helpers/refusal.js';
import { confirmer, fakeProbe } from './helpers/sysfs-fixture.js';

const timers: NodeJS.Timeout[] = [];
const fixture = fixtureEachTest('cxl', {
  tearDown: () => {
    for (const t of timers) clearTimeout(t);
  },
});

const stateFile = (memdev: string) => path.join(fixture.root, `sys/bus/cxl/devices/${memdev}/security/state`);

/** As sysfs does, a reader sees the old state or the new one, never the empty file between truncate and write. */
function setState(memdev: string, state: string): void {
  const file = stateFile(memdev);
  writeFileSync(`${file}.new`, `${state}\n`);
  renameSync(`${file}.new`, file);
}

/** The kernel's part: a write of 1 to security/sanitize starts a sanitize that ends after `ms`. */
function kernelSanitizes(ms: number | null): void {
  fixture.sys.hook = (file, value) => {
    const match = /devices\/(mem[0-9]+)\/security\/(sanitize|erase)$/.exec(file);
    if (!match || value !== '1') return;
    const memdev = match[1]!;
    if (match[2] === 'erase') return; // secure erase completes within the write
    setState(memdev, 'sanitize');
    if (ms !== null) timers.push(setTimeout(() => setState(memdev, 'disabled'), ms));
  };
}

const deps = (verdict: Verdict = 'supported'): EraseDeps => ({
  sys: fixture.sys,
  log: silentLogger,
  probe: fakeProbe(verdict),
  pollMs: 5,
});
const options = eraseOptions;

describe('erase --method sanitize', () => {
  it('asks after the preflight, writes 1, waits for the state to leave sanitize with progress, reports', async () => {
    kernelSanitizes(60);
    const progress: string[] = [];
    const ask = confirmer(true, () => assert.deepEqual(fixture.sys.writes, []));
    const report = await eraseMemdev(
      'mem1',
      options({ confirm: ask.confirm, onProgress: (state) => progress.push(state) }),
      deps(),
    );
    assert.deepEqual(fixture.sys.writes, [
      { file: 'sys/bus/cxl/devices/mem1/security/sanitize', value: '1' },
    ]);
    assert.equal(ask.questions.length, 1);
    assert.match(ask.questions[0]!, /Sanitize mem1 \(serial 0x2\)/);
    assert.ok(progress.includes('sanitize'), progress.join(','));
    assert.equal(progress.at(-1), 'disabled');
    assert.equal(report.ok, true);
    assert.equal(report.state, 'disabled');
    assert.ok(report.elapsed_ms >= 50);
  });

  it('times out with exit 75 and says the kernel operation keeps running', async () => {
    kernelSanitizes(null);
    await assert.rejects(
      eraseMemdev('mem1', options({ timeoutMs: 60 }), deps()),
      refusal(75, /timed out.*keeps running/),
    );
  });

  it('a timeout and an interruption carry the report so far (ok: false, what happened) for --json', async () => {
    kernelSanitizes(null);
    const partialOf = async (run: Promise<unknown>) => {
      try {
        await run;
      } catch (error) {
        return (error as { partial?: Record<string, unknown> }).partial;
      }
      assert.fail('the erase did not fail');
    };
    const timedOut = await partialOf(eraseMemdev('mem1', options({ timeoutMs: 30 }), deps()));
    assert.deepEqual(
      { ...timedOut, elapsed_ms: 0 },
      {
        backend: 'sysfs',
        memdev: 'mem1',
        method: 'sanitize',
        ok: false,
        outcome: 'timeout',
        state: 'sanitize',
        elapsed_ms: 0,
        next_step: "the kernel's sanitize keeps running: watch sys/bus/cxl/devices/mem1/security/state",
      },
    );
    setState('mem1', 'disabled');
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 30);
    const interrupted = await partialOf(eraseMemdev('mem1', options({ signal: controller.signal }), deps()));
    assert.equal(interrupted?.outcome, 'interrupted');
    assert.equal(interrupted?.ok, false);
  });

  it('stops waiting on Ctrl-C with exit 130 and says the kernel operation keeps running', async () => {
    kernelSanitizes(null);
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 40);
    await assert.rejects(
      eraseMemdev('mem1', options({ signal: controller.signal }), deps()),
      refusal(130, /interrupted: the kernel's sanitize of mem1 keeps running/),
    );
  });
});

describe('erase --method secure-erase', () => {
  it('writes 1 to security/erase', async () => {
    kernelSanitizes(0);
    const report = await eraseMemdev('mem1', options({ method: 'secure-erase' }), deps());
    assert.deepEqual(fixture.sys.writes, [{ file: 'sys/bus/cxl/devices/mem1/security/erase', value: '1' }]);
    assert.equal(report.method, 'secure-erase');
  });

  it('refuses a device without security/erase (69)', async () => {
    await assert.rejects(
      eraseMemdev('mem2', options({ method: 'secure-erase' }), deps()),
      refusal(69, /has no security\/erase/),
    );
    assert.deepEqual(fixture.sys.writes, []);
  });
});

describe('erase refusals', () => {
  it('refuses a device with committed decoders, naming them (75)', async () => {
    await assert.rejects(
      eraseMemdev('mem0', options(), deps()),
      refusal(75, /2 decoder\(s\) committed on endpoint3/),
    );
    assert.deepEqual(fixture.sys.writes, []);
  });

  it('refuses without a provider unless --force, since the next commit needs one (69)', async () => {
    await assert.rejects(
      eraseMemdev('mem1', options(), deps('unsupported')),
      refusal(69, /next region commit.*--force/),
    );
    assert.deepEqual(fixture.sys.writes, []);
    kernelSanitizes(5);
    const report = await eraseMemdev('mem1', options({ force: true }), deps('unsupported'));
    assert.match(String((report['warnings'] as string[])[0]), /--force/);
  });

  it('does nothing when confirmation is refused (64)', async () => {
    await assert.rejects(
      eraseMemdev('mem1', options({ confirm: confirmer(false).confirm }), deps()),
      refusal(64, /cancelled/),
    );
    assert.deepEqual(fixture.sys.writes, []);
  });

  it('refuses a device that is already sanitizing (75)', async () => {
    setState('mem1', 'sanitize');
    await assert.rejects(eraseMemdev('mem1', options(), deps()), refusal(75, /already sanitizing/));
  });

  for (const state of ['locked', 'unlocked']) {
    it(`refuses a device whose passphrase is set (state ${state}) before asking or writing (69)`, async () => {
      setState('mem1', state);
      for (const method of ['sanitize', 'secure-erase'] as const) {
        const ask = confirmer(true);
        await assert.rejects(
          eraseMemdev('mem1', options({ method, confirm: ask.confirm }), deps()),
          refusal(
            69,
            new RegExp(
              `user passphrase set \\(security/state reads ${state}\\).*refuses ${method} with EINVAL`,
            ),
          ),
        );
        assert.deepEqual(ask.questions, []);
      }
      assert.deepEqual(fixture.sys.writes, []);
    });
  }

  it('maps the kernel refusing the write (EBUSY → 75, EACCES → 77)', async () => {
    fixture.sys.hook = () => {
      throw errnoError('EBUSY');
    };
    await assert.rejects(eraseMemdev('mem1', options(), deps()), refusal(75, /EBUSY/));
    fixture.sys.hook = () => {
      throw errnoError('EACCES');
    };
    await assert.rejects(
      eraseMemdev('mem1', options(), deps()),
      refusal(77, /\(EACCES\)(: this needs root| although running as root)/),
    );
  });

  for (const name of ['../mem1', 'mem1/../../x', 'mem', 'mem01', 'nmem0', 'region0', 'mem1\u0000']) {
    it(`refuses the name ${JSON.stringify(name)} (65)`, async () => {
      await assert.rejects(eraseMemdev(name, options(), deps()), refusal(65, /is not a memdev name/));
    });
  }

  it('refuses an unknown memdev (65, "no such memdev")', async () => {
    await assert.rejects(eraseMemdev('mem7', options(), deps()), refusal(65, /^no such memdev: mem7/));
  });
});
