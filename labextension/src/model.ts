import { IDisposable } from '@lumino/disposable';
import { Poll } from '@lumino/polling';
import { ISignal, Signal } from '@lumino/signaling';
import { ServerConnection } from '@jupyterlab/services';

import { ApiError, apiPath, apiUrl, query, requestAPI, requestBlob } from './api';
import {
  Answer,
  AuditEntry,
  DatasetVersion,
  Decoded,
  Experiment,
  Keys,
  LineageGraph,
  MediaItem,
  MediaList,
  MetricHistory,
  ModelDetail,
  ModelMonitoring,
  ModelSummary,
  PromotionCheck,
  PromotionResult,
  RunDetail,
  RunDiff,
  RunsPage,
  RunsRequest,
  TablePage
} from './types';

/** How often the panel asks the server what changed; the store is folded at most ~1 s behind writers. */
export const REFRESH_INTERVAL_MS = 2000;

/** The API path of a run's artifact (each segment of the artifact's path URL-encoded). */
function artifactPath(runId: string, path: string): string {
  return apiPath('runs', runId, 'artifacts') + '/' + path.split('/').map(encodeURIComponent).join('/');
}

/** The API's non-finite numbers ("NaN", "Infinity", "-Infinity") as numbers; other values unchanged. */
export function decodeNumber(value: unknown): number {
  if (typeof value === 'number') {
    return value;
  }
  switch (value) {
    case 'NaN':
      return NaN;
    case 'Infinity':
      return Infinity;
    case '-Infinity':
      return -Infinity;
    default:
      return typeof value === 'string' && value.trim() !== '' ? Number(value) : NaN;
  }
}

function decodeMetrics(metrics: Record<string, unknown>): Record<string, number> {
  const decoded: Record<string, number> = {};
  for (const [key, value] of Object.entries(metrics)) {
    decoded[key] = decodeNumber(value);
  }
  return decoded;
}

/** `item` with its metric values as numbers. */
function decoded<T extends { metrics: Record<string, unknown> }>(item: T): Decoded<T> {
  return { ...item, metrics: decodeMetrics(item.metrics) };
}

export interface ModelOptions {
  /** Server settings; default: the page's. */
  settings?: ServerConnection.ISettings;
  /** Milliseconds between refreshes; default REFRESH_INTERVAL_MS. */
  interval?: number;
}

/** The order a logged table is read in: a column of it (by name), ascending or descending. */
export interface TableSort {
  column: string;
  descending: boolean;
}

/**
 * The panel's one source of data: talks to /nbmlops/api/, keeps the experiment list fresh and
 * tells views when to refresh. Views ask it for runs, runs' details, metric histories and models.
 */
export class NbmlopsModel implements IDisposable {
  constructor(options: ModelOptions = {}) {
    this._settings = options.settings ?? ServerConnection.makeSettings();
    this._poll = new Poll({
      auto: false,
      factory: () => this._refresh(),
      frequency: { interval: options.interval ?? REFRESH_INTERVAL_MS, backoff: true, max: 30_000 },
      name: 'nbmlops:refresh',
      standby: 'when-hidden'
    });
  }

  /** Experiments, most recently active first. */
  get experiments(): Experiment[] {
    return this._experiments;
  }

  /** The last refresh's error (for example the server extension is not enabled), or null. */
  get error(): ApiError | null {
    return this._error;
  }

  /** True once the first refresh answered (with data or an error). */
  get loaded(): boolean {
    return this._loaded;
  }

  /** Emitted when the experiment list or the error changed. */
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /** Emitted after every refresh round (about every 2 s while visible): views with live data re-fetch. */
  get tick(): ISignal<this, void> {
    return this._tick;
  }

  get isDisposed(): boolean {
    return this._poll.isDisposed;
  }

  /** Start the periodic refresh. */
  start(): Promise<void> {
    return this._poll.start();
  }

  /** Refresh now; resolves when done (a failure is in `error`, it does not reject). */
  refresh(): Promise<void> {
    return this._refresh().catch(() => undefined);
  }

  /** A page of runs, filtered with the `where` language and ordered server-side. */
  async runs(request: RunsRequest = {}): Promise<RunsPage> {
    const page = await this._get<Answer<'/nbmlops/api/runs'>>(
      'runs' +
        query({
          experiment: request.experiments,
          where: request.where?.trim(),
          order_by: request.orderBy?.trim(),
          limit: request.limit,
          offset: request.offset
        })
    );
    // Asked without `columns`, the server sends every field of every run.
    return { ...page, runs: page.runs.map(run => decoded(run as Required<typeof run>)) };
  }

  /** The param, metric and tag keys of the runs of `experiments` (all when omitted). */
  keys(experiments?: string[] | null): Promise<Keys> {
    return this._get<Answer<'/nbmlops/api/keys'>>('keys' + query({ experiment: experiments ?? undefined }));
  }

  /** A run with params, metrics, tags, artifacts, datasets and its failure traceback. */
  async run(runId: string): Promise<RunDetail> {
    return decoded(await this._get<Answer<'/nbmlops/api/runs/{run_id}'>>(apiPath('runs', runId)));
  }

  /**
   * Why run `b` differed from run `a`: params, metrics, code, data, environment, git and models. `rows: false`
   * leaves out the row-level comparison of dataset snapshots, the slow part.
   */
  runDiff(a: string, b: string, rows: boolean): Promise<RunDiff> {
    return this._get<RunDiff>(apiPath('runs', a, 'diff', b) + query({ rows: String(rows) }));
  }

  /** A metric's history, downsampled on the server to at most `maxPoints` keeping its extremes. */
  async metricHistory(runId: string, key: string, maxPoints = 1000): Promise<MetricHistory> {
    const history = await this._get<Answer<'/nbmlops/api/runs/{run_id}/metrics/{key}'>>(
      apiPath('runs', runId, 'metrics', key) + query({ max_points: maxPoints })
    );
    return { ...history, points: { ...history.points, value: history.points.value.map(decodeNumber) } };
  }

  /** A run's artifact as a Blob. */
  artifact(runId: string, path: string): Promise<Blob> {
    return requestBlob(artifactPath(runId, path), this._settings);
  }

  /** A URL the browser loads a run's artifact from by itself (an image's src). */
  artifactUrl(runId: string, path: string): string {
    return apiUrl(artifactPath(runId, path), this._settings);
  }

  /** A run's logged media (images, figures, tables, texts), sorted by kind, name and step. */
  async media(runId: string): Promise<MediaItem[]> {
    return (await this._get<MediaList>(apiPath('runs', runId, 'media'))).media;
  }

  /**
   * One page of a logged table: its columns, `limit` rows from `offset`, and the total row count; with
   * `sort`, the page of the whole table sorted on that column (by the server).
   */
  mediaTable(
    runId: string,
    path: string,
    offset: number,
    limit: number,
    sort: TableSort | null = null
  ): Promise<TablePage> {
    const order = sort ? { sort: sort.column, descending: String(sort.descending) } : {};
    return this._get<TablePage>(apiPath('runs', runId, 'media', 'table') + query({ path, offset, limit, ...order }));
  }

  /** Dataset versions, by name or by run. */
  async datasets(filter: { name?: string; runId?: string } = {}): Promise<DatasetVersion[]> {
    const body = await this._get<Answer<'/nbmlops/api/datasets'>>(
      'datasets' + query({ name: filter.name, run_id: filter.runId })
    );
    return body.datasets;
  }

  /** Registered models with their latest version and aliases. */
  async models(): Promise<ModelSummary[]> {
    return (await this._get<Answer<'/nbmlops/api/models'>>('models')).models;
  }

  /** A model's versions (newest first) with their runs' metrics and aliases. */
  async model(name: string): Promise<ModelDetail> {
    const detail = await this._get<Answer<'/nbmlops/api/models/{name}'>>(apiPath('models', name));
    return { ...detail, versions: detail.versions.map(decoded) };
  }

  /** The audit log of a model's aliases, oldest first. */
  async history(name: string): Promise<AuditEntry[]> {
    return (await this._get<Answer<'/nbmlops/api/models/{name}/history'>>(apiPath('models', name, 'history'))).history;
  }

  /** A model's monitoring reports (oldest first) and the latest report's per-feature drift. */
  async monitoring(name: string): Promise<ModelMonitoring> {
    const body = await this._get<Answer<'/nbmlops/api/models/{name}/monitoring'>>(
      apiPath('models', name, 'monitoring')
    );
    const optional = (value: unknown): number | null =>
      value === null || value === undefined ? null : decodeNumber(value);
    return {
      ...body,
      reports: body.reports.map(report => ({
        ...report,
        drift_share: decodeNumber(report.drift_share),
        prediction_score: optional(report.prediction_score),
        metrics: decodeMetrics(report.metrics)
      })),
      features: body.features.map(feature => ({
        ...feature,
        score: optional(feature.score),
        threshold: decodeNumber(feature.threshold),
        psi: optional(feature.psi),
        reference_nulls: optional(feature.reference_nulls),
        current_nulls: optional(feature.current_nulls)
      }))
    };
  }

  /** The lineage graph through `ref`: name@alias, name/3, name, a run id or dataset:name@3. */
  lineage(ref: string): Promise<LineageGraph> {
    return this._get<Answer<'/nbmlops/api/lineage'>>('lineage' + query({ ref }));
  }

  /** What promoting `version` to `alias` would do (current holder, gate outcome); changes nothing. */
  checkPromotion(name: string, version: number, alias: string, gate?: string): Promise<PromotionCheck> {
    return this._get<Answer<'/nbmlops/api/models/{name}/promotion'>>(
      apiPath('models', name, 'promotion') + query({ version, alias, gate: gate?.trim() })
    );
  }

  /** Point `alias` at `version` if the gate passes; a failing gate rejects with ApiError status 409. */
  async promote(
    name: string,
    change: { version: number; alias: string; gate?: string; reason?: string }
  ): Promise<PromotionResult> {
    const body: Record<string, unknown> = { version: change.version, alias: change.alias };
    if (change.gate?.trim()) {
      body.gate = change.gate.trim();
    }
    if (change.reason?.trim()) {
      body.reason = change.reason.trim();
    }
    const result = await requestAPI<Answer<'/nbmlops/api/models/{name}/aliases', 'post'>>(
      apiPath('models', name, 'aliases'),
      { method: 'POST', body: JSON.stringify(body) },
      this._settings
    );
    void this.refresh();
    return result;
  }

  /** Remove an alias (audited). */
  async unalias(name: string, alias: string, reason?: string): Promise<void> {
    await requestAPI<void>(
      apiPath('models', name, 'aliases', alias) + query({ reason }),
      { method: 'DELETE' },
      this._settings
    );
    void this.refresh();
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this._poll.dispose();
    Signal.clearData(this);
  }

  private _get<T>(path: string): Promise<T> {
    return requestAPI<T>(path, {}, this._settings);
  }

  private async _refresh(): Promise<void> {
    let experiments = this._experiments;
    let error: ApiError | null = null;
    try {
      experiments = (await this._get<Answer<'/nbmlops/api/experiments'>>('experiments')).experiments;
    } catch (reason) {
      error = reason instanceof ApiError ? reason : new ApiError(String(reason), 0);
    }
    const changed =
      !this._loaded ||
      error?.message !== this._error?.message ||
      JSON.stringify(experiments) !== JSON.stringify(this._experiments);
    this._experiments = experiments;
    this._error = error;
    this._loaded = true;
    if (changed) {
      this._changed.emit();
    }
    this._tick.emit();
    if (error) {
      throw error; // lets the poll back off while the server is away
    }
  }

  private _settings: ServerConnection.ISettings;
  private _poll: Poll;
  private _experiments: Experiment[] = [];
  private _error: ApiError | null = null;
  private _loaded = false;
  private _changed = new Signal<this, void>(this);
  private _tick = new Signal<this, void>(this);
}
