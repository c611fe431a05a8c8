import { nullTranslator } from '@jupyterlab/translation';
import { fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import * as React from 'react';

import { ApiError, requestAPI } from '../api';
import { StatusBadge } from '../components/common';
import { RunDetailView } from '../components/RunDetailView';
import { loadStudy } from '../components/RunStudy';
import { studyLayout } from '../components/StudyChart';
import { NbmlopsModel } from '../model';
import {
  bestSoFar,
  bestTrial,
  importancesFrom,
  isStudyRun,
  latestTable,
  stateCounts,
  studyDirection,
  studyInfo,
  summaryBest,
  trialsFrom,
  trialsFromRuns
} from '../study';
import { MediaItem, RunDetail, RunRecord, TablePage } from '../types';
import { actions } from './actionsFixture';
import {
  CHILD_RUNS,
  IMPORTANCES,
  IMPORTANCES_ITEM,
  PARENT,
  PRUNED_CHILD,
  RUNNING_PARENT,
  tableItem,
  TRIALS,
  TRIALS_ITEM
} from './studyFixture';

jest.mock('../api', () => ({
  ...jest.requireActual<typeof import('../api')>('../api'),
  requestAPI: jest.fn()
}));

const api = requestAPI as jest.MockedFunction<typeof requestAPI>;
const trans = nullTranslator.load('nbmlops');

describe('study logic', () => {
  const trials = trialsFrom([TRIALS]);

  it('reads the trials sorted by trial, NaN for a missing value, params by name', () => {
    expect(trials.map(t => t.trial)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(trials[3]).toMatchObject({ state: 'FAIL', runId: 'run-3' });
    expect(trials[3].value).toBeNaN();
    expect(trials[0].params).toEqual({ lr: 0.01, optimizer: 'adam', 'taux ✓': 1 });
  });

  it('keeps the best value so far of complete trials only, by direction', () => {
    // the pruned trial's 0.5 is an intermediate value: it is better for minimize but does not count
    expect(bestSoFar(trials, 'maximize')).toEqual([0.8, 0.8, 0.91, 0.91, 0.91, 0.91]);
    expect(bestSoFar(trials, 'minimize')).toEqual([0.8, 0.8, 0.8, 0.8, 0.7, 0.7]);
    expect(bestTrial(trials, 'maximize')?.trial).toBe(2);
    expect(bestTrial(trials, 'minimize')?.trial).toBe(4);
  });

  it('is NaN before the first complete trial, and no best trial when none completed', () => {
    const early = trialsFrom([{ ...TRIALS, rows: [TRIALS.rows[4], TRIALS.rows[3], TRIALS.rows[2]] }]);
    const best = bestSoFar(early, 'maximize');
    expect(best[0]).toBeNaN();
    expect(best[1]).toBeNaN();
    expect(best[2]).toBe(0.7); // trials 1 (pruned), 3 (failed), 4 (complete)
    expect(bestTrial(early.slice(0, 2), 'minimize')).toBeNull();
  });

  it('counts trials by state, an unknown state apart', () => {
    expect(stateCounts(trials)).toEqual({ complete: 3, pruned: 2, failed: 1, running: 0, other: 0 });
    const running = trialsFrom([{ ...TRIALS, rows: [[9, 'r', 'running', null, null, 0, 1, 'x', 1]] }]);
    expect(stateCounts(running)).toEqual({ complete: 0, pruned: 0, failed: 0, running: 1, other: 0 });
  });

  it('skips rows without a trial number and reads hostile values as missing', () => {
    const hostile = trialsFrom([
      {
        ...TRIALS,
        rows: [
          [null, 'x', 'COMPLETE', 1, 1, 0, 0, 'a', 0],
          [7, null, 'COMPLETE', 'Infinity', null, null, 0, 'a', 0],
          [8, '', null, true, null, null, 0, 'a', 0]
        ]
      }
    ]);
    expect(hostile.map(t => t.trial)).toEqual([7, 8]);
    expect(hostile[0].runId).toBeNull();
    expect(hostile[0].value).toBeNaN();
    expect(hostile[1].state).toBe('FAIL');
    expect(hostile[1].value).toBeNaN();
  });

  it('reads the trials of a running sweep from its child runs, as Optuna would tell their states', () => {
    const live = trialsFromRuns(CHILD_RUNS, 'accuracy');
    expect(live.map(t => [t.trial, t.state, t.runId])).toEqual([
      [0, 'COMPLETE', 'child-0'],
      [1, 'PRUNED', 'child-1'],
      [2, 'RUNNING', 'child-2'],
      [3, 'FAIL', 'child-3'] // finished without the metric: the study got nothing from it
    ]);
    expect(live[1].value).toBe(0.5);
    expect(live[3].value).toBeNaN();
    expect(live[0].params).toEqual({ lr: 0.01 });
    expect(bestSoFar(live, 'maximize')).toEqual([0.8, 0.8, 0.8, 0.8]); // intermediate values never count
    expect(trialsFromRuns(CHILD_RUNS, 'loss').map(t => t.state)).toEqual(['FAIL', 'PRUNED', 'RUNNING', 'FAIL']);
  });

  it('sorts importances largest first and leaves out rows without a number', () => {
    expect(importancesFrom([IMPORTANCES])).toEqual([
      { param: 'taux ✓', importance: 0.7 },
      { param: 'lr', importance: 0.25 },
      { param: 'optimizer', importance: 0.05 }
    ]);
    expect(importancesFrom([])).toEqual([]);
  });

  it('reads the study settings from the tags, minimize unless told otherwise', () => {
    expect(isStudyRun(PARENT)).toBe(true);
    expect(isStudyRun(PRUNED_CHILD)).toBe(false);
    expect(studyInfo(PARENT)).toMatchObject({
      sampler: 'tpe',
      pruner: 'median',
      direction: 'maximize',
      metric: 'accuracy',
      requested: 8,
      bestRun: 'run-2',
      bestTrial: 2,
      bestValue: 0.91
    });
    expect(studyDirection(undefined)).toBe('minimize');
    expect(studyDirection(' MAXIMIZE ')).toBe('maximize');
    const bare = studyInfo({ ...PARENT, metrics: {}, tags: { 'sweep.sampler': 'cmaes', 'sweep.trials': 'many' } });
    expect(bare).toMatchObject({ pruner: 'none', direction: 'minimize', requested: null, bestTrial: null });
    // without the best tags the table decides
    expect(summaryBest(bare, trials)).toEqual({ trial: 4, runId: 'run-4', value: 0.7 });
  });

  it('picks the latest step of a table among the media', () => {
    const items: MediaItem[] = [tableItem('sweep.trials', 2), tableItem('sweep.trials', 10), tableItem('other', 11)];
    expect(latestTable(items, 'sweep.trials')?.step).toBe(10);
    expect(latestTable(items, 'sweep.importances')).toBeNull();
  });

  it('lays out trials by number and value, those without a value in a strip under the rest', () => {
    const layout = studyLayout(trials, bestSoFar(trials, 'maximize'), 600, 260);
    expect(layout.band).toBe(true);
    for (let i = 1; i < trials.length; i++) {
      expect(layout.px[i]).toBeGreaterThan(layout.px[i - 1]);
    }
    const valued = [0, 1, 2, 4].map(i => layout.py[i]);
    expect(layout.py[3]).toBeGreaterThan(Math.max(...valued)); // the failed trial, below every value
    expect(layout.py[5]).toBe(layout.py[3]);
    expect(layout.py[2]).toBeLessThan(layout.py[0]); // 0.91 above 0.8
    expect(layout.bestY[2]).toBe(layout.py[2]);
    // a lone trial and huge values stay on the canvas
    const lone = studyLayout(
      trialsFrom([{ ...TRIALS, rows: [[0, 'r', 'COMPLETE', 1e308, 1e308, 0, 0, 'a', 0]] }]),
      [1e308],
      300,
      200
    );
    expect(Number.isFinite(lone.px[0]) && Number.isFinite(lone.py[0])).toBe(true);
    expect(lone.band).toBe(false);
  });
});

interface Serve {
  run?: RunDetail;
  media?: MediaItem[] | ApiError;
  trials?: TablePage | ApiError;
  importances?: TablePage | ApiError;
  children?: RunRecord[];
}

function serve(options: Serve = {}): void {
  const runs = [options.run ?? PARENT, PRUNED_CHILD];
  api.mockImplementation(async (path: string) => {
    const [route, search] = path.split('?');
    const parts = route.split('/').map(decodeURIComponent);
    const params = new URLSearchParams(search ?? '');
    if (parts[0] === 'runs' && parts[2] === 'media' && parts[3] === 'table') {
      const answer =
        params.get('path') === TRIALS_ITEM.path ? (options.trials ?? TRIALS) : (options.importances ?? IMPORTANCES);
      if (answer instanceof ApiError) {
        throw answer;
      }
      return answer;
    }
    if (parts[0] === 'runs' && parts[2] === 'media') {
      const media = options.media ?? [IMPORTANCES_ITEM, TRIALS_ITEM];
      if (media instanceof ApiError) {
        throw media;
      }
      return { media };
    }
    if (parts[0] === 'runs' && parts.length === 1) {
      if (Number(params.get('limit')) > 10_000) {
        throw new ApiError('limit must be at most 10000', 400); // as the server answers
      }
      const children =
        params.get('where') === `parent_run_id = '${RUNNING_PARENT.run_id}'` ? (options.children ?? []) : [];
      return { runs: children, total: children.length, offset: 0, limit: Number(params.get('limit')) };
    }
    if (parts[0] === 'lineage') {
      return { root: `run:${parts[1]}`, edges: [] };
    }
    if (parts[0] === 'runs' && parts.length === 2) {
      const run = runs.find(r => r.run_id === parts[1]);
      if (run) {
        return run;
      }
    }
    if (parts[0] === 'runs' && parts[2] === 'metrics') {
      return {
        key: parts[3],
        total: 1,
        downsampled: false,
        max_points: 4000,
        points: { step: [0], timestamp: ['2026-03-01T12:00:00Z'], value: [1] }
      };
    }
    throw new ApiError(`unexpected ${path}`, 500);
  });
}

beforeAll(() => {
  // jsdom has no canvas: the chart renders its DOM and skips drawing
  jest.spyOn(HTMLCanvasElement.prototype, 'getContext').mockReturnValue(null);
});

describe('Run detail: Study', () => {
  let model: NbmlopsModel;

  beforeEach(() => {
    api.mockReset();
    model = new NbmlopsModel();
  });

  afterEach(() => {
    model.dispose();
  });

  async function open(run: RunDetail = PARENT, acts = actions()): Promise<HTMLElement> {
    render(<RunDetailView model={model} trans={trans} actions={acts} runId={run.run_id} />);
    await screen.findByRole('heading', { name: run.name });
    return screen.findByRole('region', { name: 'Study' });
  }

  it('sums up the study, and its best trial opens the best run', async () => {
    serve();
    const acts = actions();
    const study = await open(PARENT, acts);
    await within(study).findByText(/6 of 8 trials/);
    const summary = study.querySelector('.jp-nbmlops-study-summary') as HTMLElement;
    expect(summary.textContent).toContain('tpe sampler');
    expect(summary.textContent).toContain('median pruner');
    expect(summary.textContent).toContain('maximize accuracy');
    expect(summary.textContent).toContain('6 of 8 trials: 3 complete / 2 pruned / 1 failed');
    expect(summary.textContent).toContain('best 0.91 at trial 2');
    fireEvent.click(within(study).getByRole('button', { name: 'trial 2' }));
    expect(acts.openRun).toHaveBeenCalledWith('run-2');
  });

  it('draws the objective over trials with a legend, and a trial shows its state, value and params', async () => {
    serve();
    const acts = actions();
    const study = await open(PARENT, acts);
    const chart = await within(study).findByRole('img', { name: /accuracy over 6 trials/ });
    const legend = within(study).getByRole('list', { name: 'Legend' });
    expect(legend.textContent).toContain('pruned');
    expect(legend.textContent).toContain('failed');
    expect(legend.textContent).toContain('best so far');

    fireEvent.keyDown(chart, { key: 'ArrowRight' });
    fireEvent.keyDown(chart, { key: 'ArrowRight' });
    const tip = within(study).getByRole('status');
    expect(tip.textContent).toContain('Trial 1');
    expect(tip.textContent).toContain('PRUNED');
    expect(tip.textContent).toContain('accuracy = 0.5');
    expect(tip.textContent).toContain('taux ✓ = 2');
    fireEvent.keyDown(chart, { key: 'ArrowRight' });
    fireEvent.keyDown(chart, { key: 'ArrowRight' });
    expect(within(study).getByRole('status').textContent).toContain('accuracy = none'); // the failed trial
    fireEvent.keyDown(chart, { key: 'Enter' });
    expect(acts.openRun).toHaveBeenCalledWith('run-3');
  });

  it('shows the importances as bars, largest first', async () => {
    serve();
    const study = await open();
    const list = await within(study).findByRole('list', { name: 'Parameter importances' });
    const names = within(list)
      .getAllByRole('listitem')
      .map(item => item.querySelector('.jp-nbmlops-importance-name')?.textContent);
    expect(names).toEqual(['taux ✓', 'lr', 'optimizer']);
    const widths = Array.from(list.querySelectorAll<HTMLElement>('.jp-nbmlops-importance-fill')).map(
      f => f.style.width
    );
    expect(widths[0]).toBe('100%');
  });

  it('leaves the importances out when the sweep logged none', async () => {
    serve({ media: [TRIALS_ITEM] });
    const study = await open();
    await within(study).findByRole('img', { name: /accuracy over 6 trials/ });
    expect(within(study).queryByRole('list', { name: 'Parameter importances' })).toBeNull();
    expect(within(study).queryByText('Parameter importances')).toBeNull();
    expect(within(study).queryByRole('alert')).toBeNull();
  });

  it('says in one line that the trials table could not be read', async () => {
    serve({ trials: new ApiError('cannot read media/table/sweep.trials.parquet: not a Parquet file', 409) });
    const study = await open();
    const alert = await within(study).findByRole('alert');
    expect(alert.textContent).toBe(
      'The study’s trials table could not be read: cannot read media/table/sweep.trials.parquet: not a Parquet file'
    );
    expect(within(study).queryByRole('img')).toBeNull();
  });

  it('still draws the trials when only the importances fail', async () => {
    serve({ importances: new ApiError('importances gone', 404) });
    const study = await open();
    await within(study).findByRole('img', { name: /accuracy over 6 trials/ });
    expect((await within(study).findByRole('alert')).textContent).toContain(
      'importances could not be read: importances gone'
    );
  });

  it('says so in one line when the media cannot be listed', async () => {
    serve({ media: new ApiError('the store is locked: retry', 503) });
    const study = await open();
    expect((await within(study).findByRole('alert')).textContent).toBe(
      'The study could not be read: the store is locked: retry'
    );
  });

  it('says so while a running sweep has no trial yet', async () => {
    serve({ run: RUNNING_PARENT, media: [] });
    const study = await open(RUNNING_PARENT);
    await within(study).findByText(/No trials yet/);
  });

  it('draws a running sweep from its child runs until it logs its tables', async () => {
    serve({ run: RUNNING_PARENT, media: [], children: CHILD_RUNS });
    const acts = actions();
    const study = await open(RUNNING_PARENT, acts);
    await within(study).findByText(/From the trial runs so far/);
    const summary = study.querySelector('.jp-nbmlops-study-summary') as HTMLElement;
    expect(summary.textContent).toContain('4 of 8 trials: 1 complete / 1 pruned / 1 failed / 1 running');
    expect(summary.textContent).toContain('best 0.8 at trial 0');
    fireEvent.click(within(study).getByRole('button', { name: 'trial 0' }));
    expect(acts.openRun).toHaveBeenCalledWith('child-0');
    expect(within(study).getByRole('list', { name: 'Legend' }).textContent).toContain('running');
    within(study).getByRole('img', { name: /accuracy over 4 trials/ });
    expect(within(study).queryByRole('list', { name: 'Parameter importances' })).toBeNull();
  });

  it('is absent from a run that is not a sweep parent; a pruned trial shows its status and step', async () => {
    serve();
    render(<RunDetailView model={model} trans={trans} actions={actions()} runId={PRUNED_CHILD.run_id} />);
    const header = await screen.findByRole('heading', { name: 'trial-1' });
    expect(screen.queryByRole('region', { name: 'Study' })).toBeNull();
    const badge = within(header.parentElement as HTMLElement).getByText('PRUNED');
    expect(badge.className).toContain('jp-nbmlops-status-pruned');
    expect(screen.getByText("at step 3, by the sweep's pruner")).toBeTruthy();
    expect(screen.getByText('1 of the sweep (its parent run)')).toBeTruthy();
  });

  it('reads a study of 2,500 trials in pages of 1,000', async () => {
    const rows = Array.from({ length: 2500 }, (_, i) => [
      i,
      `r${i}`,
      i % 10 ? 'COMPLETE' : 'PRUNED',
      i / 2500,
      null,
      1,
      i,
      'a',
      0
    ]);
    api.mockImplementation(async (path: string) => {
      const [route, search] = path.split('?');
      if (route.endsWith('/media')) {
        return { media: [TRIALS_ITEM] };
      }
      const params = new URLSearchParams(search);
      const offset = Number(params.get('offset'));
      const limit = Number(params.get('limit'));
      return { ...TRIALS, rows: rows.slice(offset, offset + limit), total_rows: rows.length };
    });
    const data = await loadStudy(model, PARENT);
    expect(data.trials?.length).toBe(2500);
    expect(data.trials?.[2499].trial).toBe(2499);
    expect(stateCounts(data.trials ?? [])).toMatchObject({ complete: 2250, pruned: 250 });
    expect(data.importances).toBeNull();
    await waitFor(() => expect(api.mock.calls.filter(([p]) => p.includes('media/table')).length).toBe(3));
  });
});

describe('the PRUNED status', () => {
  it('has a badge of its own', () => {
    render(<StatusBadge status="PRUNED" />);
    expect(screen.getByText('PRUNED').className).toBe('jp-nbmlops-status jp-nbmlops-status-pruned');
  });
});
