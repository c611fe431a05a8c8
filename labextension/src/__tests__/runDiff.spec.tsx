import { RenderMimeRegistry, standardRendererFactories } from '@jupyterlab/rendermime';
import { nullTranslator } from '@jupyterlab/translation';
import { act, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import * as React from 'react';

import { ApiError, requestAPI } from '../api';
import { CompareView } from '../components/CompareView';
import { lineKind } from '../components/RunDiffCode';
import { RunDetailView } from '../components/RunDetailView';
import { RunDiffView } from '../components/RunDiffView';
import { NbmlopsModel } from '../model';
import { RunDetail, RunDiff } from '../types';
import { actions } from './actionsFixture';
import { NOTEBOOK_DIFF, NOTEBOOK_DIFF_ROWS, TRACK_DIFF } from './runDiffFixture';

jest.mock('../api', () => ({
  ...jest.requireActual<typeof import('../api')>('../api'),
  requestAPI: jest.fn()
}));

const api = requestAPI as jest.MockedFunction<typeof requestAPI>;
const trans = nullTranslator.load('nbmlops');
const A = NOTEBOOK_DIFF.a.run_id;
const B = NOTEBOOK_DIFF.b.run_id;

function detail(id: string, extra: Partial<RunDetail> = {}): RunDetail {
  return {
    run_id: id,
    name: 'train',
    experiment: 'churn',
    status: 'FINISHED',
    start_time: '2026-12-06T00:06:03.206285Z',
    end_time: '2026-12-06T00:06:04.206285Z',
    duration: 1.4,
    user: null,
    host: null,
    parent_run_id: null,
    notebook: 'work/train.ipynb',
    params: {},
    metrics: {},
    tags: {},
    error: null,
    artifacts: [],
    datasets: [],
    ...extra
  };
}

/** The diff requests seen, as "A B rows". */
let asked: string[] = [];

/** Answer GET runs/{id}, keys and runs/{a}/diff/{b} (with `diffs[rows]`); anything else is a 404. */
function serve(diffs: Record<'true' | 'false', RunDiff | Error>, runs: RunDetail[] = [detail(A), detail(B)]): void {
  asked = [];
  api.mockImplementation(async (path: string) => {
    const [route, search] = path.split('?');
    const parts = route.split('/').map(decodeURIComponent);
    if (parts[0] === 'keys') {
      return { params: [], metrics: [], tags: [], directions: {} };
    }
    if (parts[0] === 'runs' && parts[2] === 'diff') {
      const rows = new URLSearchParams(search).get('rows') as 'true' | 'false';
      asked.push(`${parts[1]} ${parts[3]} ${rows}`);
      const answer = diffs[rows];
      if (answer instanceof Error) {
        throw answer;
      }
      return answer;
    }
    const run = runs.find(r => r.run_id === parts[1]);
    if (parts[0] === 'runs' && parts.length === 2 && run) {
      return run;
    }
    throw new ApiError(`no ${path}`, 404);
  });
}

function section(name: string): HTMLElement {
  return screen.getByRole('region', { name });
}

function headings(): string[] {
  return screen.getAllByRole('heading', { level: 3 }).map(h => h.textContent ?? '');
}

afterEach(() => api.mockReset());

describe('the Diff tab of the compare view', () => {
  it('shows the changed param with both values, worse metrics, the changed line, and compares rows when asked', async () => {
    serve({ false: NOTEBOOK_DIFF, true: NOTEBOOK_DIFF_ROWS });
    render(<CompareView model={new NbmlopsModel()} trans={trans} actions={actions()} runIds={[A, B]} />);
    const tab = await screen.findByRole('tab', { name: 'Diff' });
    expect(screen.getByRole('tab', { name: 'Side by side' }).getAttribute('aria-selected')).toBe('true');
    fireEvent.click(tab);
    expect(tab.getAttribute('aria-selected')).toBe('true');
    await screen.findByRole('table', { name: 'Parameter changes' });
    expect(asked).toEqual([`${A} ${B} false`]); // the quick diff first
    expect(headings()).toEqual(['Parameters', 'Metrics', 'Code', 'Data', 'Status and duration']);

    const [alpha] = within(section('Parameters')).getAllByRole('row').slice(1);
    expect(
      within(alpha)
        .getAllByRole('cell')
        .map(c => c.textContent)
    ).toEqual(['changed', '0.5', '0.25']);

    const metrics = within(section('Metrics')).getAllByRole('row').slice(1);
    expect(metrics.map(row => row.textContent)).toEqual([
      'accuracy ↑10.75-0.25worse',
      'val_loss ↓0.750.8125+0.0625worse'
    ]);
    expect(within(metrics[0]).getByText('worse').className).toContain('jp-nbmlops-diff-verdict-worse');

    // Without JupyterLab's renderers the notebook changes are unified diffs, coloured by line.
    const code = section('Code');
    expect(within(code).getByText('2 cells changed', { exact: false }).textContent).toContain(
      '2 cells changed (notebooks of 4 and 5 cells)'
    );
    expect(within(code).getByText('+score = alpha * 3').className).toContain('jp-nbmlops-diff-added');
    expect(within(code).getByText('-score = alpha * 2').className).toContain('jp-nbmlops-diff-removed');
    expect(within(code).getByRole('heading', { name: 'cell 4 added in B (markdown)' })).toBeTruthy();
    expect(within(code).getByRole('heading', { name: 'cell 3 (code)' })).toBeTruthy();

    const data = section('Data');
    expect(data.textContent).toContain('train customers: v1 → v2');
    expect(data.textContent).toContain('Rows 10 → 7');
    expect(within(data).getByRole('table', { name: 'Statistics of customers that changed' }).textContent).toContain(
      'mean4.53'
    );
    expect(data.textContent).not.toContain('rows added');
    fireEvent.click(within(data).getByRole('button', { name: 'Compare rows' }));
    await waitFor(() => expect(section('Data').textContent).toContain('0 rows added, 3 removed'));
    expect(asked).toEqual([`${A} ${B} false`, `${A} ${B} true`]);
    expect(within(section('Data')).queryByRole('button', { name: 'Compare rows' })).toBeNull();
    expect(section('Data').textContent).toContain('rows compared whole');

    // Swapping asks for B against A.
    fireEvent.click(screen.getByRole('button', { name: 'Swap A and B' }));
    await waitFor(() => expect(asked[asked.length - 1]).toBe(`${B} ${A} false`));
  });

  it('is offered for exactly two runs', async () => {
    const runs = [detail('r1'), detail('r2'), detail('r3')];
    serve({ false: NOTEBOOK_DIFF, true: NOTEBOOK_DIFF_ROWS }, runs);
    render(<CompareView model={new NbmlopsModel()} trans={trans} actions={actions()} runIds={['r1', 'r2', 'r3']} />);
    await screen.findByRole('heading', { name: 'Parameters' });
    expect(screen.queryByRole('tab', { name: 'Diff' })).toBeNull();
  });

  it('draws notebook changes with nbdime when JupyterLab renderers are given', async () => {
    serve({ false: NOTEBOOK_DIFF, true: NOTEBOOK_DIFF_ROWS });
    const rendermime = new RenderMimeRegistry({ initialFactories: standardRendererFactories });
    render(
      <RunDiffView model={new NbmlopsModel()} trans={trans} actions={actions()} a={A} b={B} rendermime={rendermime} />
    );
    const view = await screen.findByRole('region', { name: 'Notebook diff (nbdime)' });
    // nbdime adds its cells one animation frame at a time.
    await waitFor(() => expect(view.querySelectorAll('.jp-Cell-diff').length).toBe(2), { timeout: 5000 });
    expect(view.textContent).toContain('score = alpha * 3');
    expect(view.textContent).toContain('score = alpha * 2');
    expect(view.querySelector('.jp-Diff-added')).not.toBeNull();
    expect(section('Code').textContent).toContain(
      'A on the left, B on the right: cell 3 (code), cell 4 added in B (markdown)'
    );
    // The unified diffs stay one click away.
    fireEvent.click(screen.getByRole('checkbox', { name: 'Unified diff' }));
    expect(screen.queryByRole('region', { name: 'Notebook diff (nbdime)' })).toBeNull();
    expect(screen.getByText('+score = alpha * 3').className).toContain('jp-nbmlops-diff-added');
  });
});

describe('RunDiffView', () => {
  it('shows a tracked cell, its history, environment, git, models and status; odd values as text', async () => {
    serve({ false: TRACK_DIFF, true: TRACK_DIFF });
    const act$ = actions();
    render(
      <RunDiffView model={new NbmlopsModel()} trans={trans} actions={act$} a="before" b="after" rendermime={null} />
    );
    await screen.findByRole('table', { name: 'Parameter changes' });
    expect(headings()).toEqual([
      'Parameters',
      'Metrics',
      'Code',
      'Environment',
      'Git',
      'Models',
      'Status and duration'
    ]);
    const params = within(section('Parameters')).getAllByRole('row').slice(1);
    expect(params.map(row => row.textContent)).toEqual([
      'lrchanged0.10.05',
      'warmupadded—true',
      'note <b>removed\u001b[31mred <b>模型—'
    ]);
    expect(params[2].querySelector('b')).toBeNull(); // markup in values is text
    const metrics = within(section('Metrics')).getAllByRole('row').slice(1);
    expect(metrics.map(row => row.textContent)).toEqual([
      'val_loss ↓0.20.15-0.05better',
      'loss ↓NaN∞changed',
      'auc ↑—0.5only in B'
    ]);
    expect(within(metrics[0]).getByText('better').className).toContain('jp-nbmlops-diff-verdict-better');

    const code = section('Code');
    expect(within(code).getByRole('heading', { name: 'The tracked cell' })).toBeTruthy();
    expect(within(code).getByText('+loss = lr * 3').className).toContain('jp-nbmlops-diff-added');
    expect(within(code).getByRole('heading', { name: 'The kernel history before it' })).toBeTruthy();
    expect(within(code).getByText('+warmup = True').className).toContain('jp-nbmlops-diff-added');
    expect(within(code).getByText('@@ -1 +1,2 @@').className).toContain('jp-nbmlops-diff-hunk');

    const environment = section('Environment');
    expect(environment.textContent).toContain('Python 3.11.9 → 3.12.1');
    expect(within(environment).getByRole('table', { name: 'Package changes' }).textContent).toContain(
      'PyYAMLadded—6.0.2'
    );

    const git = section('Git');
    expect(git.textContent).toContain('Commit a1b2c3d4e5 → f1e2d3c4b5 (uncommitted changes)');
    expect(within(git).getByRole('heading', { name: '1 commit in B and not in A' })).toBeTruthy();
    expect(git.textContent).toContain('f1e2d3c4b5 stronger regularisation');
    const dirty = within(git).getByLabelText('git diff of B');
    expect(
      within(dirty).getByText('+C = 3  # trying', { normalizer: text => text.replace(/\n$/, '') }).className
    ).toContain('jp-nbmlops-diff-added');
    expect(dirty.querySelectorAll('span').length).toBe(6);
    expect(within(dirty).getByText('--- a/train.py').className).toContain('jp-nbmlops-diff-hunk');
    expect(git.textContent).toContain('Uncommitted changes of ANone.');

    expect(section('Models').textContent).toContain('A registered churn-model/1B registered none');
    const status = section('Status and duration');
    expect(status.textContent).toContain('Status FINISHED → FAILED');
    expect(status.textContent).toContain('Duration 12.5 s → —');

    fireEvent.click(screen.getByRole('button', { name: 'before' }));
    expect(act$.openRun).toHaveBeenCalledWith(TRACK_DIFF.a.run_id);
    // B has no name: it is shown by the start of its id.
    expect(screen.getByRole('button', { name: '01a20000' })).toBeTruthy();
  });

  it('leaves out empty sections', async () => {
    serve({ false: { a: TRACK_DIFF.a, b: TRACK_DIFF.b }, true: TRACK_DIFF });
    render(<RunDiffView model={new NbmlopsModel()} trans={trans} actions={actions()} a="x" b="y" rendermime={null} />);
    await screen.findByRole('heading', { name: 'Status and duration' });
    expect(headings()).toEqual(['Status and duration']);
  });

  it('says why in one line when the server refuses', async () => {
    serve({
      false: new ApiError("run B 'nope' is not in the store at /s (by id, id prefix or name)", 404),
      true: TRACK_DIFF
    });
    render(
      <RunDiffView model={new NbmlopsModel()} trans={trans} actions={actions()} a="x" b="nope" rendermime={null} />
    );
    expect((await screen.findByRole('alert')).textContent).toContain("run B 'nope' is not in the store");
  });

  it('says so when nbdime cannot read the diff, and shows unified diffs', async () => {
    const broken: RunDiff = {
      ...NOTEBOOK_DIFF,
      code: {
        ...NOTEBOOK_DIFF.code!,
        notebook: { base: { cells: 'oops' } as never, diff: [{ op: 'bogus' }], cells: [] }
      }
    };
    serve({ false: broken, true: broken });
    const rendermime = new RenderMimeRegistry({ initialFactories: standardRendererFactories });
    render(
      <RunDiffView model={new NbmlopsModel()} trans={trans} actions={actions()} a={A} b={B} rendermime={rendermime} />
    );
    await screen.findByText('nbdime could not draw this diff', { exact: false });
    expect(screen.getByText('+score = alpha * 3').className).toContain('jp-nbmlops-diff-added');
  });
});

describe('diff against the parent or the reproduced run in run detail', () => {
  it.each([
    [{ tags: { reproduces: A } }, 'Diff against reproduced run'],
    [{ parent_run_id: A }, 'Diff against parent']
  ])('offers %j as "%s" and diffs that run (A) against this one (B)', async (extra, label) => {
    serve({ false: NOTEBOOK_DIFF, true: NOTEBOOK_DIFF_ROWS }, [detail(A), detail(B, extra)]);
    render(<RunDetailView model={new NbmlopsModel()} trans={trans} actions={actions()} runId={B} />);
    const button = await screen.findByRole('button', { name: label });
    expect(button.getAttribute('aria-expanded')).toBe('false');
    await act(async () => fireEvent.click(button));
    const diff = await screen.findByRole('region', { name: label });
    await within(diff).findByRole('table', { name: 'Parameter changes' });
    expect(asked).toEqual([`${A} ${B} false`]);
    fireEvent.click(within(diff).getByRole('button', { name: 'Hide the diff' }));
    expect(screen.queryByRole('region', { name: label })).toBeNull();
  });

  it('offers nothing for a run with neither', async () => {
    serve({ false: NOTEBOOK_DIFF, true: NOTEBOOK_DIFF_ROWS }, [detail(B)]);
    render(<RunDetailView model={new NbmlopsModel()} trans={trans} actions={actions()} runId={B} />);
    await screen.findByRole('heading', { name: 'train' });
    expect(screen.queryByRole('button', { name: /Diff against/ })).toBeNull();
  });
});

describe('lineKind', () => {
  it('reads file headers only in git diffs', () => {
    expect(['@@ -1 +1 @@', '+x', '-y', ' z', '--- a/f', '+++ b/f'].map(line => lineKind(line))).toEqual([
      'hunk',
      'added',
      'removed',
      'context',
      'removed',
      'added'
    ]);
    expect(['--- a/f', '+++ b/f', 'diff --git a/f b/f', '-x'].map(line => lineKind(line, true))).toEqual([
      'hunk',
      'hunk',
      'hunk',
      'removed'
    ]);
  });
});
