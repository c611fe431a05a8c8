import { nullTranslator } from '@jupyterlab/translation';
import { act, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import * as React from 'react';

import { ApiError, requestAPI, requestBlob } from '../api';
import { RunDetailView } from '../components/RunDetailView';
import { NbmlopsModel } from '../model';
import { RunDetail } from '../types';
import { actions } from './actionsFixture';

jest.mock('../api', () => ({
  ...jest.requireActual<typeof import('../api')>('../api'),
  requestAPI: jest.fn(),
  requestBlob: jest.fn()
}));

const api = requestAPI as jest.MockedFunction<typeof requestAPI>;
const blob = requestBlob as jest.MockedFunction<typeof requestBlob>;
const trans = nullTranslator.load('nbmlops');

const base: RunDetail = {
  run_id: 'a1b2c3d4e5f60718',
  name: 'train-rf',
  experiment: 'churn',
  status: 'FINISHED',
  start_time: '2026-03-01T12:00:00.000000Z',
  end_time: '2026-03-01T12:01:05.000000Z',
  duration: 65,
  user: 'ada',
  host: 'lab1',
  parent_run_id: null,
  notebook: '/home/ada/train.ipynb',
  params: { n_estimators: 100, max_depth: 'None' },
  metrics: { accuracy: 0.91 },
  tags: { team: 'growth', python: '3.12.1', 'git.commit': 'deadbeefcafe0123456789', 'git.dirty': 'false' },
  error: null,
  artifacts: [
    { path: 'models/churn/model.skops', sha256: 'aa', size: 2048, created_at: '2026-03-01T12:01:00Z' },
    { path: 'provenance/environment.json', sha256: 'bb', size: 300, created_at: '2026-03-01T12:00:00Z' },
    { path: 'notebook/executed.ipynb', sha256: 'cc', size: 9000, created_at: '2026-03-01T12:01:05Z' }
  ],
  datasets: [
    {
      name: 'customers',
      version: 2,
      fingerprint: '0123456789abcdef0123456789abcdef',
      kind: 'dataframe',
      rows: 5000,
      columns: 3,
      size_bytes: null,
      files: null,
      source: null,
      created_at: '2026-03-01T11:00:00Z',
      roles: ['train'],
      runs: 1,
      run_ids: ['a1b2c3d4e5f60718'],
      schema: { age: 'int64', plan: 'object', churned: 'bool' }
    }
  ]
};

function serve(run: RunDetail | ApiError): void {
  api.mockImplementation(async (path: string) => {
    if (path.startsWith('runs/') && path.includes('/metrics/')) {
      return {
        key: 'accuracy',
        total: 2,
        downsampled: false,
        max_points: 4000,
        points: { step: [0, 1], timestamp: ['2026-03-01T12:00:00Z', '2026-03-01T12:00:01Z'], value: [0.8, 0.91] }
      };
    }
    if (path.startsWith('lineage?')) {
      return {
        root: `run:${base.run_id}`,
        edges: [
          {
            source: 'dataset:customers@2',
            target: `run:${base.run_id}`,
            kind: 'used',
            detail: 'train',
            source_type: 'dataset',
            target_type: 'run',
            source_label: 'customers v2',
            target_label: 'train-rf'
          }
        ]
      };
    }
    if (path.startsWith('runs/')) {
      if (run instanceof ApiError) {
        throw run;
      }
      return run;
    }
    throw new ApiError(`unexpected ${path}`, 500);
  });
}

describe('RunDetailView', () => {
  let model: NbmlopsModel;

  beforeEach(() => {
    api.mockReset();
    blob.mockReset();
    model = new NbmlopsModel();
  });

  afterEach(() => {
    model.dispose();
  });

  it('shows the traceback of a failed run first', async () => {
    serve({
      ...base,
      status: 'FAILED',
      error: 'Traceback (most recent call last):\nZeroDivisionError: division by zero',
      tags: { ...base.tags, 'runner.failed_cell': '3' }
    });
    render(<RunDetailView model={model} trans={trans} actions={actions()} runId={base.run_id} />);
    const heading = await screen.findByRole('heading', { name: 'The run failed in cell 3' });
    expect(screen.getByLabelText('Traceback').textContent).toContain('ZeroDivisionError: division by zero');
    // the failure comes before the header
    const title = screen.getByRole('heading', { name: 'train-rf' });
    expect(heading.compareDocumentPosition(title) & Node.DOCUMENT_POSITION_FOLLOWING).toBeTruthy();
  });

  it('lists datasets with fingerprint and schema, user tags and artifacts', async () => {
    serve(base);
    render(<RunDetailView model={model} trans={trans} actions={actions()} runId={base.run_id} />);
    const datasets = await screen.findByRole('table', { name: 'Datasets' });
    const lineage = screen.getByRole('region', { name: 'Lineage' });
    expect(await within(lineage).findByRole('group', { name: 'Lineage of train-rf' })).toBeTruthy();
    expect(within(datasets).getByText('customers')).toBeTruthy();
    const fingerprint = within(datasets).getByText('0123456789ab');
    expect(fingerprint.getAttribute('title')).toBe('0123456789abcdef0123456789abcdef');
    expect(within(datasets).getByText('5000')).toBeTruthy();
    fireEvent.click(within(datasets).getByRole('button', { name: 'Show 3 columns' }));
    const schema = screen.getByRole('table', { name: 'Schema of customers' });
    expect(within(schema).getByText('churned')).toBeTruthy();

    const tags = screen.getByRole('table', { name: 'Tags' });
    expect(within(tags).getByText('growth')).toBeTruthy();
    expect(within(tags).queryByText('3.12.1')).toBeNull(); // system tags live under Environment

    expect(screen.getByRole('button', { name: 'Download models/churn/model.skops' })).toBeTruthy();
    expect(screen.getByRole('button', { name: 'Folder provenance' })).toBeTruthy();
    expect(screen.queryByRole('heading', { name: /failed/ })).toBeNull();
  });

  it('downloads an artifact through the model', async () => {
    serve(base);
    blob.mockResolvedValue(new Blob(['{}']));
    const created = jest.fn(() => 'blob:x');
    Object.assign(URL, { createObjectURL: created, revokeObjectURL: jest.fn() });
    // jsdom cannot navigate: record the click on the download link instead
    const clicked = jest.spyOn(HTMLAnchorElement.prototype, 'click').mockImplementation(function (
      this: HTMLAnchorElement
    ) {
      expect(this.download).toBe('model.skops');
    });
    render(<RunDetailView model={model} trans={trans} actions={actions()} runId={base.run_id} />);
    fireEvent.click(await screen.findByRole('button', { name: 'Download models/churn/model.skops' }));
    await waitFor(() => expect(created).toHaveBeenCalled());
    expect(blob.mock.calls[0][0]).toBe('runs/a1b2c3d4e5f60718/artifacts/models/churn/model.skops');
    expect(clicked).toHaveBeenCalled();
    clicked.mockRestore();
  });

  it('loads packages from environment.json only when asked', async () => {
    serve(base);
    // jsdom's Blob has no text(): a stand-in with the one method the view reads
    const environment = JSON.stringify({ python: '3.12.1', packages: { numpy: '2.1.0', pandas: '2.2.3' } });
    blob.mockResolvedValue({ text: async () => environment } as unknown as Blob);
    render(<RunDetailView model={model} trans={trans} actions={actions()} runId={base.run_id} />);
    const toggle = await screen.findByRole('button', { name: 'Show packages' });
    expect(blob).not.toHaveBeenCalled();
    fireEvent.click(toggle);
    const packages = await screen.findByRole('table', { name: 'Packages' });
    expect(within(packages).getByText('numpy')).toBeTruthy();
    fireEvent.change(screen.getByLabelText('Search packages'), { target: { value: 'pan' } });
    expect(within(packages).queryByText('numpy')).toBeNull();
    expect(within(packages).getByText('pandas')).toBeTruthy();
  });

  it('opens the notebook through actions', async () => {
    serve(base);
    const acts = actions();
    render(<RunDetailView model={model} trans={trans} actions={acts} runId={base.run_id} />);
    fireEvent.click(await screen.findByRole('button', { name: 'Open notebook' }));
    expect(acts.openNotebook).toHaveBeenCalledWith(base.run_id);
  });

  it('offers no notebook button when the run has none', async () => {
    serve({ ...base, notebook: null, artifacts: [] });
    render(<RunDetailView model={model} trans={trans} actions={actions()} runId={base.run_id} />);
    await screen.findByRole('heading', { name: 'train-rf' });
    expect(screen.queryByRole('button', { name: 'Open notebook' })).toBeNull();
  });

  it('says when the run is gone', async () => {
    serve(new ApiError('no run a1b2', 404));
    render(<RunDetailView model={model} trans={trans} actions={actions()} runId={base.run_id} />);
    expect((await screen.findByRole('alert')).textContent).toContain('is gone');
  });

  it('refreshes a running run on tick', async () => {
    serve({ ...base, status: 'RUNNING', metrics: {} });
    render(<RunDetailView model={model} trans={trans} actions={actions()} runId={base.run_id} />);
    await screen.findByRole('heading', { name: 'train-rf' });
    serve({ ...base, status: 'FINISHED', metrics: {} });
    await act(async () => {
      (model.tick as unknown as { emit(): void }).emit();
    });
    await waitFor(() => expect(screen.getByTitle('FINISHED')).toBeTruthy());
  });
});
