import {
  alignSeries,
  axisOf,
  axisPosition,
  bestIndices,
  buildOverlay,
  colorOf,
  diffRows,
  differsFromFirst,
  emaSmooth,
  logSafe,
  metricDirection,
  nearestPoint,
  niceTicks,
  PALETTE,
  rampColor,
  segmentDistance2,
  valueNear
} from '../charts';

describe('metric direction', () => {
  it('is what the server says, not a guess from the name', () => {
    const directions = { fit_time: 'max', accuracy: 'min', val_loss: 'min' } as const;
    expect(metricDirection(directions, 'fit_time')).toBe('max');
    expect(metricDirection(directions, 'accuracy')).toBe('min');
    expect(metricDirection(directions, 'val_loss')).toBe('min');
  });

  it('counts a metric the server does not list as higher-is-better', () => {
    expect(metricDirection({}, 'val_loss')).toBe('max');
    expect(metricDirection({ accuracy: 'min' }, 'précision')).toBe('max');
  });
});

describe('best values', () => {
  it('picks the minimum or maximum, ties included, skipping missing and non-finite', () => {
    expect(bestIndices([0.3, 0.1, undefined, NaN, 0.1], 'min')).toEqual([1, 4]);
    expect(bestIndices([0.3, Infinity, 0.9, null], 'max')).toEqual([2]);
  });

  it('has no best when fewer than two values are comparable', () => {
    expect(bestIndices([0.5, undefined, NaN], 'max')).toEqual([]);
    expect(bestIndices([], 'min')).toEqual([]);
  });
});

describe('smoothing', () => {
  it('is the identity at weight 0', () => {
    expect(Array.from(emaSmooth([1, 5, 2], 0))).toEqual([1, 5, 2]);
  });

  it('is debiased like TensorBoard: a constant stays constant from the first point', () => {
    const smoothed = emaSmooth([3, 3, 3, 3], 0.9);
    smoothed.forEach(value => expect(value).toBeCloseTo(3, 12));
  });

  it('averages exponentially', () => {
    const [a, b] = emaSmooth([0, 10], 0.5);
    expect(a).toBe(0);
    // last = 0.5*0 + 0.5*10 = 5 after 0*0.5+0=0; debias 1 - 0.25 = 0.75 -> 5 / 0.75
    expect(b).toBeCloseTo(5 / 0.75, 12);
  });

  it('keeps non-finite values as gaps without feeding them into the average', () => {
    const smoothed = emaSmooth([2, NaN, Infinity, 2], 0.6);
    expect(smoothed[0]).toBeCloseTo(2);
    expect(smoothed[1]).toBeNaN();
    expect(smoothed[2]).toBe(Infinity);
    expect(smoothed[3]).toBeCloseTo(2);
  });
});

describe('aligning several runs on one x', () => {
  it('unions the steps, leaves undefined where a run has no point and null for non-finite values', () => {
    const { x, ys } = alignSeries([
      { x: [0, 2, 4], y: [1, NaN, 3] },
      { x: [1, 2], y: [10, 20] }
    ]);
    expect(Array.from(x)).toEqual([0, 1, 2, 4]);
    expect(ys[0]).toEqual([1, undefined, null, 3]);
    expect(ys[1]).toEqual([undefined, 10, 20, undefined]);
  });

  it('sorts unsorted input and keeps the last value of a repeated step', () => {
    const { x, ys } = alignSeries([{ x: [3, 1, 3], y: [30, 10, 31] }]);
    expect(Array.from(x)).toEqual([1, 3]);
    expect(ys[0]).toEqual([10, 31]);
  });

  it('handles a large history quickly, in typed arrays', () => {
    const n = 1_000_000;
    const x = new Float64Array(n);
    const y = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      x[i] = i;
      y[i] = Math.sin(i / 1000);
    }
    const { x: aligned, ys } = alignSeries([{ x, y }]);
    expect(aligned).toBeInstanceOf(Float64Array);
    expect(aligned.length).toBe(n);
    expect(ys[0][n - 1]).toBeCloseTo(Math.sin((n - 1) / 1000));
  });
});

describe('log scale', () => {
  it('hides values <= 0 as gaps and counts them', () => {
    expect(logSafe([1, 0, -2, undefined, null, 5])).toEqual({ y: [1, null, null, undefined, null, 5], hidden: 2 });
  });

  it('builds an overlay that says how many values the log scale hides', () => {
    const overlay = buildOverlay([{ x: [0, 1, 2], y: [-1, 1, 10] }], { smoothing: 0, log: true });
    expect(overlay.logUsable).toBe(true);
    expect(overlay.hidden).toBe(1);
    expect(overlay.raw[0]).toEqual([null, 1, 10]);
    expect(overlay.smoothed).toBeNull();
  });

  it('stays linear when nothing is positive', () => {
    const overlay = buildOverlay([{ x: [0, 1], y: [-1, 0] }], { smoothing: 0, log: true });
    expect(overlay.logUsable).toBe(false);
    expect(overlay.raw[0]).toEqual([-1, 0]);
  });

  it('smooths each run on its own points and aligns raw and smoothed together', () => {
    const overlay = buildOverlay(
      [
        { x: [0, 1], y: [2, 2] },
        { x: [1, 2], y: [4, 4] }
      ],
      { smoothing: 0.5, log: false }
    );
    expect(Array.from(overlay.x)).toEqual([0, 1, 2]);
    expect(overlay.smoothed).toEqual([
      [2, 2, undefined],
      [undefined, 4, 4]
    ]);
  });

  it('finds the value nearest a hovered index', () => {
    expect(valueNear([undefined, undefined, 7], 0)).toBe(7);
    expect(valueNear([1, null, 3], 1)).toBeNull();
    expect(valueNear([undefined], 0)).toBeNull();
  });
});

describe('axes', () => {
  it('is numeric when every present value is a finite number, and scales it', () => {
    const axis = axisOf([1, 3, undefined, NaN, 5]);
    expect(axis.kind).toBe('numeric');
    expect(axis.domain).toEqual([1, 5]);
    expect(axisPosition(axis, 3)).toBe(0.5);
    expect(axisPosition(axis, undefined)).toBeNull();
    expect(axisPosition(axis, NaN)).toBeNull();
  });

  it('puts a single value in the middle', () => {
    expect(axisPosition(axisOf([2, 2]), 2)).toBe(0.5);
  });

  it('spaces categories evenly, strings and mixed values included', () => {
    const axis = axisOf(['sgd', 'adam', 1, true, 'adam', null]);
    expect(axis.kind).toBe('categorical');
    expect(axis.categories).toEqual(['1', 'adam', 'sgd', 'true']);
    expect(axisPosition(axis, 'adam')).toBeCloseTo(1 / 3);
    expect(axisPosition(axis, true)).toBe(1);
  });

  it('makes round ticks', () => {
    expect(niceTicks(0, 1, 5)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(niceTicks(3, 3)).toEqual([3]);
    expect(niceTicks(NaN, 1)).toEqual([]);
  });
});

describe('hit testing', () => {
  it('finds the nearest point within the radius', () => {
    expect(nearestPoint([0, 10, 20], [0, 0, 0], 11, 1, 5)).toBe(1);
    expect(nearestPoint([0, 10, 20], [0, 0, 0], 50, 50, 5)).toBe(-1);
  });

  it('measures the distance to a segment', () => {
    expect(segmentDistance2(5, 3, 0, 0, 10, 0)).toBe(9);
    expect(segmentDistance2(-3, 4, 0, 0, 10, 0)).toBe(25);
  });
});

describe('parameter diff', () => {
  it('lists the union of keys and marks rows that differ (missing counts as different)', () => {
    const rows = diffRows([
      { lr: 0.1, opt: 'adam', layers: [1, 2], extra: { a: 1, b: 2 } },
      { lr: 0.2, opt: 'adam', layers: [1, 2], extra: { b: 2, a: 1 }, seed: 1 }
    ]);
    expect(rows.map(r => [r.key, r.differs])).toEqual([
      ['extra', false],
      ['layers', false],
      ['lr', true],
      ['opt', false],
      ['seed', true]
    ]);
    const lr = rows.find(r => r.key === 'lr')!;
    expect(differsFromFirst(lr, 0)).toBe(false);
    expect(differsFromFirst(lr, 1)).toBe(true);
  });

  it('compares NaN as equal to NaN and 1 as different from "1"', () => {
    const rows = diffRows([
      { a: NaN, b: 1 },
      { a: NaN, b: '1' }
    ]);
    expect(rows.map(r => r.differs)).toEqual([false, true]);
  });
});

describe('colors', () => {
  it('cycles through the palette', () => {
    expect(colorOf(0)).toBe(PALETTE[0]);
    expect(colorOf(PALETTE.length + 2)).toBe(PALETTE[2]);
  });

  it('ramps from blue to red, clamped', () => {
    expect(rampColor(0)).toBe('rgb(78, 121, 167)');
    expect(rampColor(1)).toBe('rgb(225, 87, 89)');
    expect(rampColor(5)).toBe(rampColor(1));
  });
});
