import { nullTranslator } from '@jupyterlab/translation';
import { act, render, screen, waitFor, within } from '@testing-library/react';
import * as React from 'react';

import { ApiError, requestAPI } from '../api';
import { driftedFirst, formatShare, ModelMonitoring } from '../components/ModelMonitoring';
import { NbmlopsModel } from '../model';
import { FeatureDriftRow, ModelDetail } from '../types';

jest.mock('../api', () => ({
  ...jest.requireActual<typeof import('../api')>('../api'),
  requestAPI: jest.fn()
}));

const api = requestAPI as jest.MockedFunction<typeof requestAPI>;
const trans = nullTranslator.load('nbmlops');

const detail = (aliases: Record<string, number> = { production: 1 }): ModelDetail => ({
  name: 'churn',
  aliases,
  versions: [
    {
      version: 1,
      run_id: 'run1',
      run_name: 'train',
      model_class: 'sklearn.linear_model.LogisticRegression',
      flavor: 'sklearn',
      aliases: Object.keys(aliases),
      created_at: '2026-03-01T10:00:00Z',
      user: 'ada',
      metrics: {}
    }
  ]
});

/** A report as the server sends it: non-finite floats as strings. */
function report(day: number, share: number | string, metrics: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    timestamp: `2026-03-0${day}T08:00:00.000000Z`,
    version: 1,
    n_rows: 800,
    n_columns: 5,
    drifted_columns: typeof share === 'number' ? Math.round(share * 5) : 0,
    drift_share: share,
    dataset_drift: typeof share === 'number' && share >= 0.5,
    prediction_drift: false,
    prediction_score: 'NaN',
    report_id: `r${day}`,
    source: null,
    metrics
  };
}

function feature(
  column: string,
  test: string,
  score: unknown,
  threshold: number,
  drifted: boolean
): Record<string, unknown> {
  return {
    report_id: 'r3',
    version: 1,
    timestamp: '2026-03-03T08:00:00.000000Z',
    column,
    kind: test === 'chisquare' || test === 'jensenshannon' ? 'categorical' : 'numeric',
    stat_test: test,
    score,
    threshold,
    drifted,
    psi: 'Infinity',
    reference_nulls: 0,
    current_nulls: 0.025
  };
}

const monitoring = {
  name: 'churn',
  reports: [report(1, 0, { accuracy: 0.9 }), report(2, 0.2, { accuracy: 'NaN' }), report(3, 0.6)],
  features: [
    // not in the drifted-first order on purpose: the view must put drifted columns first
    feature('age', 'ks', 0.4, 0.05, false),
    feature('tenure', 'wasserstein', 0.31, 0.1, true),
    feature('plan', 'chisquare', 0.0012, 0.05, true)
  ]
};

function serve(body: unknown): void {
  api.mockImplementation(async (path: string) => {
    if (path === 'models/churn/monitoring') {
      return body;
    }
    throw new ApiError(`unexpected GET ${path}`, 500);
  });
}

describe('NbmlopsModel.monitoring', () => {
  let model: NbmlopsModel;
  beforeEach(() => {
    api.mockReset();
    model = new NbmlopsModel({ interval: 60_000 });
  });
  afterEach(() => model.dispose());

  it('asks models/{name}/monitoring with the name encoded and decodes non-finite numbers', async () => {
    api.mockResolvedValue({ ...monitoring, name: 'churn/eu' });
    const found = await model.monitoring('churn/eu');
    expect(api.mock.calls[0][0]).toBe('models/churn%2Feu/monitoring');
    expect(found.reports[1].metrics.accuracy).toBeNaN();
    expect(found.reports[0].prediction_score).toBeNaN();
    expect(found.reports[2].drift_share).toBe(0.6);
    expect(found.features[0].psi).toBe(Infinity);
    expect(found.features[0].current_nulls).toBe(0.025);
  });

  it('keeps missing numbers as null', async () => {
    api.mockResolvedValue({
      name: 'churn',
      reports: [{ ...report(1, 'NaN'), prediction_score: null }],
      features: [{ ...feature('x', 'empty', null, 0.05, false), psi: null, reference_nulls: null }]
    });
    const found = await model.monitoring('churn');
    expect(found.reports[0].drift_share).toBeNaN();
    expect(found.reports[0].prediction_score).toBeNull();
    expect(found.features[0].score).toBeNull();
    expect(found.features[0].psi).toBeNull();
    expect(found.features[0].reference_nulls).toBeNull();
  });
});

describe('ModelMonitoring', () => {
  let model: NbmlopsModel;
  beforeEach(() => {
    api.mockReset();
    model = new NbmlopsModel({ interval: 60_000 });
  });
  afterEach(() => model.dispose());

  it('lists drifted features first with their test, score against the threshold, PSI and nulls', async () => {
    serve(monitoring);
    render(<ModelMonitoring model={model} trans={trans} detail={detail()} />);
    expect(screen.getByRole('heading', { name: 'Monitoring' })).toBeTruthy();
    const table = await screen.findByRole('table', { name: 'Feature drift of churn' });
    const rows = within(table).getAllByRole('row').slice(1);
    expect(rows.map(row => within(row).getByRole('rowheader').textContent)).toEqual(['plan', 'tenure', 'age']);
    expect(rows[0].textContent).toContain('chisquare');
    expect(rows[0].textContent).toContain('0.0012 < 0.05');
    expect(rows[0].textContent).toContain('drift');
    expect(rows[1].textContent).toContain('wasserstein');
    expect(rows[1].textContent).toContain('0.31 ≥ 0.1');
    expect(rows[2].textContent).toContain('0.4 ≥ 0.05');
    expect(rows[2].textContent).toContain('no drift');
    expect(rows[2].textContent).toContain('∞');
    expect(rows[2].textContent).toContain('0.0% → 2.5%');
    // the latest report in a line, its dataset drift named; the charts are labelled images
    expect(screen.getByText('3 of 5 columns drifted (60%)', { exact: false })).toBeTruthy();
    expect(screen.getByRole('img', { name: 'Drift share of churn over 3 reports' })).toBeTruthy();
    expect(screen.getByRole('img', { name: 'Performance metrics of churn over time' })).toBeTruthy();
  });

  it('shows the command to run when the model has no report yet', async () => {
    serve({ name: 'churn', reports: [], features: [] });
    render(<ModelMonitoring model={model} trans={trans} detail={detail()} />);
    const empty = await screen.findByText('nbmlops monitor churn@production batch.csv');
    expect(empty.tagName).toBe('CODE');
    expect(empty.parentElement?.textContent).toBe(
      'No monitoring reports yet: run nbmlops monitor churn@production batch.csv'
    );
    expect(screen.queryByRole('img')).toBeNull();
  });

  it('suggests the latest version when there is no production alias', async () => {
    serve({ name: 'churn', reports: [], features: [] });
    render(<ModelMonitoring model={model} trans={trans} detail={detail({})} />);
    expect(await screen.findByText('nbmlops monitor churn/1 batch.csv')).toBeTruthy();
  });

  it('leaves out the performance chart when no report had labels, and refreshes on a tick', async () => {
    serve({ name: 'churn', reports: [report(1, 0)], features: [] });
    render(<ModelMonitoring model={model} trans={trans} detail={detail()} />);
    expect(await screen.findByRole('img', { name: 'Drift share of churn over 1 reports' })).toBeTruthy();
    expect(screen.queryByRole('img', { name: /Performance/ })).toBeNull();

    serve(monitoring);
    await act(async () => {
      await model.refresh(); // the refresh round fails on the mock's 500 but still ticks
    });
    expect(await screen.findByRole('img', { name: 'Drift share of churn over 3 reports' })).toBeTruthy();
  });

  it('shows a server error in one line', async () => {
    api.mockRejectedValue(new ApiError("model 'churn' is not registered", 404));
    render(<ModelMonitoring model={model} trans={trans} detail={detail()} />);
    await waitFor(() => expect(screen.getByRole('alert').textContent).toContain('is not registered'));
  });
});

describe('monitoring helpers', () => {
  it('orders drifted features first, then by column', () => {
    const rows = [
      { column: 'b', drifted: false },
      { column: 'c', drifted: true },
      { column: 'a', drifted: false },
      { column: 'd', drifted: true }
    ] as FeatureDriftRow[];
    expect(driftedFirst(rows).map(r => r.column)).toEqual(['c', 'd', 'a', 'b']);
  });

  it('formats shares as percentages, missing ones as a dash', () => {
    expect(formatShare(0.6)).toBe('60%');
    expect(formatShare(0.025, 1)).toBe('2.5%');
    expect(formatShare(NaN)).toBe('–');
    expect(formatShare(null)).toBe('–');
  });
});
