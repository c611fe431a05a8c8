// The shapes of the REST API under /nbmlops/api/, named for the panel. They are aliases of openapi.ts, which
// `jlpm gen:types` generates from nbmlops/server/openapi.yaml (a jest test fails when it is stale, and the server's
// test suite checks every answer against openapi.yaml). Timestamps are ISO 8601 UTC strings ending in "Z".
// Metric values arrive as numbers or the strings "NaN", "Infinity", "-Infinity"; NbmlopsModel turns them into
// numbers before views see them, so the types views use say `number` there (`Decoded`).
import { components, paths } from './openapi';

type Schemas = components['schemas'];

/** The JSON body of the 200 answer of `method` on `path`, as the server sends it. */
export type Answer<P extends keyof paths, M extends 'get' | 'post' = 'get'> = paths[P][M] extends {
  responses: { 200: { content: { 'application/json': infer Body } } };
}
  ? Body
  : never;

/** `T` with the metric values of its `metrics` map decoded into numbers by the model. */
export type Decoded<T extends { metrics: object }> = Omit<T, 'metrics'> & { metrics: Record<string, number> };

export type ParamValue = Schemas['Value'];
export type RunStatus = Schemas['Run']['status'];
export type Experiment = Schemas['Experiment'];

/** A run as the runs listing gives it when no `columns` are asked for (the panel never asks): every field. */
export type RunRecord = Decoded<Required<Schemas['RunSummary']>>;

/** A page of runs; `total` counts all the runs matching the filter, not just this page. */
export type RunsPage = Omit<Answer<'/nbmlops/api/runs'>, 'runs'> & { runs: RunRecord[] };

export interface RunsRequest {
  experiments?: string[];
  where?: string;
  orderBy?: string;
  limit?: number;
  offset?: number;
}

/** Param, metric and tag keys, and whether lower ("min") or higher ("max") is better for each metric. */
export type Keys = Answer<'/nbmlops/api/keys'>;

export type Artifact = Schemas['Artifact'];
export type DatasetVersion = Schemas['Dataset'];
export type RunDataset = Schemas['RunDataset'];
/** A run with everything logged to it; `error` is the failure traceback of a FAILED run. */
export type RunDetail = Decoded<Schemas['Run']>;

type MetricHistoryAnswer = Answer<'/nbmlops/api/runs/{run_id}/metrics/{key}'>;
/** A metric's points (downsampled keeping extremes when `total` is more than `max_points`), values decoded. */
export type MetricHistory = Omit<MetricHistoryAnswer, 'points'> & {
  points: Omit<MetricHistoryAnswer['points'], 'value'> & { value: number[] };
};

export type ModelSummary = Schemas['Model'];
export type ModelVersion = Decoded<Schemas['ModelVersion']>;
/** A registered model with its versions, newest first. */
export type ModelDetail = Omit<Answer<'/nbmlops/api/models/{name}'>, 'versions'> & { versions: ModelVersion[] };
export type AuditEntry = Schemas['AuditEntry'];
export type GateResult = Schemas['GateResult'];
/** What promoting a version would do: the alias's holder now, the gate's outcome, and whether it is allowed. */
export type PromotionCheck = Answer<'/nbmlops/api/models/{name}/promotion'>;
export type PromotionResult = Answer<'/nbmlops/api/models/{name}/aliases', 'post'>;

/** One stored monitoring report of a model version, metrics decoded. */
export type MonitoringReport = Decoded<Schemas['MonitoringReport']>;
/** One column's drift in a report. */
export type FeatureDriftRow = Schemas['FeatureDrift'];
/** A model's monitoring history: reports oldest first, and the latest report's features, drifted first. */
export type ModelMonitoring = Omit<Answer<'/nbmlops/api/models/{name}/monitoring'>, 'reports'> & {
  reports: MonitoringReport[];
};

/** A lineage node's kind: its id starts with it (`dataset:NAME@V`, `run:ID`, `model:NAME/V`, `alias:NAME@ALIAS`). */
export type LineageNodeType = Schemas['LineageEdge']['source_type'];
/** One edge of a lineage graph: used (dataset -> run), registered, alias, retrains or reproduces. */
export type LineageEdge = Schemas['LineageEdge'];
/** Every edge into and out of `root`, the node the ref named. */
export type LineageGraph = Answer<'/nbmlops/api/lineage'>;

/** One logged medium (image, figure, table, text): an artifact at `path`, `svg_path` for a figure's SVG twin. */
export type MediaItem = Schemas['Media'];
/** What a medium is. */
export type MediaKind = MediaItem['kind'];
/** A run's media, sorted by kind, name and step. */
export type MediaList = Answer<'/nbmlops/api/runs/{run_id}/media'>;
/** One page of a logged table's rows (JSON-safe values); `total_rows` counts them all. */
export type TablePage = Answer<'/nbmlops/api/runs/{run_id}/media/table'>;

/** What any view can ask the application to do; index.ts implements it with commands. */
export interface Actions {
  /** Open the runs view of one experiment, or of all when null. */
  openRuns(experiment: string | null): void;
  /** Open a run's detail view. */
  openRun(runId: string): void;
  /** Open the compare view of two or more runs. */
  compare(runIds: string[]): void;
  /** Open the models view, showing `name` when given. */
  openModels(name?: string | null): void;
  /** Open the run's executed notebook (or its source notebook) in JupyterLab. */
  openNotebook(runId: string): void;
}

/**
 * Why run B differed from run A: each section is left out when it has nothing to say. Metric values are
 * numbers or the strings "NaN", "Infinity", "-Infinity" (shown as the server sends them).
 */
export type RunDiff = Answer<'/nbmlops/api/runs/{run_id}/diff/{other_run_id}'>;
/** One side of a run diff: the run's id, name, experiment, status, start and duration. */
export type RunDiffSide = RunDiff['a'];
export type ParamChange = NonNullable<RunDiff['params']>[number];
export type MetricChange = NonNullable<RunDiff['metrics']>[number];
export type CodeDiff = NonNullable<RunDiff['code']>;
export type DataChange = NonNullable<RunDiff['data']>[number];
export type EnvironmentDiff = NonNullable<RunDiff['environment']>;
export type GitDiff = NonNullable<RunDiff['git']>;
