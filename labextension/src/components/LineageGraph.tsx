import { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import { ApiError } from '../api';
import { LayoutEdge, LayoutNode, layoutLineage, LineageLayout, NODE_HEIGHT, NODE_WIDTH } from '../lineageLayout';
import { NbmlopsModel } from '../model';
import { Actions, LineageNodeType } from '../types';
import { ErrorLine, useLiveData } from './common';

/** Characters of a label that fit in a node box; the full label is in the node's tooltip. */
const LABEL_CHARS = 25;

export interface LineageGraphProps {
  model: NbmlopsModel;
  trans: TranslationBundle;
  actions: Actions;
  /** What to draw the lineage of: name@alias, name/3, name, run:ID or dataset:name@3. */
  subject: string;
}

/**
 * The lineage through `subject` as a graph: dataset versions -> runs -> model versions -> aliases,
 * left to right. Runs and models open on click or Enter. Reloaded on every refresh round, so a
 * promotion or a new version shows up without reopening the view.
 */
export function LineageGraph(props: LineageGraphProps): React.ReactElement {
  const { model, trans, actions, subject } = props;
  const { data: graph, error } = useLiveData(model, subject, () => model.lineage(subject));

  const layout = React.useMemo(() => (graph && graph.edges.length ? layoutLineage(graph) : null), [graph]);

  if (error && (!graph || (error instanceof ApiError && error.status === 404))) {
    return <ErrorLine error={error} />;
  }
  if (!graph) {
    return <p className="jp-nbmlops-muted">{trans.__('Loading lineage…')}</p>;
  }
  if (!layout) {
    return (
      <p className="jp-nbmlops-muted jp-nbmlops-lineage-empty">
        {trans.__(
          'No lineage yet: log a dataset with nbmlops.log_dataset and a model with nbmlops.log_model in the same run'
        )}
      </p>
    );
  }
  return (
    <>
      <ErrorLine error={error} />
      <LineageDrawing layout={layout} trans={trans} actions={actions} subject={subject} />
    </>
  );
}

function LineageDrawing(props: {
  layout: LineageLayout;
  trans: TranslationBundle;
  actions: Actions;
  subject: string;
}): React.ReactElement {
  const { layout, trans, actions, subject } = props;
  const root = layout.nodes.find(node => node.root)?.label ?? subject;
  const id = React.useId().replace(/[^A-Za-z0-9_-]/g, '');
  const [arrow, clip] = [`jp-nbmlops-lineage-arrow-${id}`, `jp-nbmlops-lineage-clip-${id}`];
  const headings: Record<LineageNodeType, string> = {
    dataset: trans.__('Datasets'),
    run: trans.__('Runs'),
    model: trans.__('Models'),
    alias: trans.__('Aliases')
  };
  return (
    <div className="jp-nbmlops-lineage">
      <svg
        className="jp-nbmlops-lineage-graph"
        width={layout.width}
        height={layout.height}
        viewBox={`0 0 ${layout.width} ${layout.height}`}
        role="group"
        aria-label={trans.__('Lineage of %1', root)}
      >
        <defs>
          <marker id={arrow} viewBox="0 0 8 8" refX="7.5" refY="4" markerWidth="7" markerHeight="7" orient="auto">
            <path className="jp-nbmlops-lineage-arrowhead" d="M0,0 L8,4 L0,8 z" />
          </marker>
          {/* in each node's own coordinates: a label wider than its box (wide glyphs, bold root) is cut */}
          <clipPath id={clip}>
            <rect width={NODE_WIDTH - 6} height={NODE_HEIGHT} />
          </clipPath>
        </defs>
        {layout.columns.map(column => (
          <text
            key={column.type}
            className="jp-nbmlops-lineage-heading"
            x={column.x + NODE_WIDTH / 2}
            y={14}
            textAnchor="middle"
          >
            {headings[column.type]}
          </text>
        ))}
        {layout.edges.map(edge => (
          <LineageEdgePath key={`${edge.source}>${edge.target}>${edge.kind}`} edge={edge} arrow={arrow} trans={trans} />
        ))}
        {layout.nodes.map(node => (
          <LineageNodeBox key={node.id} node={node} clip={clip} trans={trans} actions={actions} />
        ))}
      </svg>
    </div>
  );
}

function LineageEdgePath(props: { edge: LayoutEdge; arrow: string; trans: TranslationBundle }): React.ReactElement {
  const { edge, arrow, trans } = props;
  const label =
    edge.kind === 'used'
      ? edge.details.join(', ')
      : edge.kind === 'retrains'
        ? trans.__('retrains')
        : edge.kind === 'reproduces'
          ? trans.__('reproduces')
          : '';
  const tip = edge.details.length ? `${edge.kind} (${edge.details.join(', ')})` : edge.kind;
  return (
    <g className={`jp-nbmlops-lineage-edge jp-nbmlops-lineage-edge-${edge.kind} jp-mod-${edge.shape}`}>
      <path d={edge.path} markerEnd={`url(#${arrow})`}>
        <title>{tip}</title>
      </path>
      {label ? (
        <text
          className="jp-nbmlops-lineage-edge-label"
          x={edge.labelX}
          y={edge.labelY}
          textAnchor="middle"
          dominantBaseline="central"
        >
          {label}
        </text>
      ) : null}
    </g>
  );
}

/** What clicking a node opens: a run's view, or the models view of a model or alias; datasets open nothing. */
function opener(node: LayoutNode, actions: Actions): (() => void) | null {
  const rest = node.id.slice(node.id.indexOf(':') + 1);
  switch (node.type) {
    case 'run':
      return () => actions.openRun(rest);
    case 'model':
      return () => actions.openModels(rest.slice(0, rest.lastIndexOf('/')));
    case 'alias':
      return () => actions.openModels(rest.slice(0, rest.lastIndexOf('@')));
    default:
      return null;
  }
}

function LineageNodeBox(props: {
  node: LayoutNode;
  clip: string;
  trans: TranslationBundle;
  actions: Actions;
}): React.ReactElement {
  const { node, clip, trans, actions } = props;
  const open = opener(node, actions);
  const [label, text] = useFittedLabel(node.label, NODE_WIDTH - 20);
  const name =
    node.type === 'run'
      ? trans.__('Open run %1', node.label)
      : node.type === 'dataset'
        ? trans.__('Dataset %1', node.label)
        : trans.__('Open %1 in the models view', node.label);
  return (
    <g
      className={`jp-nbmlops-lineage-node jp-nbmlops-lineage-${node.type}${node.root ? ' jp-mod-root' : ''}`}
      transform={`translate(${node.x},${node.y})`}
      role={open ? 'link' : 'img'}
      tabIndex={open ? 0 : undefined}
      aria-label={name}
      aria-current={node.root ? 'true' : undefined}
      onClick={open ?? undefined}
      onKeyDown={
        open
          ? event => {
              if (event.key === 'Enter') {
                event.preventDefault();
                open();
              }
            }
          : undefined
      }
    >
      <title>{node.label}</title>
      <rect className="jp-nbmlops-lineage-box" width={NODE_WIDTH} height={NODE_HEIGHT} rx={4} />
      <rect className="jp-nbmlops-lineage-bar" width={4} height={NODE_HEIGHT} rx={2} />
      <text ref={label} x={12} y={NODE_HEIGHT / 2} dominantBaseline="central" clipPath={`url(#${clip})`}>
        {text}
      </text>
    </g>
  );
}

/**
 * `label` cut with an ellipsis to fit `width` pixels: drawn whole first, measured, then cut before
 * the browser paints. Where text has no metrics (jsdom) it is cut at LABEL_CHARS.
 */
function useFittedLabel(label: string, width: number): [React.RefObject<SVGTextElement>, string] {
  const ref = React.useRef<SVGTextElement>(null);
  const [fit, setFit] = React.useState<{ label: string; chars: number } | null>(null);
  React.useLayoutEffect(() => {
    const element = ref.current;
    if (!element || fit?.label === label) {
      return;
    }
    let chars = LABEL_CHARS;
    if (typeof element.getSubStringLength === 'function' && element.getNumberOfChars() === label.length) {
      chars = label.length;
      if (element.getComputedTextLength() > width) {
        const room = width - element.getSubStringLength(0, 1); // about the width of the ellipsis
        while (chars > 2 && element.getSubStringLength(0, chars - 1) > room) {
          chars--;
        }
      }
    }
    setFit({ label, chars });
  }, [label, width, fit]);
  const chars = fit?.label === label ? fit.chars : label.length;
  return [ref, chars >= label.length ? label : label.slice(0, chars - 1) + '…'];
}
