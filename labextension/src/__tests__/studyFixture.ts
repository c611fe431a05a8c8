// An Optuna sweep's parent run and its sweep.trials and sweep.importances tables as the REST API answers
// them (NaN as null), for the Study section's tests.
import { MediaItem, RunDetail, RunRecord, TablePage } from '../types';

export const PARENT: RunDetail = {
  run_id: 'a11ce5weep0000001',
  name: 'study-parent',
  experiment: 'optuna',
  status: 'FINISHED',
  start_time: '2026-03-01T12:00:00.000000Z',
  end_time: '2026-03-01T12:05:00.000000Z',
  duration: 300,
  user: null,
  host: null,
  parent_run_id: null,
  notebook: null,
  params: {},
  metrics: { best_accuracy: 0.91 },
  tags: {
    'sweep.sampler': 'tpe',
    'sweep.pruner': 'median',
    'sweep.trials': '8',
    'sweep.study': 'churn-study',
    'sweep.metric': 'accuracy',
    'sweep.direction': 'maximize',
    'sweep.best_run': 'run-2',
    'sweep.best_trial': '2'
  },
  error: null,
  artifacts: [],
  datasets: []
};

/** A pruned trial's run. */
export const PRUNED_CHILD: RunDetail = {
  ...PARENT,
  run_id: 'run-1',
  name: 'trial-1',
  status: 'PRUNED',
  parent_run_id: PARENT.run_id,
  metrics: { accuracy: 0.5 },
  tags: { 'sweep.trial': '1', 'sweep.pruned_at_step': '3' }
};

export function tableItem(name: string, step: number | null = null): MediaItem {
  const file = step === null ? `${name}.parquet` : `${name}/step-${step}.parquet`;
  return { kind: 'table', name, step, path: `media/table/${file}`, size: 100, sha256: 'ab', svg_path: null };
}

export const TRIALS_ITEM = tableItem('sweep.trials');
export const IMPORTANCES_ITEM = tableItem('sweep.importances');

/**
 * Six trials: complete ones at 0.8, 0.91 and 0.7, a pruned one with an intermediate value of 0.5 (better
 * than all for minimize, but it must not count), a failed one and a pruned one without values; rows out of
 * trial order, a unicode param name.
 */
export const TRIALS: TablePage = {
  columns: [
    { name: 'trial', dtype: 'int64' },
    { name: 'run_id', dtype: 'object' },
    { name: 'state', dtype: 'object' },
    { name: 'value', dtype: 'float64' },
    { name: 'best_so_far', dtype: 'float64' },
    { name: 'duration_s', dtype: 'float64' },
    { name: 'params.lr', dtype: 'float64' },
    { name: 'params.optimizer', dtype: 'object' },
    { name: 'params.taux ✓', dtype: 'int64' }
  ],
  rows: [
    [0, 'run-0', 'COMPLETE', 0.8, 0.8, 1.5, 0.01, 'adam', 1],
    [2, 'run-2', 'COMPLETE', 0.91, 0.91, 1.2, 0.003, 'sgd', 3],
    [1, 'run-1', 'PRUNED', 0.5, 0.8, 0.4, 0.1, 'adam', 2],
    [3, 'run-3', 'FAIL', null, 0.91, 0.1, 0.5, 'sgd', 4],
    [4, 'run-4', 'COMPLETE', 0.7, 0.91, 1.1, 0.02, 'adam', 5],
    [5, 'run-5', 'PRUNED', null, 0.91, 0.2, 0.9, 'sgd', 6]
  ],
  total_rows: 6
};

/** Importances out of order, one without a value (left out). */
export const IMPORTANCES: TablePage = {
  columns: [
    { name: 'param', dtype: 'object' },
    { name: 'importance', dtype: 'float64' }
  ],
  rows: [
    ['lr', 0.25],
    ['taux ✓', 0.7],
    ['broken', null],
    ['optimizer', 0.05]
  ],
  total_rows: 4
};

/** A sweep still running: no best yet, no tables logged. */
export const RUNNING_PARENT: RunDetail = {
  ...PARENT,
  status: 'RUNNING',
  end_time: null,
  duration: null,
  metrics: {},
  tags: Object.fromEntries(Object.entries(PARENT.tags).filter(([key]) => !key.startsWith('sweep.best')))
};

/** A child run of the running sweep as the runs listing gives it. */
export function childRun(
  trial: number | null,
  status: RunRecord['status'],
  accuracy: number | undefined,
  params: RunRecord['params'] = {}
): RunRecord {
  return {
    run_id: `child-${trial ?? 'x'}`,
    name: `trial-${trial ?? 'x'}`,
    experiment: PARENT.experiment,
    status,
    start_time: '2026-03-01T12:00:00.000000Z',
    end_time: status === 'RUNNING' ? null : '2026-03-01T12:00:02.000000Z',
    duration: status === 'RUNNING' ? null : 2,
    user: null,
    host: null,
    parent_run_id: RUNNING_PARENT.run_id,
    notebook: null,
    params,
    metrics: accuracy === undefined ? {} : { accuracy },
    tags: trial === null ? {} : { 'sweep.trial': String(trial) }
  };
}

/** Trials 0-3 of the running sweep (complete, pruned, running, finished without the metric) and a stray child. */
export const CHILD_RUNS: RunRecord[] = [
  childRun(2, 'RUNNING', 0.6, { lr: 0.1 }),
  childRun(0, 'FINISHED', 0.8, { lr: 0.01 }),
  childRun(1, 'PRUNED', 0.5, { lr: 0.3 }),
  childRun(3, 'FINISHED', undefined, { lr: 0.2 }),
  childRun(null, 'FINISHED', 0.99)
];
