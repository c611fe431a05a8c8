import { barDomain, barExtent, chartShape } from '../charts';
import { isLongText, itemAt, mediaSeries, mediaSteps, sortRows, textPreview } from '../media';
import { isSystemMetric, systemGroups } from '../systemMetrics';
import { MediaItem } from '../types';

function item(kind: MediaItem['kind'], name: string, step: number | null): MediaItem {
  const file = step === null ? `${name}.png` : `${name}/step-${step}.png`;
  return { kind, name, step, path: `media/${kind}/${file}`, size: 10, sha256: 'ab', svg_path: null };
}

describe('bars or lines', () => {
  it('draws a metric logged once per run as bars', () => {
    expect(chartShape([1, 1, 1])).toBe('bars');
    expect(chartShape([1, 0])).toBe('bars'); // a run without the metric gets an empty bar
  });

  it('keeps histories as lines, even when one run has a single point', () => {
    expect(chartShape([1, 50])).toBe('lines');
    expect(chartShape([2])).toBe('lines');
    expect(chartShape([0, 0])).toBe('lines');
    expect(chartShape([])).toBe('lines');
  });

  it('puts bars on a domain that includes zero, ignoring NaN and infinities', () => {
    expect(barDomain([0.9, 0.8])).toEqual([0, 0.9]);
    expect(barDomain([-2, 3, NaN, Infinity, undefined])).toEqual([-2, 3]);
    expect(barDomain([NaN])).toEqual([0, 1]);
    expect(barDomain([0, 0])).toEqual([0, 1]);
  });

  it('places positive bars above and negative bars below the zero line', () => {
    const domain: [number, number] = [-1, 3];
    expect(barExtent(3, domain)).toEqual({ top: 0, height: 0.75 });
    expect(barExtent(-1, domain)).toEqual({ top: 0.75, height: 0.25 });
    expect(barExtent(NaN, domain)).toBeNull();
    expect(barExtent(-Infinity, domain)).toBeNull();
    expect(barExtent(undefined, domain)).toBeNull();
  });

  it('stays finite for values near the largest double', () => {
    const domain = barDomain([1.7e308, -1.7e308]);
    const extent = barExtent(1.7e308, domain)!;
    expect(extent.top).toBeCloseTo(0);
    expect(extent.height).toBeCloseTo(0.5);
  });
});

describe('media series', () => {
  const items = [
    item('image', 'sample', 10),
    item('image', 'sample', 0),
    item('image', 'mask 🚀', null),
    item('figure', 'roc', 0),
    item('image', 'sample10', 5),
    item('image', 'sample2', 5)
  ];

  it('groups one kind by name in natural order, each name by step', () => {
    const images = mediaSeries(items, 'image');
    expect(images.map(s => s.name)).toEqual(['mask 🚀', 'sample', 'sample2', 'sample10']);
    expect(images[1].items.map(i => i.step)).toEqual([0, 10]);
    expect(mediaSeries(items, 'table')).toEqual([]);
  });

  it('lists the distinct steps a slider moves over', () => {
    expect(mediaSteps(mediaSeries(items, 'image'))).toEqual([0, 5, 10]);
    expect(mediaSteps(mediaSeries([item('image', 'a', null)], 'image'))).toEqual([]);
  });

  it('shows the image logged at or last before the chosen step', () => {
    const [, sample] = mediaSeries(items, 'image');
    expect(itemAt(sample.items, 0)?.step).toBe(0);
    expect(itemAt(sample.items, 7)?.step).toBe(0);
    expect(itemAt(sample.items, 10)?.step).toBe(10);
    expect(itemAt(sample.items, 1e9)?.step).toBe(10);
    expect(itemAt(sample.items, -5)?.step).toBe(0); // all come later: the first
    expect(itemAt(sample.items, null)?.step).toBe(10); // no slider: the latest
    expect(itemAt([], 3)).toBeNull();
  });

  it('shows an image logged without a step at every step', () => {
    const [mask] = mediaSeries(items, 'image');
    expect(itemAt(mask.items, 10)?.path).toBe('media/image/mask 🚀.png');
  });
});

describe('table sorting', () => {
  const rows = [
    [3, 'b', null],
    [null, 'a10', 1],
    [1, 'a2', 'NaN'],
    [2, null, 2],
    [-Infinity, 'A', 0]
  ];

  it('sorts numbers by value, missing last in both directions', () => {
    expect(sortRows(rows, 0, 'int64', false).map(r => r[0])).toEqual([-Infinity, 1, 2, 3, null]);
    expect(sortRows(rows, 0, 'int64', true).map(r => r[0])).toEqual([3, 2, 1, -Infinity, null]);
    expect(sortRows(rows, 2, 'float64', false).map(r => r[2])).toEqual([0, 1, 2, null, 'NaN']);
  });

  it('sorts text by code point as the server does, keeps ties in place, and copies the rows', () => {
    expect(sortRows(rows, 1, 'object', false).map(r => r[1])).toEqual(['A', 'a10', 'a2', 'b', null]);
    // U+FF21 comes before U+1F600, though UTF-16 puts the emoji's surrogates first
    expect(sortRows([['😀'], ['Ａ'], ['é'], ['z']], 0, 'object', false).map(r => r[0])).toEqual(['z', 'é', 'Ａ', '😀']);
    const same = [
      [1, 'x'],
      [1, 'y']
    ];
    expect(sortRows(same, 0, 'int64', true)).toEqual(same);
    expect(sortRows(same, 0, 'int64', true)).not.toBe(same);
  });

  it('sorts a column of mixed values as text when its dtype is not numeric', () => {
    const mixed = [[{ a: 1 }], ['z'], [true], [2]];
    expect(sortRows(mixed, 0, 'object', false).map(r => r[0])).toEqual([2, true, 'z', { a: 1 }]); // '{' is after 'z'
  });
});

describe('long texts', () => {
  it('counts a text long by its lines or its characters', () => {
    expect(isLongText('short')).toBe(false);
    expect(isLongText('x\n'.repeat(25))).toBe(true);
    expect(isLongText('x'.repeat(2001))).toBe(true);
  });

  it('previews the first lines, never splitting an emoji', () => {
    const lines = Array.from({ length: 30 }, (_, i) => `line ${i}`).join('\n');
    expect(textPreview(lines).split('\n')).toHaveLength(20);
    const emoji = 'a' + '🚀'.repeat(1500);
    const preview = textPreview(emoji);
    expect(preview.length).toBeLessThanOrEqual(2000);
    expect(preview.endsWith('🚀')).toBe(true);
  });
});

describe('system metrics', () => {
  it('knows a system metric by its prefix', () => {
    expect(isSystemMetric('system/cpu_percent')).toBe(true);
    expect(isSystemMetric('cpu_percent')).toBe(false);
    expect(isSystemMetric('systems/x')).toBe(false);
  });

  it('groups CPU, memory, disk, network and each GPU, ignoring other metrics', () => {
    const groups = systemGroups([
      'accuracy',
      'system/gpu10_util_percent',
      'system/net_sent_mb',
      'system/gpu1_memory_used_mb',
      'system/memory_used_mb',
      'system/gpu1_util_percent',
      'system/cpu_percent',
      'system/disk_read_mb',
      'system/memory_percent',
      'system/net_recv_mb',
      'system/gpu2_power_w',
      'system/fan ☃',
      'system/disk_write_mb'
    ]);
    expect(groups.map(g => g.id)).toEqual(['cpu', 'memory', 'disk', 'network', 'gpu1', 'gpu2', 'gpu10', 'other']);
    expect(groups[1].keys).toEqual(['system/memory_percent', 'system/memory_used_mb']);
    expect(groups[4]).toEqual({
      id: 'gpu1',
      gpu: 1,
      keys: ['system/gpu1_memory_used_mb', 'system/gpu1_util_percent']
    });
    expect(groups[7].keys).toEqual(['system/fan ☃']);
    expect(systemGroups(['accuracy', 'loss'])).toEqual([]);
  });
});
