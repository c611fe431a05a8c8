import { suggestedGate } from '../components/PromoteDialog';
import { reference, spellKey } from '../runsColumns';
import { ModelDetail } from '../types';

function modelWithMetric(key: string): ModelDetail {
  const version = {
    run_id: 'r1',
    run_name: 'r',
    model_class: 'LogisticRegression',
    flavor: 'sklearn',
    created_at: '2026-01-01T00:00:00Z',
    user: null,
    metrics: { [key]: 0.9 }
  };
  return {
    name: 'churn',
    aliases: { production: 1 },
    versions: [
      { ...version, version: 2, aliases: [] },
      { ...version, version: 1, aliases: ['production'] }
    ]
  };
}

describe('spellKey, the one quoting rule of the where, order_by and gate languages', () => {
  it('leaves plain keys bare, keys with - / . : included', () => {
    expect(spellKey('metrics', 'val_loss')).toBe('metrics.val_loss');
    expect(spellKey('params', 'train/lr-max:0.1')).toBe('params.train/lr-max:0.1');
  });

  it('quotes a key with a space and a backtick in backticks, doubling the backtick', () => {
    expect(spellKey('metrics', 'a`b c')).toBe('metrics.`a``b c`');
    expect(reference({ id: 'metrics.a`b c', kind: 'metrics', key: 'a`b c' })).toBe('metrics.`a``b c`');
  });

  it('is how the promote dialog writes the suggested gate (the backtick kept, doubled)', () => {
    expect(suggestedGate(modelWithMetric('a`b c'), 2, 'production', {})).toBe(
      'metrics.`a``b c` >= champion.metrics.`a``b c`'
    );
  });
});
