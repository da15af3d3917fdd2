import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EventPairer, summarizeLatency } from '../../src/backends/sysfs/trace-events.js';
import {
  formatProbe,
  formatRemoval,
  groupName,
  lockdownMode,
  PROVIDER_CALLBACKS,
  parseTraceLine,
  probeDefinitions,
  replayKprobeEvents,
  timestampToUs,
} from '../../src/backends/sysfs/tracefs.js';

describe('kprobe definitions', () => {
  it('probes cpu_cache_invalidate_memregion on entry (start, len) and return (ret)', () => {
    const lines = probeDefinitions().map((d) => formatProbe('memregion_42', d));
    assert.deepEqual(lines, [
      'p:memregion_42/inv cpu_cache_invalidate_memregion start=$arg1:x64 len=$arg2:u64',
      'r:memregion_42/inv_ret cpu_cache_invalidate_memregion ret=$retval:s32',
    ]);
  });

  it('reads a wbinv callback range from its struct cc_inval_params and only the return of done', () => {
    const lines = probeDefinitions(PROVIDER_CALLBACKS).map((d) => formatProbe('memregion_42', d));
    assert.ok(
      lines.includes(
        'p:memregion_42/smccc_cache_wbinv smccc_cache_wbinv start=+0($arg2):x64 len=+8($arg2):u64',
      ),
    );
    assert.ok(lines.includes('r:memregion_42/smccc_cache_wbinv_ret smccc_cache_wbinv ret=$retval:s32'));
    assert.ok(lines.includes('p:memregion_42/hisi_soc_hha_done hisi_soc_hha_done'));
  });

  it('names the group after the process and removes with -:group/event', () => {
    assert.equal(groupName(1234), 'memregion_1234');
    assert.equal(formatRemoval('memregion_1234', 'inv_ret'), '-:memregion_1234/inv_ret');
  });

  it('refuses event names that are not identifiers', () => {
    assert.throws(() => formatProbe('../x', probeDefinitions()[0]!));
    assert.throws(() => formatProbe('memregion_1 x', probeDefinitions()[0]!));
  });

  it('replays kprobe_events writes with the kernel semantics', () => {
    const log = [
      'p:g/a f x=$arg1',
      'r:g/b f $retval',
      'p:other/c f',
      '-:g/a',
      'p:plain f',
      'r10:g/d f',
      '-:g/b',
    ].join('\n');
    assert.deepEqual([...replayKprobeEvents(log)].sort(), ['g/d', 'kprobes/plain', 'other/c']);
  });

  it('reads the active lockdown mode', () => {
    assert.equal(lockdownMode('none [integrity] confidentiality\n'), 'integrity');
    assert.equal(lockdownMode('[none] integrity confidentiality'), 'none');
    assert.equal(lockdownMode(null), null);
  });
});

describe('trace_pipe lines', () => {
  it('parses an entry line with the flags column and 0x-prefixed x64', () => {
    const line = parseTraceLine(
      '     kworker/u8:2-1234    [003] d..1.  5123.000101: inv: (cpu_cache_invalidate_memregion+0x0/0x60) start=0x4080000000 len=1073741824',
    );
    assert.ok(line);
    assert.equal(line.comm, 'kworker/u8:2');
    assert.equal(line.pid, 1234);
    assert.equal(line.cpu, 3);
    assert.equal(line.flags, 'd..1.');
    assert.equal(line.timestampUs, 5123_000101);
    assert.equal(line.event, 'inv');
    assert.equal(line.symbol, 'cpu_cache_invalidate_memregion');
    assert.deepEqual(line.args, { start: '0x4080000000', len: '1073741824' });
  });

  it('parses a return line (caller <- function) as the kernel documentation shows it, without flags', () => {
    const line = parseTraceLine(
      '           <...>-1447  [001] 1038282.286878: inv_ret: (cxl_region_probe+0x1c/0x200 <- cpu_cache_invalidate_memregion) ret=-6',
    );
    assert.ok(line);
    assert.equal(line.comm, '<...>');
    assert.equal(line.flags, null);
    assert.equal(line.symbol, 'cpu_cache_invalidate_memregion');
    assert.equal(line.args['ret'], '-6');
  });

  it('accepts the record-tgid column and comms with dashes and spaces', () => {
    const line = parseTraceLine(
      ' my-tool worker-77 (   70) [000] ....  12.5: inv: (cpu_cache_invalidate_memregion+0x0/0x60) start=4080000000 len=4096',
    );
    assert.ok(line);
    assert.equal(line.comm, 'my-tool worker');
    assert.equal(line.pid, 77);
    assert.equal(line.timestampUs, 12_500000);
  });

  it('ignores headers and other text', () => {
    assert.equal(parseTraceLine('# tracer: nop'), null);
    assert.equal(parseTraceLine(''), null);
    assert.equal(parseTraceLine('CPU:3 [LOST 12 EVENTS]'), null);
  });

  it('converts timestamps without floating-point drift', () => {
    assert.equal(timestampToUs('1038282.286878'), 1038282286878);
    assert.equal(timestampToUs('7.1'), 7100000);
    assert.equal(timestampToUs('42'), 42000000);
  });
});

describe('pairing and summary', () => {
  const events = new Map([
    ['inv', { symbol: 'cpu_cache_invalidate_memregion', isReturn: false }],
    ['inv_ret', { symbol: 'cpu_cache_invalidate_memregion', isReturn: true }],
    ['smccc_cache_wbinv', { symbol: 'smccc_cache_wbinv', isReturn: false }],
    ['smccc_cache_wbinv_ret', { symbol: 'smccc_cache_wbinv', isReturn: true }],
  ]);
  const line = (text: string) => parseTraceLine(text)!;

  it('pairs entry and return per task into start, size, latency and return code', () => {
    const pairer = new EventPairer(events);
    assert.equal(
      pairer.push(
        line(
          'a-1 [000] .... 10.000100: inv: (cpu_cache_invalidate_memregion+0x0/0x60) start=0x1000 len=4096',
        ),
      ),
      null,
    );
    assert.equal(
      pairer.push(
        line(
          'b-2 [001] .... 10.000150: inv: (cpu_cache_invalidate_memregion+0x0/0x60) start=0x2000 len=8192',
        ),
      ),
      null,
    );
    assert.equal(
      pairer.push(
        line(
          'a-1 [000] .... 10.000120: smccc_cache_wbinv: (smccc_cache_wbinv+0x0/0x90) start=0x1000 len=4096',
        ),
      ),
      null,
    );
    const provider = pairer.push(
      line('a-1 [000] .... 10.000180: smccc_cache_wbinv_ret: (x+0x1/0x2 <- smccc_cache_wbinv) ret=0'),
    );
    assert.equal(provider?.kind, 'provider');
    assert.equal(provider?.latency_us, 60);
    const b = pairer.push(
      line('b-2 [001] .... 10.000450: inv_ret: (x+0x1/0x2 <- cpu_cache_invalidate_memregion) ret=-16'),
    );
    assert.deepEqual(
      { start: b?.start, size: b?.size, latency: b?.latency_us, ret: b?.ret, kind: b?.kind },
      { start: '0x2000', size: '8192', latency: 300, ret: -16, kind: 'invalidate' },
    );
    const a = pairer.push(
      line('a-1 [000] .... 10.000300: inv_ret: (x+0x1/0x2 <- cpu_cache_invalidate_memregion) ret=0'),
    );
    assert.equal(a?.latency_us, 200);
    assert.deepEqual(pairer.flush(), []);
  });

  it('reports calls still running at the end without a latency', () => {
    const pairer = new EventPairer(events);
    pairer.push(
      line('a-1 [000] .... 1.000000: inv: (cpu_cache_invalidate_memregion+0x0/0x60) start=0x1000 len=1'),
    );
    const [open] = pairer.flush();
    assert.equal(open?.latency_us, null);
    assert.equal(open?.ret, null);
    assert.equal(open?.['complete'], false);
  });

  it('gives nearest-rank latency percentiles', () => {
    const values = Array.from({ length: 100 }, (_, i) => i + 1);
    assert.deepEqual(summarizeLatency(values), {
      p50: 50,
      p90: 90,
      p99: 99,
      p999: 100,
      max: 100,
      mean: 50.5,
    });
    assert.equal(summarizeLatency([]), null);
  });
});
