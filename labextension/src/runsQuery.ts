import { IDisposable } from '@lumino/disposable';
import { ISignal, Signal } from '@lumino/signaling';

import { ApiError } from './api';
import { NbmlopsModel } from './model';
import { ATTRIBUTE_COLUMNS, Column, DEFAULT_ORDER, KEY_KINDS, SortOrder, keyColumn, orderByText } from './runsColumns';
import { isSystemMetric } from './systemMetrics';
import { Keys, RunRecord, RunsPage } from './types';

/** A rejected filter: the text the server refused and its error (with `position` when it gave one). */
export interface FilterError {
  text: string;
  error: ApiError;
}

/** How many params and how many metrics are shown before the user chooses. */
export const DEFAULT_KEYS_SHOWN = 12;

export interface RunsQueryOptions {
  model: NbmlopsModel;
  /** The experiments shown; null for all. */
  experiments: string[] | null;
  /** Rows per request; default 250. */
  blockSize?: number;
  /** Blocks kept in the cache; default 24. */
  maxBlocks?: number;
  /** Where the column choice is remembered; default window.localStorage (null: nowhere). */
  storage?: Storage | null;
  /** Milliseconds a block stays fresh: refresh() skips younger blocks; default 1000. */
  freshFor?: number;
  /** Milliseconds a scroll must rest on unloaded rows before they are fetched; default 40. */
  fetchDelay?: number;
}

interface Block {
  runs: RunRecord[];
  /** The cache's clock when the block was last used: the oldest unused block is dropped first. */
  used: number;
  /** Date.now() when the block arrived. */
  fetched: number;
}

/**
 * The runs table's data: filter, order, visible columns, the total, a cache of blocks of rows
 * fetched on demand, the selection and the last error. Views read it and call its methods; it
 * emits `changed` whenever anything they show changes.
 */
export class RunsQuery implements IDisposable {
  constructor(options: RunsQueryOptions) {
    this._model = options.model;
    this._experiments = options.experiments;
    this._blockSize = options.blockSize ?? 250;
    this._maxBlocks = Math.max(2, options.maxBlocks ?? 24);
    this._fetchDelay = options.fetchDelay ?? 40;
    this._freshFor = options.freshFor ?? 1000;
    this._storage = options.storage === undefined ? RunsQuery._defaultStorage() : options.storage;
    this._chosen = this._loadChoice();
  }

  /** The experiments shown; null for all. */
  get experiments(): string[] | null {
    return this._experiments;
  }

  /** The filter in force (the last one the server accepted). */
  get where(): string {
    return this._where;
  }

  /** The order in force; DEFAULT_ORDER until a column is sorted. */
  get order(): SortOrder {
    return this._order ?? DEFAULT_ORDER;
  }

  /** Number of runs matching the filter; 0 until loaded. */
  get total(): number {
    return this._total;
  }

  /** True once the first page answered. */
  get loaded(): boolean {
    return this._loaded;
  }

  /** True while a new filter or order is being asked for. */
  get busy(): boolean {
    return this._busy > 0;
  }

  /** The last filter the server rejected (previous results stay), or null. */
  get filterError(): FilterError | null {
    return this._filterError;
  }

  /** The last failure to load rows (server away, ...), or null. */
  get error(): ApiError | null {
    return this._error;
  }

  /** Param, metric and tag keys of the experiments' runs. */
  get keys(): Keys {
    return this._keys;
  }

  /** Attribute columns, then the chosen params, metrics and tags in key order. */
  get columns(): Column[] {
    const chosen = this.chosenColumns();
    const columns = [...ATTRIBUTE_COLUMNS];
    if (this._experiments === null || this._experiments.length > 1) {
      columns.splice(2, 0, { id: 'experiment', kind: 'attribute', key: 'experiment' });
    }
    for (const kind of KEY_KINDS) {
      for (const key of this._keys[kind]) {
        const column = keyColumn(kind, key);
        if (chosen.has(column.id)) {
          columns.push(column);
        }
      }
    }
    return columns;
  }

  /** Ids of the chosen key columns: the user's choice, or the default (capped params and metrics). */
  chosenColumns(): Set<string> {
    if (this._chosen) {
      return new Set(this._chosen);
    }
    return new Set([
      ...this._keys.params.slice(0, DEFAULT_KEYS_SHOWN).map(key => keyColumn('params', key).id),
      ...this._keys.metrics
        .filter(key => !isSystemMetric(key)) // CPU and memory samples: there when chosen, not by default
        .slice(0, DEFAULT_KEYS_SHOWN)
        .map(key => keyColumn('metrics', key).id)
    ]);
  }

  /** Selected run ids, in the order they were selected. */
  get selection(): string[] {
    return [...this._selection];
  }

  /** Emitted when rows, total, columns, order, filter, selection or errors changed. */
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  get isDisposed(): boolean {
    return this._disposed;
  }

  /** The run at row `index` of the ordered, filtered runs; undefined while its block is not loaded. */
  rowAt(index: number): RunRecord | undefined {
    const block = this._blocks.get(Math.floor(index / this._blockSize));
    return block?.runs[index % this._blockSize];
  }

  /** Fetch the first block and the keys. */
  async start(): Promise<void> {
    this._view = [0, this._blockSize];
    await Promise.all([this._loadKeys(), this._fetchBlocks(this._blocksOf(0, 1), this._generation)]);
  }

  /** The view shows rows [start, end): fetch their missing blocks once scrolling rests there. */
  ensureRange(start: number, end: number): void {
    this._view = [Math.max(0, start), Math.max(start, end)];
    if (!this._loaded) {
      return; // start() (or refresh() after it failed) loads the first page
    }
    const missing = this._missingBlocks();
    if (missing.length === 0 || this._timer !== null || this._disposed) {
      return;
    }
    this._timer = setTimeout(() => {
      this._timer = null;
      void this._fetchBlocks(this._missingBlocks(), this._generation);
    }, this._fetchDelay);
  }

  /** Apply a filter; resolves false (and sets filterError, keeping the rows) when the server rejects it. */
  setWhere(text: string): Promise<boolean> {
    return this._replace(text.trim(), this._order);
  }

  /** Sort on a column: ascending first, then toggling. */
  sortBy(columnId: string): Promise<boolean> {
    const current = this.order;
    const order =
      current.column === columnId
        ? { column: columnId, descending: !current.descending }
        : { column: columnId, descending: false };
    return this._replace(this._where, order);
  }

  /** Show or hide a key column (remembered per experiment). */
  toggleColumn(id: string): void {
    const chosen = this.chosenColumns();
    if (chosen.has(id)) {
      chosen.delete(id);
    } else {
      chosen.add(id);
    }
    this.setColumns([...chosen]);
  }

  /** Choose the key columns shown (remembered per experiment). */
  setColumns(ids: string[]): void {
    this._chosen = [...new Set(ids)];
    try {
      this._storage?.setItem(this._storageKey(), JSON.stringify(this._chosen));
    } catch {
      // storage full or denied: the choice lasts for this session only
    }
    this._changed.emit();
  }

  /** Go back to the default columns. */
  resetColumns(): void {
    this._chosen = null;
    this._storage?.removeItem(this._storageKey());
    this._changed.emit();
  }

  /** Whether the run is selected. */
  isSelected(runId: string): boolean {
    return this._selection.has(runId);
  }

  /**
   * Toggle the run at row `index`; with `range`, give every loaded row between the last toggled
   * row and this one the new state of this row (shift-click).
   */
  toggle(index: number, range = false): void {
    const run = this.rowAt(index);
    if (!run) {
      return;
    }
    const select = !this._selection.has(run.run_id);
    const anchor = range && this._anchor !== null ? this._anchor : index;
    this._anchor = index;
    this._mark(Math.min(anchor, index), Math.max(anchor, index) + 1, select);
  }

  /** Select (or with `select` false, unselect) the loaded runs of rows [start, end). */
  selectRange(start: number, end: number, select = true): void {
    this._mark(start, end, select);
  }

  /** Unselect every run. */
  clearSelection(): void {
    this._selection.clear();
    this._anchor = null;
    this._changed.emit();
  }

  /** Re-fetch the blocks in view and the total (live status of running runs). */
  async refresh(): Promise<void> {
    if (this._disposed || this._refreshing) {
      return;
    }
    if (!this._loaded) {
      // The first page failed (server away?): try again.
      if (this._pending.size === 0) {
        await this.start();
      }
      return;
    }
    this._refreshing = true;
    try {
      const generation = this._generation;
      const before = this._total;
      // Blocks still loading are ensureRange's; blocks that just arrived are fresh enough.
      const stale = Date.now() - this._freshFor;
      const blocks = this._blocksOf(...this._view).filter(index => {
        const block = this._blocks.get(index);
        return block && block.fetched < stale && !this._pending.has(index);
      });
      await this._fetchBlocks(blocks, generation, true);
      if (generation === this._generation && this._total !== before) {
        // Rows came or went: blocks out of view hold shifted rows, and there may be new keys.
        const keep = new Set(this._blocksOf(...this._view));
        for (const index of [...this._blocks.keys()]) {
          if (!keep.has(index)) {
            this._blocks.delete(index);
          }
        }
        await this._loadKeys();
      }
    } finally {
      this._refreshing = false;
    }
    // Rows in view whose blocks failed to load earlier are tried again.
    this.ensureRange(...this._view);
  }

  dispose(): void {
    if (this._disposed) {
      return;
    }
    this._disposed = true;
    if (this._timer !== null) {
      clearTimeout(this._timer);
    }
    Signal.clearData(this);
  }

  private _mark(start: number, end: number, select: boolean): void {
    for (let i = start; i < Math.min(end, this._total); i++) {
      const id = this.rowAt(i)?.run_id;
      if (id !== undefined) {
        if (select) {
          this._selection.add(id);
        } else {
          this._selection.delete(id);
        }
      }
    }
    this._changed.emit();
  }

  private async _replace(where: string, order: SortOrder | null): Promise<boolean> {
    const request = ++this._requests;
    this._busy++;
    this._changed.emit();
    try {
      const page = await this._page(0, where, order);
      if (request !== this._requests || this._disposed) {
        return false; // a newer filter or order was asked for meanwhile
      }
      this._generation++;
      this._where = where;
      this._order = order;
      this._blocks.clear();
      this._store(0, page);
      this._view = [0, this._blockSize];
      this._anchor = null;
      this._filterError = null;
      this._error = null;
      return true;
    } catch (reason) {
      if (request !== this._requests || this._disposed) {
        return false;
      }
      const error = asApiError(reason);
      if (error.status === 400) {
        this._filterError = { text: where, error };
      } else {
        this._error = error;
      }
      return false;
    } finally {
      this._busy--;
      if (!this._disposed) {
        this._changed.emit();
      }
    }
  }

  private async _fetchBlocks(blocks: number[], generation: number, compare = false): Promise<void> {
    const wanted = blocks.filter(index => !this._pending.has(index));
    if (wanted.length === 0) {
      return;
    }
    let changed = false;
    await Promise.all(
      wanted.map(async index => {
        this._pending.add(index);
        try {
          const page = await this._page(index * this._blockSize, this._where, this._order);
          if (generation !== this._generation || this._disposed) {
            return;
          }
          const old = this._blocks.get(index);
          if (compare && old && this._total === page.total && JSON.stringify(old.runs) === JSON.stringify(page.runs)) {
            old.fetched = Date.now(); // unchanged: keep the same objects so rows skip re-rendering
          } else {
            changed = true;
            this._store(index, page);
          }
          if (this._error) {
            this._error = null;
            changed = true;
          }
        } catch (reason) {
          if (generation === this._generation && !this._disposed) {
            this._error = asApiError(reason);
            changed = true;
          }
        } finally {
          this._pending.delete(index);
        }
      })
    );
    if (changed && !this._disposed) {
      this._changed.emit();
    }
    // Scrolling may have moved on while these were loading.
    if (generation === this._generation && !this._disposed && !this._error) {
      this.ensureRange(...this._view);
    }
  }

  private _page(offset: number, where: string, order: SortOrder | null): Promise<RunsPage> {
    return this._model.runs({
      experiments: this._experiments ?? undefined,
      where: where || undefined,
      orderBy: order ? orderByText(order) : undefined,
      limit: this._blockSize,
      offset
    });
  }

  private _store(index: number, page: RunsPage): void {
    this._blocks.set(index, { runs: page.runs, used: ++this._clock, fetched: Date.now() });
    this._total = page.total;
    this._loaded = true;
    const inView = new Set(this._blocksOf(...this._view));
    while (this._blocks.size > this._maxBlocks) {
      let oldest: number | null = null;
      for (const [i, block] of this._blocks) {
        if (!inView.has(i) && (oldest === null || block.used < this._blocks.get(oldest)!.used)) {
          oldest = i;
        }
      }
      if (oldest === null) {
        break;
      }
      this._blocks.delete(oldest);
    }
  }

  private _blocksOf(start: number, end: number): number[] {
    const last = Math.max(start, end - 1);
    const blocks: number[] = [];
    for (let i = Math.floor(start / this._blockSize); i <= Math.floor(last / this._blockSize); i++) {
      blocks.push(i);
    }
    return blocks;
  }

  private _missingBlocks(): number[] {
    const [start, end] = this._view;
    const limit = this._loaded ? Math.min(end, this._total) : end;
    if (limit <= start) {
      return [];
    }
    return this._blocksOf(start, limit).filter(index => {
      const block = this._blocks.get(index);
      if (block) {
        block.used = ++this._clock;
      }
      return !block && !this._pending.has(index);
    });
  }

  private async _loadKeys(): Promise<void> {
    try {
      const keys = await this._model.keys(this._experiments);
      if (!this._disposed && JSON.stringify(keys) !== JSON.stringify(this._keys)) {
        this._keys = keys;
        this._changed.emit();
      }
    } catch {
      // keys only feed the column chooser; the rows' own error is what the user sees
    }
  }

  private _storageKey(): string {
    return `nbmlops:runs-columns:${this._experiments === null ? '*' : [...this._experiments].sort().join('\n')}`;
  }

  private _loadChoice(): string[] | null {
    try {
      const text = this._storage?.getItem(this._storageKey());
      const value: unknown = text ? JSON.parse(text) : null;
      return Array.isArray(value) ? value.filter((id): id is string => typeof id === 'string') : null;
    } catch {
      return null;
    }
  }

  private static _defaultStorage(): Storage | null {
    try {
      return typeof window !== 'undefined' ? window.localStorage : null;
    } catch {
      return null;
    }
  }

  private _model: NbmlopsModel;
  private _experiments: string[] | null;
  private _blockSize: number;
  private _maxBlocks: number;
  private _fetchDelay: number;
  private _freshFor: number;
  private _storage: Storage | null;
  private _chosen: string[] | null;
  private _where = '';
  private _order: SortOrder | null = null;
  private _total = 0;
  private _loaded = false;
  private _busy = 0;
  private _requests = 0;
  private _generation = 0;
  private _clock = 0;
  private _blocks = new Map<number, Block>();
  private _pending = new Set<number>();
  private _view: [number, number] = [0, 0];
  private _timer: ReturnType<typeof setTimeout> | null = null;
  private _refreshing = false;
  private _keys: Keys = { params: [], metrics: [], tags: [], directions: {} };
  private _selection = new Set<string>();
  private _anchor: number | null = null;
  private _filterError: FilterError | null = null;
  private _error: ApiError | null = null;
  private _disposed = false;
  private _changed = new Signal<this, void>(this);
}

function asApiError(reason: unknown): ApiError {
  return reason instanceof ApiError ? reason : new ApiError(String(reason), 0);
}
