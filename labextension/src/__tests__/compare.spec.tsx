import { nullTranslator } from '@jupyterlab/translation';
import { act, fireEvent, render, screen, within } from '@testing-library/react';
import * as React from 'react';

import { ApiError, requestAPI } from '../api';
import { CompareView } from '../components/CompareView';
import { MetricChart } from '../components/MetricChart';
import { NbmlopsModel } from '../model';
import { Actions, RunDetail } from '../types';

jest.mock('../api', () => ({
  ...jest.requireActual<typeof import('../api')>('../api'),
  requestAPI: jest.fn()
}));

const mockedRequest = requestAPI as jest.MockedFunction<typeof requestAPI>;
const trans = nullTranslator.load('nbmlops');

function run(id: string, name: string, params: RunDetail['params'], metrics: Record<string, unknown>): RunDetail {
  return {
    run_id: id,
    name,
    experiment: 'demo',
    status: 'FINISHED',
    start_time: '2026-01-01T00:00:00Z',
    end_time: '2026-01-01T00:01:00Z',
    duration: 60,
    user: null,
    host: null,
    parent_run_id: null,
    notebook: null,
    params,
    metrics: metrics as Record<string, number>,
    tags: {},
    error: null,
    artifacts: [],
    datasets: []
  };
}

const RUNS: Record<string, RunDetail> = {
  r1: run('r1', 'baseline', { lr: 0.1, optimizer: 'adam', seed: 7 }, { accuracy: 0.91, val_loss: 0.35 }),
  r2: run(
    'r2',
    'wider 🚀 ' + 'x'.repeat(200),
    { lr: 0.01, optimizer: 'adam', seed: 7, layers: 4 },
    {
      accuracy: 0.88,
      val_loss: 0.3
    }
  ),
  r3: run('r3', 'nan run', { lr: 0.5, optimizer: 'sgd', seed: 7 }, { accuracy: 'NaN' })
};

/** The directions of GET keys in these tests: the server's word, whatever the names suggest. */
const DIRECTIONS: Record<string, 'min' | 'max'> = { accuracy: 'max', val_loss: 'min' };

function serve(runs: Record<string, RunDetail>, directions = DIRECTIONS): void {
  mockedRequest.mockImplementation(async (path: string) => {
    const parts = path.split('?')[0].split('/').map(decodeURIComponent);
    if (parts[0] === 'keys') {
      return { params: [], metrics: Object.keys(directions), tags: [], directions };
    }
    if (parts[0] === 'runs' && parts.length === 2 && runs[parts[1]]) {
      return runs[parts[1]];
    }
    if (parts[0] === 'runs' && parts[2] === 'metrics' && runs[parts[1]]) {
      return {
        key: parts[3],
        total: 3,
        downsampled: false,
        max_points: 4000,
        points: {
          step: [0, 1, 2],
          timestamp: ['2026-01-01T00:00:00Z', '2026-01-01T00:00:01Z', '2026-01-01T00:00:02Z'],
          value: [1, 'NaN', 0.5]
        }
      };
    }
    throw new ApiError(`run ${parts[1]} not found`, 404);
  });
}

const actions: Actions = {
  openRuns: jest.fn(),
  openRun: jest.fn(),
  compare: jest.fn(),
  openModels: jest.fn(),
  openNotebook: jest.fn()
};

/** The cells of a metric's row marked best in the Metrics table. */
function bestIn(metric: string): string[] {
  const table = screen.getByRole('table', { name: 'Metrics' });
  return Array.from(
    within(table)
      .getByRole('row', { name: new RegExp(`^${metric}`) })
      .querySelectorAll('td[data-best]')
  ).map(cell => cell.textContent ?? '');
}

async function renderCompare(runIds: string[]): Promise<NbmlopsModel> {
  const model = new NbmlopsModel();
  await act(async () => {
    render(<CompareView model={model} trans={trans} actions={actions} runIds={runIds} />);
  });
  return model;
}

beforeAll(() => {
  // jsdom has no canvas: the charts must render their DOM and skip drawing
  jest.spyOn(HTMLCanvasElement.prototype, 'getContext').mockReturnValue(null);
});

afterEach(() => {
  mockedRequest.mockReset();
});

describe('CompareView', () => {
  it('asks for two or more runs when given fewer', async () => {
    serve(RUNS);
    await renderCompare(['r1']);
    expect(screen.getByRole('status').textContent).toMatch(
      /select two or more runs in the runs table and press Compare/i
    );
    expect(mockedRequest).not.toHaveBeenCalled();
  });

  it('hides equal params with "Only differences" and shows them when unchecked', async () => {
    serve(RUNS);
    await renderCompare(['r1', 'r2']);
    const table = screen.getByRole('table', { name: 'Parameter differences' });
    const rowNames = (): string[] =>
      within(table)
        .getAllByRole('rowheader')
        .map(cell => cell.textContent ?? '');
    expect(rowNames()).toEqual(['layers', 'lr']);
    const changed = within(table).getByRole('row', { name: /^lr/ }).querySelectorAll('td.jp-nbmlops-changed');
    expect(changed).toHaveLength(1);

    const only = screen.getByRole('checkbox', { name: 'Only differences' });
    expect((only as HTMLInputElement).checked).toBe(true);
    fireEvent.click(only);
    expect(rowNames()).toEqual(['layers', 'lr', 'optimizer', 'seed']);
  });

  it('highlights the best value per metric and flips the direction on request', async () => {
    serve(RUNS);
    await renderCompare(['r1', 'r2']);
    expect(bestIn('accuracy')).toEqual(['0.91 (best)']);
    expect(bestIn('val_loss')).toEqual(['0.3 (best)']); // the server says min

    fireEvent.click(screen.getByRole('button', { name: /val_loss: lower is better/ }));
    expect(bestIn('val_loss')).toEqual(['0.35 (best)']);
    expect(screen.getByRole('button', { name: /val_loss: higher is better/ })).toBeTruthy();
  });

  it("ranks metrics the way the server's directions say, a metric it does not list as higher-is-better", async () => {
    const timed = {
      r1: run('r1', 'a', {}, { accuracy: 0.91, fit_time: 2, val_loss: 0.35 }),
      r2: run('r2', 'b', {}, { accuracy: 0.88, fit_time: 5, val_loss: 0.3 })
    };
    serve(timed, { accuracy: 'min', fit_time: 'max' });
    await renderCompare(['r1', 'r2']);
    expect(bestIn('accuracy')).toEqual(['0.88 (best)']);
    expect(screen.getByRole('button', { name: /accuracy: lower is better/ })).toBeTruthy();
    expect(bestIn('fit_time')).toEqual(['5 (best)']);
    expect(bestIn('val_loss')).toEqual(['0.35 (best)']);
    expect(mockedRequest.mock.calls.map(call => call[0])).toContain('keys?experiment=demo');
  });

  it('shows the sections as headings, the runs with links, and long unicode names whole in titles', async () => {
    serve(RUNS);
    await renderCompare(['r1', 'r2', 'r3']);
    for (const name of ['Parameters', 'Metrics', 'Charts', 'Scatter', 'Parallel coordinates']) {
      expect(screen.getByRole('heading', { name })).toBeTruthy();
    }
    const runs = screen.getByRole('list', { name: 'Compared runs' });
    fireEvent.click(within(runs).getByRole('button', { name: 'baseline' }));
    expect(actions.openRun).toHaveBeenCalledWith('r1');
    expect(
      within(runs)
        .getByRole('button', { name: /^wider 🚀 x+$/ })
        .getAttribute('title')
    ).toContain('x'.repeat(200));
    // NaN is shown, never "best"
    const accuracy = within(screen.getByRole('table', { name: 'Metrics' })).getByRole('row', { name: /^accuracy/ });
    expect(accuracy.textContent).toContain('NaN');
    expect(accuracy.querySelectorAll('td[data-best]')).toHaveLength(1);
    expect(screen.getByRole('img', { name: /Parallel coordinates of 3 runs/ })).toBeTruthy();
    const scatter = screen.getByRole('region', { name: 'Scatter' });
    expect(within(scatter).getByRole<HTMLSelectElement>('combobox', { name: 'X axis' }).value).toBe('param:lr');
    expect(
      within(screen.getByRole('figure', { name: 'val_loss' })).getByRole('checkbox', { name: 'Log scale' })
    ).toBeTruthy();
  });

  it('says which run cannot be compared when one was deleted', async () => {
    serve(RUNS);
    await renderCompare(['r1', 'r2', 'gone']);
    expect(screen.getByRole('alert').textContent).toContain('Run gone cannot be compared: run gone not found');
    expect(screen.getByRole('table', { name: 'Metrics' })).toBeTruthy();
  });

  it('says so when fewer than two of the runs exist', async () => {
    serve(RUNS);
    await renderCompare(['r1', 'gone']);
    expect(screen.getByRole('alert')).toBeTruthy();
    expect(screen.getByText(/Select two or more runs/)).toBeTruthy();
    expect(screen.queryByRole('table')).toBeNull();
  });
});

describe('MetricChart', () => {
  it('renders its controls and legend without a canvas and asks for a bounded number of points', async () => {
    serve(RUNS);
    const model = new NbmlopsModel();
    await act(async () => {
      render(
        <MetricChart
          model={model}
          trans={trans}
          metric="val_loss"
          series={[
            { runId: 'r1', label: 'baseline' },
            { runId: 'r2', label: 'wider' }
          ]}
        />
      );
    });
    expect(screen.getByRole('checkbox', { name: 'Log scale' })).toBeTruthy();
    expect(screen.getByRole('slider', { name: /Smoothing/ })).toBeTruthy();
    expect(screen.getByRole('combobox', { name: 'X axis' })).toBeTruthy();
    const legend = screen.getByRole('list', { name: 'Runs in the chart' });
    expect(within(legend).getAllByRole('button')).toHaveLength(2);
    expect(mockedRequest.mock.calls.map(call => call[0])).toEqual([
      'runs/r1/metrics/val_loss?max_points=4000',
      'runs/r2/metrics/val_loss?max_points=4000'
    ]);
    fireEvent.click(within(legend).getByRole('button', { name: /baseline/ }));
    expect(
      within(legend)
        .getByRole('button', { name: /baseline/ })
        .getAttribute('aria-pressed')
    ).toBe('false');
  });
});
