// The shapes the REST API under /nbmlops/api/ returns (nbmlops/server/openapi.yaml is the reference).
// Timestamps are ISO 8601 UTC strings ending in "Z". Metric values arrive as numbers; the API's
// "NaN" / "Infinity" / "-Infinity" strings are turned into numbers by the model before views see them.

export type ParamValue = number | string | boolean | null | ParamValue[] | { [key: string]: ParamValue };
export type RunStatus = 'RUNNING' | 'FINISHED' | 'FAILED' | 'KILLED';

export interface Experiment {
  name: string;
  runs: number;
  running: number;
  created_at: string;
  last_activity: string | null;
}

export interface RunRecord {
  run_id: string;
  name: string;
  experiment: string;
  status: RunStatus;
  start_time: string;
  end_time: string | null;
  /** Seconds; for a running run, seconds so far. */
  duration: number | null;
  user: string | null;
  host: string | null;
  parent_run_id: string | null;
  notebook: string | null;
  params: Record<string, ParamValue>;
  metrics: Record<string, number>;
  tags: Record<string, string>;
}

export interface RunsPage {
  runs: RunRecord[];
  /** Number of all runs matching the filter, not just this page. */
  total: number;
  offset: number;
  limit: number;
}

export interface RunsRequest {
  experiments?: string[];
  where?: string;
  orderBy?: string;
  limit?: number;
  offset?: number;
}

export interface Keys {
  params: string[];
  metrics: string[];
  tags: string[];
  /** Whether lower ("min") or higher ("max") is better, for each metric key. */
  directions: Record<string, 'min' | 'max'>;
}

export interface Artifact {
  path: string;
  sha256: string;
  size: number;
  created_at: string;
}

export interface DatasetVersion {
  name: string;
  version: number;
  fingerprint: string;
  kind: string;
  rows: number | null;
  columns: number | null;
  size_bytes: number | null;
  files: number | null;
  source: string | null;
  created_at: string;
  roles: string[];
  runs: number;
  run_ids: string[];
}

export interface RunDataset extends DatasetVersion {
  /** Column name -> dtype. */
  schema: Record<string, string>;
}

export interface RunDetail extends RunRecord {
  /** The failure traceback of a FAILED run. */
  error: string | null;
  artifacts: Artifact[];
  datasets: RunDataset[];
}

export interface MetricHistory {
  key: string;
  /** Number of points logged; `points` may hold fewer (downsampled keeping extremes). */
  total: number;
  downsampled: boolean;
  max_points: number;
  points: { step: number[]; timestamp: string[]; value: number[] };
}

export interface ModelSummary {
  name: string;
  latest_version: number;
  versions: number;
  aliases: Record<string, number>;
  created_at: string;
  updated_at: string;
}

export interface ModelVersion {
  version: number;
  run_id: string | null;
  run_name: string | null;
  model_class: string | null;
  flavor: string;
  aliases: string[];
  created_at: string;
  user: string | null;
  metrics: Record<string, number>;
}

export interface ModelDetail {
  name: string;
  aliases: Record<string, number>;
  /** Newest first. */
  versions: ModelVersion[];
}

export interface AuditEntry {
  changed_at: string;
  user: string | null;
  alias: string;
  /** null when the alias was new. */
  from_version: number | null;
  /** null when the alias was removed. */
  to_version: number | null;
  reason: string | null;
  gate: string | null;
  /** The gate's one-line explanation at the time. */
  gate_outcome: string | null;
}

export interface GateResult {
  passed: boolean;
  expression: string;
  /** One line naming every compared value. */
  explanation: string;
  values: Record<string, ParamValue>;
}

export interface PromotionCheck {
  name: string;
  alias: string;
  version: number;
  /** The version the alias points at now. */
  current: number | null;
  gate: GateResult | null;
  /** True when there is no gate or it passes. */
  allowed: boolean;
}

export interface PromotionResult {
  name: string;
  alias: string;
  version: number;
  gate: GateResult | null;
}

/** One stored monitoring report of a model version (GET models/{name}/monitoring). */
export interface MonitoringReport {
  timestamp: string;
  version: number;
  n_rows: number;
  n_columns: number;
  drifted_columns: number;
  /** Share of compared columns that drifted, 0..1; dataset drift at >= 0.5. */
  drift_share: number;
  dataset_drift: boolean;
  /** null when the model's predictions could not be compared. */
  prediction_drift: boolean | null;
  prediction_score: number | null;
  report_id: string;
  /** The batch file of `nbmlops monitor`, null for data frames. */
  source: string | null;
  /** Performance metrics; empty when the report had no labels. */
  metrics: Record<string, number>;
}

/** One column's drift in a report. */
export interface FeatureDriftRow {
  report_id: string;
  version: number;
  timestamp: string;
  column: string;
  kind: string;
  /** ks, chisquare (score is a p-value), wasserstein, jensenshannon (score is a distance), or empty. */
  stat_test: string;
  score: number | null;
  threshold: number;
  drifted: boolean;
  psi: number | null;
  /** Shares of missing values, 0..1. */
  reference_nulls: number | null;
  current_nulls: number | null;
}

/** A model's monitoring history: reports oldest first, and the latest report's features, drifted first. */
export interface ModelMonitoring {
  name: string;
  reports: MonitoringReport[];
  features: FeatureDriftRow[];
}

/** A lineage node's kind: its id starts with it (`dataset:NAME@V`, `run:ID`, `model:NAME/V`, `alias:NAME@ALIAS`). */
export type LineageNodeType = 'dataset' | 'run' | 'model' | 'alias';

/** One edge of a lineage graph (GET lineage?ref=). */
export interface LineageEdge {
  source: string;
  target: string;
  /** used: dataset -> run; registered: run -> model; alias: model -> alias; retrains: model -> run; reproduces: run -> run. */
  kind: 'used' | 'registered' | 'alias' | 'retrains' | 'reproduces';
  /** The role (train, test) of a used edge, the alias of an alias edge, else null. */
  detail: string | null;
  source_type: LineageNodeType;
  target_type: LineageNodeType;
  source_label: string | null;
  target_label: string | null;
}

/** Every edge into and out of `root`, the node the ref named. */
export interface LineageGraph {
  root: string;
  edges: LineageEdge[];
}

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
