import * as React from 'react';

import { NbmlopsModel } from '../model';

/** Re-render whenever the model's experiment list or error changes. */
export function useModelChanged(model: NbmlopsModel): number {
  const [version, setVersion] = React.useState(0);
  React.useEffect(() => {
    const bump = (): void => setVersion(v => v + 1);
    model.changed.connect(bump);
    return () => {
      model.changed.disconnect(bump);
    };
  }, [model]);
  return version;
}

/** Call `callback` on every refresh round of the model (about every 2 s while visible). */
export function useTick(model: NbmlopsModel, callback: () => void): void {
  const latest = React.useRef(callback);
  latest.current = callback;
  React.useEffect(() => {
    const run = (): void => latest.current();
    model.tick.connect(run);
    return () => {
      model.tick.disconnect(run);
    };
  }, [model]);
}

/**
 * What `fetch` answers: fetched when `key` changes, and again on each refresh round for which
 * `again(data)` is true. One fetch runs at a time, an answer for an earlier key is dropped, and an
 * answer equal to the last one keeps the old object (so nothing re-renders).
 */
export function useLiveData<T>(
  model: NbmlopsModel,
  key: string,
  fetch: () => Promise<T>,
  again: (data: T | null) => boolean = () => true
): { data: T | null; error: unknown } {
  const [state, setState] = React.useState<{ key: string; data: T | null; error: unknown }>({
    key,
    data: null,
    error: null
  });
  const currentKey = React.useRef(key);
  currentKey.current = key;
  const latestFetch = React.useRef(fetch);
  latestFetch.current = fetch;
  const loading = React.useRef(false);

  const load = React.useCallback(async () => {
    if (loading.current) {
      return;
    }
    loading.current = true;
    const asked = currentKey.current;
    try {
      const found = await latestFetch.current();
      if (currentKey.current === asked) {
        setState(previous =>
          previous.key === asked && previous.error === null && JSON.stringify(previous.data) === JSON.stringify(found)
            ? previous
            : { key: asked, data: found, error: null }
        );
      }
    } catch (reason) {
      if (currentKey.current === asked) {
        setState(previous => ({ key: asked, data: previous.key === asked ? previous.data : null, error: reason }));
      }
    } finally {
      loading.current = false;
    }
  }, []);

  React.useEffect(() => {
    loading.current = false; // a fetch for the previous key may still run: its answer is dropped
    void load();
  }, [key, load]);

  const data = state.key === key ? state.data : null;
  const error = state.key === key ? state.error : null;
  useTick(model, () => {
    if (again(data)) {
      void load();
    }
  });
  return { data, error };
}

/** "3 min ago" style age of an ISO timestamp, relative to `now`. */
export function timeAgo(iso: string | null, now: number = Date.now()): string {
  if (!iso) {
    return '';
  }
  const seconds = Math.max(0, (now - Date.parse(iso)) / 1000);
  if (seconds < 60) {
    return `${Math.floor(seconds)} s ago`;
  }
  if (seconds < 3600) {
    return `${Math.floor(seconds / 60)} min ago`;
  }
  if (seconds < 86400) {
    return `${Math.floor(seconds / 3600)} h ago`;
  }
  return `${Math.floor(seconds / 86400)} d ago`;
}

/** Seconds as "850 ms", "12.3 s", "4 min 05 s", "2 h 03 min". */
export function formatDuration(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) {
    return '';
  }
  if (seconds < 1) {
    return `${Math.round(seconds * 1000)} ms`;
  }
  if (seconds < 60) {
    return `${seconds.toFixed(1)} s`;
  }
  if (seconds < 3600) {
    return `${Math.floor(seconds / 60)} min ${String(Math.floor(seconds % 60)).padStart(2, '0')} s`;
  }
  return `${Math.floor(seconds / 3600)} h ${String(Math.floor((seconds % 3600) / 60)).padStart(2, '0')} min`;
}

/** A number for tables: up to 6 significant digits, NaN and infinities spelled out. */
export function formatNumber(value: number): string {
  if (Number.isNaN(value)) {
    return 'NaN';
  }
  if (!Number.isFinite(value)) {
    return value > 0 ? '∞' : '-∞';
  }
  if (Number.isInteger(value) && Math.abs(value) < 1e15) {
    return String(value);
  }
  const abs = Math.abs(value);
  return abs !== 0 && (abs < 1e-4 || abs >= 1e9) ? value.toExponential(4) : String(Number(value.toPrecision(6)));
}

/** Any param/metric/tag value as display text. */
export function formatValue(value: unknown): string {
  if (value === null || value === undefined) {
    return '';
  }
  if (typeof value === 'number') {
    return formatNumber(value);
  }
  if (typeof value === 'string') {
    return value;
  }
  return JSON.stringify(value);
}

/** A run status as a small colored badge (color from JupyterLab's theme variables). */
export function StatusBadge(props: { status: string }): React.ReactElement {
  return (
    <span className={`jp-nbmlops-status jp-nbmlops-status-${props.status.toLowerCase()}`} title={props.status}>
      {props.status}
    </span>
  );
}

/** An empty state: what is missing and what to do about it. */
export function EmptyState(props: { title: string; hint?: React.ReactNode }): React.ReactElement {
  return (
    <div className="jp-nbmlops-empty" role="status">
      <p className="jp-nbmlops-empty-title">{props.title}</p>
      {props.hint ? <p className="jp-nbmlops-empty-hint">{props.hint}</p> : null}
    </div>
  );
}

/** An error from the server, in one line, with the action to take. */
export function ErrorLine(props: { error: unknown }): React.ReactElement | null {
  if (!props.error) {
    return null;
  }
  const message =
    props.error instanceof Error
      ? props.error.message
      : typeof props.error === 'string'
        ? props.error
        : JSON.stringify(props.error);
  return (
    <div className="jp-nbmlops-error" role="alert">
      {message}
    </div>
  );
}
