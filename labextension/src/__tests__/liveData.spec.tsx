import { act, render, screen } from '@testing-library/react';
import * as React from 'react';

import { requestAPI } from '../api';
import { useLiveData } from '../components/common';
import { NbmlopsModel } from '../model';

jest.mock('../api', () => {
  const actual = jest.requireActual<typeof import('../api')>('../api');
  return { ...actual, requestAPI: jest.fn() };
});

const api = { requestAPI: jest.mocked(requestAPI) };

function Probe(props: {
  model: NbmlopsModel;
  id: string;
  fetch: (id: string) => Promise<{ v: string }>;
  renders: unknown[];
}) {
  const { data, error } = useLiveData(
    props.model,
    props.id,
    () => props.fetch(props.id),
    d => d?.v !== 'done'
  );
  props.renders.push(data);
  return <p role="status">{data?.v ?? (error ? String((error as Error).message) : 'loading')}</p>;
}

describe('useLiveData', () => {
  let model: NbmlopsModel;
  beforeEach(() => {
    api.requestAPI.mockReset().mockResolvedValue({ experiments: [] });
    model = new NbmlopsModel({ interval: 60_000 });
  });
  afterEach(() => model.dispose());

  it('drops the answer for an earlier key and refetches on refresh rounds while asked to', async () => {
    const pending: Record<string, (value: { v: string }) => void> = {};
    const fetch = jest.fn((id: string) => new Promise<{ v: string }>(resolve => (pending[id] = resolve)));
    const renders: unknown[] = [];
    const view = render(<Probe model={model} id="a" fetch={fetch} renders={renders} />);
    view.rerender(<Probe model={model} id="b" fetch={fetch} renders={renders} />);
    await act(async () => pending.b({ v: 'b1' }));
    await act(async () => pending.a({ v: 'a1' })); // late answer for the old key
    expect(screen.getByRole('status').textContent).toBe('b1');

    await act(() => model.refresh());
    await act(async () => pending.b({ v: 'done' }));
    expect(screen.getByRole('status').textContent).toBe('done');
    const calls = fetch.mock.calls.length;
    await act(() => model.refresh()); // 'done' asks for no more fetches
    expect(fetch.mock.calls.length).toBe(calls);
  });

  it('keeps the object for an equal answer, and the shown data when a refetch fails', async () => {
    let answer: Promise<{ v: string }> = Promise.resolve({ v: 'first' });
    const fetch = jest.fn(() => answer);
    const renders: unknown[] = [];
    render(<Probe model={model} id="a" fetch={fetch} renders={renders} />);
    await act(async () => undefined);
    expect(screen.getByRole('status').textContent).toBe('first');
    const shown = renders[renders.length - 1];
    answer = Promise.resolve({ v: 'first' });
    await act(() => model.refresh()); // an equal answer keeps the same object: memoized children stay
    expect(fetch).toHaveBeenCalledTimes(2);
    expect(renders[renders.length - 1]).toBe(shown);
    answer = Promise.reject(new Error('server away'));
    await act(() => model.refresh());
    expect(screen.getByRole('status').textContent).toBe('first');
  });
});
