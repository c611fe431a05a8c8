import { LineageEdge, LineageGraph, LineageNodeType } from './types';

/** Columns left to right: what a node is decides where it stands. */
export const LINEAGE_COLUMNS: LineageNodeType[] = ['dataset', 'run', 'model', 'alias'];

export const NODE_WIDTH = 180;
export const NODE_HEIGHT = 32;
const COLUMN_GAP = 84;
const ROW_GAP = 18;
/** Room above the nodes for the column headings. */
const HEADER = 22;
const PAD = 8;
/** How far an edge within a column bulges to the right of it. */
const LOOP = 44;
/** How far a backward edge between nodes at one height sags, so that it is not drawn straight. */
const SAG = 20;
/** Barycenter sweeps (each one left-to-right and back); a few settle small graphs. */
const SWEEPS = 4;

export interface LayoutNode {
  id: string;
  type: LineageNodeType;
  label: string;
  /** Index among the columns that have nodes. */
  column: number;
  row: number;
  x: number;
  y: number;
  root: boolean;
}

export interface LayoutEdge {
  source: string;
  target: string;
  kind: LineageEdge['kind'];
  /** The details of every edge merged into this one (a dataset used as train and test: both roles). */
  details: string[];
  /** forward: to a column on the right; backward: to one on the left; loop: within a column. */
  shape: 'forward' | 'backward' | 'loop';
  /** SVG path data, ending at the target's border. */
  path: string;
  labelX: number;
  labelY: number;
}

export interface LineageLayout {
  /** The columns that have nodes, with the x of their left edge. */
  columns: { type: LineageNodeType; x: number }[];
  nodes: LayoutNode[];
  edges: LayoutEdge[];
  width: number;
  height: number;
}

/** A node's type from its id (`run:ID` is a run). */
export function nodeType(id: string): LineageNodeType {
  const prefix = id.slice(0, id.indexOf(':')) as LineageNodeType;
  return LINEAGE_COLUMNS.includes(prefix) ? prefix : 'run';
}

const byLabel = new Intl.Collator(undefined, { numeric: true }).compare;

/** Edges between different columns whose ends are in opposite order (the ones drawn crossing). */
export function crossings(columns: string[][], links: [string, string][]): number {
  const where = new Map<string, [number, number]>();
  columns.forEach((ids, c) => ids.forEach((id, r) => where.set(id, [c, r])));
  const spans = links
    .map(([a, b]) => {
      const [ca, ra] = where.get(a) ?? [-1, -1];
      const [cb, rb] = where.get(b) ?? [-1, -1];
      return ca < cb ? [ca, cb, ra, rb] : [cb, ca, rb, ra];
    })
    .filter(([ca, cb]) => ca >= 0 && ca !== cb);
  let count = 0;
  for (let i = 0; i < spans.length; i++) {
    for (let j = i + 1; j < spans.length; j++) {
      const [a, b] = [spans[i], spans[j]];
      if (a[0] === b[0] && a[1] === b[1] && (a[2] - b[2]) * (a[3] - b[3]) < 0) {
        count++;
      }
    }
  }
  return count;
}

/**
 * Order the nodes of each column to reduce crossings: barycenter sweeps left-to-right (each node
 * at the mean row of its neighbours on the left) and back, keeping the best order seen.
 */
export function orderColumns(columns: string[][], links: [string, string][]): string[][] {
  const column = new Map<string, number>();
  columns.forEach((ids, c) => ids.forEach(id => column.set(id, c)));
  const neighbours = new Map<string, string[]>();
  for (const [a, b] of links) {
    if (column.has(a) && column.has(b) && column.get(a) !== column.get(b)) {
      neighbours.set(a, [...(neighbours.get(a) ?? []), b]);
      neighbours.set(b, [...(neighbours.get(b) ?? []), a]);
    }
  }
  let order = columns.map(ids => [...ids]);
  let best = order;
  let fewest = crossings(order, links);
  const place = (c: number, side: -1 | 1): void => {
    const row = new Map<string, number>();
    order.forEach(ids => ids.forEach((id, r) => row.set(id, r)));
    const key = (id: string, r: number): number => {
      const near = (neighbours.get(id) ?? []).filter(n => Math.sign((column.get(n) as number) - c) === side);
      return near.length ? near.reduce((sum, n) => sum + (row.get(n) as number), 0) / near.length : r;
    };
    const keyed = order[c].map((id, r) => ({ id, key: key(id, r), r }));
    keyed.sort((a, b) => a.key - b.key || a.r - b.r);
    order[c] = keyed.map(k => k.id);
  };
  for (let sweep = 0; sweep < SWEEPS && fewest > 0; sweep++) {
    order = order.map(ids => [...ids]);
    for (let c = 1; c < order.length; c++) {
      place(c, -1);
    }
    for (let c = order.length - 2; c >= 0; c--) {
      place(c, 1);
    }
    const count = crossings(order, links);
    if (count < fewest) {
      fewest = count;
      best = order;
    }
  }
  return best;
}

/** The point halfway along a cubic Bézier curve. */
function halfway(p: number[]): [number, number] {
  return [(p[0] + 3 * p[2] + 3 * p[4] + p[6]) / 8, (p[1] + 3 * p[3] + 3 * p[5] + p[7]) / 8];
}

function curve(p: number[]): string {
  const r = p.map(v => Math.round(v * 10) / 10);
  return `M${r[0]},${r[1]} C${r[2]},${r[3]} ${r[4]},${r[5]} ${r[6]},${r[7]}`;
}

/** Where every node and edge of `graph` goes: layered left to right, columns by node type. */
export function layoutLineage(graph: LineageGraph): LineageLayout {
  const labels = new Map<string, string>();
  const types = new Map<string, LineageNodeType>();
  for (const edge of graph.edges) {
    labels.set(
      edge.source,
      labels.get(edge.source) ?? edge.source_label ?? edge.source.slice(edge.source.indexOf(':') + 1)
    );
    labels.set(
      edge.target,
      labels.get(edge.target) ?? edge.target_label ?? edge.target.slice(edge.target.indexOf(':') + 1)
    );
    types.set(edge.source, edge.source_type ?? nodeType(edge.source));
    types.set(edge.target, edge.target_type ?? nodeType(edge.target));
  }
  if (!labels.has(graph.root)) {
    labels.set(graph.root, graph.root.slice(graph.root.indexOf(':') + 1));
    types.set(graph.root, nodeType(graph.root));
  }

  const used = LINEAGE_COLUMNS.filter(type => [...types.values()].includes(type));
  const start = used.map(type =>
    [...labels.keys()]
      .filter(id => types.get(id) === type)
      .sort((a, b) => byLabel(labels.get(a) as string, labels.get(b) as string))
  );
  const merged = new Map<string, LayoutEdge>();
  for (const edge of graph.edges) {
    const key = JSON.stringify([edge.source, edge.target, edge.kind]);
    const known = merged.get(key);
    if (known) {
      if (edge.detail && !known.details.includes(edge.detail)) {
        known.details.push(edge.detail);
      }
      continue;
    }
    merged.set(key, {
      source: edge.source,
      target: edge.target,
      kind: edge.kind,
      details: edge.detail ? [edge.detail] : [],
      shape: 'forward',
      path: '',
      labelX: 0,
      labelY: 0
    });
  }
  const edges = [...merged.values()];
  const columns = orderColumns(
    start,
    edges.map(e => [e.source, e.target])
  );

  const rowHeight = NODE_HEIGHT + ROW_GAP;
  const rows = Math.max(...columns.map(ids => ids.length));
  const nodes = new Map<string, LayoutNode>();
  columns.forEach((ids, c) => {
    const offset = ((rows - ids.length) * rowHeight) / 2;
    ids.forEach((id, r) => {
      nodes.set(id, {
        id,
        type: types.get(id) as LineageNodeType,
        label: labels.get(id) as string,
        column: c,
        row: r,
        x: PAD + c * (NODE_WIDTH + COLUMN_GAP),
        y: HEADER + PAD + offset + r * rowHeight,
        root: id === graph.root
      });
    });
  });

  let right = PAD * 2 + columns.length * NODE_WIDTH + (columns.length - 1) * COLUMN_GAP;
  for (const edge of edges) {
    const s = nodes.get(edge.source) as LayoutNode;
    const t = nodes.get(edge.target) as LayoutNode;
    let p: number[];
    if (s.column < t.column) {
      const [x1, y1, x2, y2] = [s.x + NODE_WIDTH, s.y + NODE_HEIGHT / 2, t.x, t.y + NODE_HEIGHT / 2];
      const dx = (x2 - x1) / 2;
      p = [x1, y1, x1 + dx, y1, x2 - dx, y2, x2, y2];
    } else if (s.column > t.column) {
      // leaves and enters below the middle, where forward edges do not; its label then falls between rows
      edge.shape = 'backward';
      const [x1, y1, x2, y2] = [s.x, s.y + NODE_HEIGHT * 0.75, t.x + NODE_WIDTH, t.y + NODE_HEIGHT * 0.75];
      const [dx, sag] = [(x1 - x2) / 2, s.row === t.row ? SAG : 0];
      p = [x1, y1, x1 - dx, y1 + sag, x2 + dx, y2 + sag, x2, y2];
    } else {
      edge.shape = 'loop';
      const x = s.x + NODE_WIDTH;
      const bulge = LOOP + 8 * Math.abs(s.row - t.row);
      const [y1, y2] = [s.y + NODE_HEIGHT * 0.75, t.y + NODE_HEIGHT * 0.75];
      p = [x, y1, x + bulge, y1, x + bulge, y2, x, y2];
      right = Math.max(right, x + 0.75 * bulge + 40); // its label is centred on the bulge
    }
    edge.path = curve(p);
    [edge.labelX, edge.labelY] = halfway(p);
  }

  return {
    columns: used.map((type, c) => ({ type, x: PAD + c * (NODE_WIDTH + COLUMN_GAP) })),
    nodes: columns.flat().map(id => nodes.get(id) as LayoutNode),
    edges,
    width: Math.ceil(right),
    height: HEADER + PAD + rows * rowHeight - ROW_GAP + SAG
  };
}
