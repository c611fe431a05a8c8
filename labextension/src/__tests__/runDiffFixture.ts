// Answers of GET runs/{a}/diff/{b} for two papermill jobs of an edited notebook, as the server gave them
// (alpha 0.5 -> 0.25, one code line edited, a markdown cell added, a dataset logged with snapshots), and a
// %%track pair with environment, git and model changes, shaped as nbmlops.diff's JSON form.
import { RunDiff } from '../types';

/** Two notebook jobs, rows=false: the data section without the row-level counts. */
export const NOTEBOOK_DIFF: RunDiff = {
  a: {
    run_id: '01a248ac06c673f99407251d23fc5860',
    name: 'train',
    experiment: 'churn',
    status: 'FINISHED',
    start_time: '2026-12-06T00:06:03.206285Z',
    duration: 1.384565,
    notebook: 'work/train.ipynb',
    parent_run_id: null
  },
  b: {
    run_id: '01a248ac0c79702085f954a22bd9b473',
    name: 'train',
    experiment: 'churn',
    status: 'FINISHED',
    start_time: '2026-12-06T00:06:04.665217Z',
    duration: 1.291774,
    notebook: 'work/train.ipynb',
    parent_run_id: null
  },
  params: [
    {
      key: 'alpha',
      change: 'changed',
      a: 0.5,
      b: 0.25
    }
  ],
  metrics: [
    {
      key: 'accuracy',
      a: 1.0,
      b: 0.75,
      difference: -0.25,
      direction: 'max',
      verdict: 'worse'
    },
    {
      key: 'val_loss',
      a: 0.75,
      b: 0.8125,
      difference: 0.0625,
      direction: 'min',
      verdict: 'worse'
    }
  ],
  code: {
    kind: 'notebook',
    cells: [4, 5],
    aligned_by: 'nbdime',
    changes: [
      {
        change: 'modified',
        cell_type: 'code',
        a: 2,
        b: 2,
        lines: [
          '@@ -1,5 +1,5 @@',
          ' %%track -e churn',
          '-score = alpha * 2',
          '+score = alpha * 3',
          " nbmlops.log_metric('accuracy', score)",
          " nbmlops.log_metric('val_loss', 1 - score / 4)",
          "-nbmlops.log_dataset(pd.DataFrame({'x': range(int(alpha * 20)), 'y': ['é'] * int(alpha * 20)}), name='customers', role='train', snapshot=True)",
          "+nbmlops.log_dataset(pd.DataFrame({'x': range(int(alpha * 30)), 'y': ['é'] * int(alpha * 30)}), name='customers', role='train', snapshot=True)"
        ]
      },
      {
        change: 'added',
        cell_type: 'markdown',
        a: null,
        b: 3,
        lines: ['+## Added *note*']
      }
    ],
    notebook: {
      base: {
        cells: [
          {
            cell_type: 'code',
            source:
              "%%track -e churn\nscore = alpha * 2\nnbmlops.log_metric('accuracy', score)\nnbmlops.log_metric('val_loss', 1 - score / 4)\nnbmlops.log_dataset(pd.DataFrame({'x': range(int(alpha * 20)), 'y': ['é'] * int(alpha * 20)}), name='customers', role='train', snapshot=True)",
            metadata: {},
            outputs: [],
            execution_count: null
          }
        ],
        metadata: {},
        nbformat: 4,
        nbformat_minor: 4
      },
      diff: [
        {
          op: 'patch',
          key: 'cells',
          diff: [
            {
              op: 'patch',
              key: 0,
              diff: [
                {
                  op: 'patch',
                  key: 'source',
                  diff: [
                    {
                      op: 'patch',
                      key: 1,
                      diff: [
                        {
                          op: 'addrange',
                          key: 16,
                          valuelist: '3'
                        },
                        {
                          op: 'removerange',
                          key: 16,
                          length: 1
                        }
                      ]
                    },
                    {
                      op: 'patch',
                      key: 4,
                      diff: [
                        {
                          op: 'addrange',
                          key: 57,
                          valuelist: '3'
                        },
                        {
                          op: 'removerange',
                          key: 57,
                          length: 1
                        },
                        {
                          op: 'addrange',
                          key: 88,
                          valuelist: '3'
                        },
                        {
                          op: 'removerange',
                          key: 88,
                          length: 1
                        }
                      ]
                    }
                  ]
                }
              ]
            },
            {
              op: 'addrange',
              key: 1,
              valuelist: [
                {
                  cell_type: 'markdown',
                  source: '## Added *note*',
                  metadata: {}
                }
              ]
            }
          ]
        }
      ],
      cells: [2]
    }
  },
  data: [
    {
      role: 'train',
      name: 'customers',
      a: {
        version: 1,
        fingerprint: 'e4695ec49890b7bc65ba3dd7c1276e8c'
      },
      b: {
        version: 2,
        fingerprint: '57a497e53a312d7efd76ea61197b2009'
      },
      same: false,
      changes: {
        rows: [10, 7],
        schema: [],
        added: null,
        removed: null,
        changed: null,
        statistics: [
          {
            column: 'x',
            statistic: 'count',
            old: 10,
            new: 7
          },
          {
            column: 'x',
            statistic: 'mean',
            old: 4.5,
            new: 3.0
          },
          {
            column: 'x',
            statistic: 'std',
            old: 3.0276503540974917,
            new: 2.160246899469287
          },
          {
            column: 'x',
            statistic: 'p50',
            old: 4.5,
            new: 3.0
          },
          {
            column: 'x',
            statistic: 'max',
            old: 9,
            new: 6
          },
          {
            column: 'y',
            statistic: 'count',
            old: 10,
            new: 7
          }
        ],
        statistics_left_out: 0,
        notes: []
      }
    }
  ]
};

/** The same two jobs, rows=true: the snapshots compared row by row. */
export const NOTEBOOK_DIFF_ROWS: RunDiff = {
  ...NOTEBOOK_DIFF,
  data: NOTEBOOK_DIFF.data!.map(entry => ({
    ...entry,
    changes: {
      ...entry.changes!,
      added: 0,
      removed: 3,
      notes: ['rows compared whole (no key columns, --key): a changed row counts as one removed and one added row']
    }
  }))
};

/** Two %%track runs in processes of a git repository: cell and history diffs, packages, commits, models. */
export const TRACK_DIFF: RunDiff = {
  a: {
    run_id: '01a2000000000000000000000000000a',
    name: 'before',
    experiment: 'fit',
    status: 'FINISHED',
    start_time: '2026-12-01T10:00:00.000000Z',
    duration: 12.5,
    notebook: null,
    parent_run_id: null
  },
  b: {
    run_id: '01a2000000000000000000000000000b',
    name: '',
    experiment: 'fit',
    status: 'FAILED',
    start_time: '2026-12-01T11:00:00.000000Z',
    duration: null,
    notebook: null,
    parent_run_id: '01a2000000000000000000000000000a'
  },
  params: [
    { key: 'lr', change: 'changed', a: 0.1, b: 0.05 },
    { key: 'warmup', change: 'added', a: null, b: true },
    { key: 'note <b>', change: 'removed', a: '\u001b[31mred <b>模型', b: null }
  ],
  metrics: [
    { key: 'val_loss', a: 0.2, b: 0.15, difference: -0.05, direction: 'min', verdict: 'better' },
    { key: 'loss', a: 'NaN', b: 'Infinity', difference: null, direction: 'min', verdict: 'changed' },
    { key: 'auc', a: null, b: 0.5, difference: null, direction: 'max', verdict: 'added' }
  ],
  code: {
    kind: 'cell',
    cell: ['@@ -1,2 +1,2 @@', '-loss = lr * 2', '+loss = lr * 3', " nbmlops.log_metric('val_loss', loss)"],
    history: ['@@ -1 +1,2 @@', '-lr = 0.1', '+lr = 0.05', '+warmup = True']
  },
  environment: {
    python: ['3.11.9', '3.12.1'],
    packages: [
      { package: 'PyYAML', change: 'added', a: null, b: '6.0.2' },
      { package: 'numpy', change: 'changed', a: '2.1.0', b: '2.2.1' }
    ]
  },
  git: {
    commits: ['a1b2c3d4e5f60718293a4b5c6d7e8f9012345678', 'f1e2d3c4b5a60718293a4b5c6d7e8f9012345678'],
    branches: ['main', 'main'],
    dirty: [false, true],
    between: ['f1e2d3c4b5 stronger regularisation'],
    behind: [],
    diffs: [
      '',
      'diff --git a/train.py b/train.py\n--- a/train.py\n+++ b/train.py\n@@ -1 +1 @@\n-C = 2\n+C = 3  # trying\n'
    ]
  },
  models: { a: ['churn-model/1'], b: [] }
};
