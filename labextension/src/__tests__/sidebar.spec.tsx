import { nullTranslator } from '@jupyterlab/translation';
import { act, fireEvent, render, screen } from '@testing-library/react';
import * as React from 'react';

import { ApiError, requestAPI } from '../api';
import { ExperimentsSidebar } from '../components/Sidebar';
import { NbmlopsModel } from '../model';
import { Actions } from '../types';
import { actions } from './actionsFixture';

jest.mock('../api', () => {
  const actual = jest.requireActual<typeof import('../api')>('../api');
  return { ...actual, requestAPI: jest.fn() };
});

const api = { requestAPI: jest.mocked(requestAPI), ApiError };
const trans = nullTranslator.load('nbmlops');

async function mount(model: NbmlopsModel, spy: Actions): Promise<void> {
  render(<ExperimentsSidebar model={model} trans={trans} actions={spy} />);
  await act(() => model.refresh());
}

describe('ExperimentsSidebar', () => {
  let model: NbmlopsModel;
  beforeEach(() => {
    api.requestAPI.mockReset();
    model = new NbmlopsModel({ interval: 60_000 });
  });
  afterEach(() => model.dispose());

  it('lists experiments with run counts and running runs, and opens their runs', async () => {
    const now = new Date().toISOString();
    api.requestAPI.mockResolvedValue({
      experiments: [
        { name: 'churn', runs: 12, running: 2, created_at: now, last_activity: now },
        { name: 'ünïcode 実験', runs: 1, running: 0, created_at: now, last_activity: now }
      ]
    });
    const spy = actions();
    await mount(model, spy);
    const list = screen.getByRole('list', { name: 'Experiments' });
    expect(list.textContent).toContain('12 runs');
    expect(list.textContent).toContain('2 running');
    expect(list.textContent).toContain('13 runs'); // the "All experiments" entry
    fireEvent.click(screen.getByRole('button', { name: /ünïcode 実験/ }));
    expect(spy.openRuns).toHaveBeenCalledWith('ünïcode 実験');
    fireEvent.click(screen.getByRole('button', { name: /All experiments/ }));
    expect(spy.openRuns).toHaveBeenLastCalledWith(null);
    fireEvent.click(screen.getByRole('button', { name: 'Model registry' }));
    expect(spy.openModels).toHaveBeenCalled();
  });

  it('tells a new user how to log a first run', async () => {
    api.requestAPI.mockResolvedValue({ experiments: [] });
    await mount(model, actions());
    expect(screen.getByRole('status').textContent).toContain('%%track');
  });

  it('shows the server error in one line', async () => {
    api.requestAPI.mockRejectedValue(new api.ApiError('the nbmlops server extension is not enabled: run it', 404));
    await mount(model, actions());
    expect(screen.getByRole('alert').textContent).toContain('not enabled');
  });
});
