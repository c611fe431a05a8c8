import { nullTranslator } from '@jupyterlab/translation';
import { act, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import * as React from 'react';

import { requestAPI } from '../api';
import { RunsView } from '../components/RunsView';
import { NbmlopsModel } from '../model';
import { Actions } from '../types';
import { FakeServer, fakeServer, makeRuns } from './runsFixture';

jest.mock('../api', () => ({ ...jest.requireActual<typeof import('../api')>('../api'), requestAPI: jest.fn() }));

const mockedRequest = requestAPI as jest.MockedFunction<typeof requestAPI>;
const trans = nullTranslator.load('nbmlops');

let server: FakeServer;
let model: NbmlopsModel;
let actions: jest.Mocked<Actions>;

function show(count: number): void {
  server = fakeServer(makeRuns(count));
  render(<RunsView model={model} trans={trans} actions={actions} experiments={['churn']} blockSize={100} />);
}

function dataRows(): HTMLElement[] {
  return screen.getAllByRole('row').filter(row => row.getAttribute('aria-rowindex') !== '1');
}

function offsets(): string[] {
  return server.requests.map(r => r.get('offset') ?? '');
}

beforeEach(() => {
  window.localStorage.clear();
  mockedRequest.mockReset();
  mockedRequest.mockImplementation((path: string) => server.handle(path));
  model = new NbmlopsModel();
  actions = {
    openRuns: jest.fn(),
    openRun: jest.fn(),
    compare: jest.fn(),
    openModels: jest.fn(),
    openNotebook: jest.fn()
  };
});

afterEach(() => {
  jest.restoreAllMocks();
  model.dispose();
});

describe('RunsView', () => {
  it('renders a window of rows, not all 10,000, after one request', async () => {
    show(10_000);
    const grid = await screen.findByRole('grid', { name: 'Runs' });
    await screen.findByText('run-0');
    expect(screen.getByText('10000 runs')).toBeTruthy();
    const start = screen.getAllByRole('columnheader').find(h => h.textContent?.startsWith('Start'))!;
    expect(start.getAttribute('aria-sort')).toBe('descending'); // the server's default order
    expect(grid.getAttribute('aria-rowcount')).toBe('10001');
    const rows = dataRows();
    expect(rows.length).toBeGreaterThan(10);
    expect(rows.length).toBeLessThan(60);
    expect(rows[0].getAttribute('aria-rowindex')).toBe('2');
    expect(offsets()).toEqual(['0']);
    const headers = screen.getAllByRole('columnheader').map(h => h.textContent?.replace(/[▲▼]/, ''));
    expect(headers).toEqual(
      expect.arrayContaining([
        'Status',
        'Name',
        'Start',
        'Duration',
        'Notebook',
        'paramC',
        'parambatch size',
        'metricacc'
      ])
    );
    expect(headers.some(h => h?.includes('team'))).toBe(false); // no tags by default
    expect(screen.getAllByText('train.ipynb')[0].getAttribute('title')).toBe('work/notebooks/train.ipynb');
  });

  it('fetches the block under the scroll position, showing placeholders until it arrives', async () => {
    show(10_000);
    const grid = await screen.findByRole('grid', { name: 'Runs' });
    await screen.findByText('run-0');
    fireEvent.scroll(grid, { target: { scrollTop: 5000 * 28 } });
    const loading = dataRows().filter(row => row.getAttribute('aria-busy') === 'true');
    expect(loading.length).toBeGreaterThan(0);
    await screen.findByText('run-5000');
    expect(offsets()).toEqual(['0', '4900', '5000']); // rows 4990.. with overscan span two blocks
    expect(screen.queryByText('run-0')).toBeNull();
    const indexes = dataRows().map(row => Number(row.getAttribute('aria-rowindex')));
    expect(Math.min(...indexes)).toBeGreaterThan(4980);
  });

  it('sorts on the server when a header is clicked, and shows the direction', async () => {
    show(300);
    await screen.findByText('run-0');
    const header = screen.getAllByRole('columnheader').find(h => h.textContent === 'paramC')!;
    expect(header.getAttribute('aria-sort')).toBeNull();
    fireEvent.click(within(header).getByRole('button'));
    await waitFor(() => expect(server.requests[server.requests.length - 1].get('order_by')).toBe('params.C asc'));
    await waitFor(() => expect(header.getAttribute('aria-sort')).toBe('ascending'));
    const start = screen.getAllByRole('columnheader').find(h => h.textContent?.startsWith('Start'))!;
    expect(start.getAttribute('aria-sort')).toBeNull();
    fireEvent.click(within(header).getByRole('button'));
    await waitFor(() => expect(header.getAttribute('aria-sort')).toBe('descending'));
    expect(server.requests[server.requests.length - 1].get('order_by')).toBe('params.C desc');
  });

  it('filters on Enter and shows a rejected filter inline, with a caret, keeping the rows', async () => {
    show(300);
    await screen.findByText('run-0');
    const box = screen.getByRole('searchbox', { name: 'Filter runs' });
    expect(box.getAttribute('placeholder')).toMatch(/metrics\.acc > 0\.9/);
    fireEvent.change(box, { target: { value: 'params.C = 0.5' } });
    fireEvent.keyDown(box, { key: 'Enter' });
    await screen.findByText('30 matching runs');
    expect(server.requests[server.requests.length - 1].get('where')).toBe('params.C = 0.5');

    const message = 'bad filter at column 15: expected a value after \'>\' in "metrics.acc > "';
    server.reject = { where: 'metrics.acc >', message, position: 14 };
    fireEvent.change(box, { target: { value: 'metrics.acc >' } });
    fireEvent.keyDown(box, { key: 'Enter' });
    const alert = await screen.findByRole('alert');
    expect(alert.textContent).toContain(message);
    expect(alert.querySelector('pre')?.textContent).toBe('metrics.acc >\n' + ' '.repeat(13) + '^');
    expect(box.getAttribute('aria-invalid')).toBe('true');
    expect(screen.getByText('30 matching runs')).toBeTruthy();
    expect(screen.getByText('run-5')).toBeTruthy();
  });

  it('selects runs with checkboxes and shift-click, and compares them', async () => {
    show(300);
    await screen.findByText('run-0');
    const compare = screen.getByRole<HTMLButtonElement>('button', { name: 'Compare' });
    expect(compare.disabled).toBe(true);
    fireEvent.click(screen.getByRole('checkbox', { name: 'Select run run-1' }));
    expect(compare.disabled).toBe(true);
    fireEvent.click(screen.getByRole('checkbox', { name: 'Select run run-3' }), { shiftKey: true });
    expect(screen.getByText(/3 selected/)).toBeTruthy();
    expect(screen.getByRole<HTMLInputElement>('checkbox', { name: 'Select run run-2' }).checked).toBe(true);
    expect(compare.disabled).toBe(false);
    fireEvent.click(compare);
    expect(actions.compare).toHaveBeenCalledWith(['id00001', 'id00002', 'id00003']);

    fireEvent.click(screen.getByRole('checkbox', { name: 'Select all visible runs' }));
    expect(screen.getByText(/selected/).textContent).toMatch(/\d\d selected/);
    fireEvent.click(screen.getByRole('button', { name: 'Clear selection' }));
    expect(compare.disabled).toBe(true);
  });

  it('opens a run by its name, and from the keyboard', async () => {
    show(300);
    fireEvent.click(await screen.findByText('run-4'));
    expect(actions.openRun).toHaveBeenCalledWith('id00004');
    const first = dataRows()[0];
    expect(first.tabIndex).toBe(0);
    act(() => first.focus());
    fireEvent.keyDown(first, { key: 'ArrowDown' });
    fireEvent.keyDown(first, { key: 'ArrowDown' }); // from row 0 again: still row 1
    const second = dataRows()[1];
    expect(document.activeElement).toBe(second);
    fireEvent.keyDown(second, { key: ' ' });
    expect(second.getAttribute('aria-selected')).toBe('true');
    fireEvent.keyDown(second, { key: 'Enter' });
    expect(actions.openRun).toHaveBeenLastCalledWith('id00001');
  });

  it('says what to do when there are no runs yet', async () => {
    show(0);
    await screen.findByText('No runs yet: add %%track to a cell');
    expect(screen.getByText(/%load_ext nbmlops/)).toBeTruthy();
    expect(screen.queryByRole('grid')).toBeNull();
  });

  it('says when a filter matches nothing, and clears it', async () => {
    show(300);
    await screen.findByText('run-0');
    const box = screen.getByRole('searchbox', { name: 'Filter runs' });
    fireEvent.change(box, { target: { value: "status = 'GONE'" } });
    fireEvent.keyDown(box, { key: 'Enter' });
    await screen.findByText('No runs match this filter');
    fireEvent.click(screen.getByRole('button', { name: 'Clear the filter' }));
    await screen.findByText('run-0');
    expect((box as HTMLInputElement).value).toBe('');
  });

  it('refreshes the rows in view on every tick', async () => {
    show(300);
    await screen.findByText('run-0');
    const before = server.requests.length;
    server.runs[0] = { ...server.runs[0], status: 'FAILED' };
    const later = Date.now() + 5000; // the rows on screen are no longer fresh
    jest.spyOn(Date, 'now').mockImplementation(() => later);
    await act(async () => {
      (model.tick as unknown as { emit(): void }).emit();
      await new Promise(resolve => setTimeout(resolve, 0));
    });
    await waitFor(() => expect(within(dataRows()[0]).getByText('FAILED')).toBeTruthy());
    expect(offsets().slice(before)).toEqual(['0']);
  });

  it('chooses columns from a searchable checklist', async () => {
    show(300);
    await screen.findByText('run-0');
    fireEvent.click(screen.getByRole('button', { name: 'Columns' }));
    const dialog = screen.getByRole('dialog', { name: 'Choose columns' });
    fireEvent.change(within(dialog).getByRole('searchbox', { name: 'Search columns' }), { target: { value: 'tea' } });
    expect(within(dialog).queryByRole('checkbox', { name: 'C' })).toBeNull();
    fireEvent.click(within(dialog).getByRole('checkbox', { name: 'team' }));
    expect(screen.getAllByRole('columnheader').some(h => h.textContent === 'tagteam')).toBe(true);
    expect(JSON.parse(window.localStorage.getItem('nbmlops:runs-columns:churn')!)).toContain('tags.team');
  });
});
