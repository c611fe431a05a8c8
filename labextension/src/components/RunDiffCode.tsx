import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { TranslationBundle } from '@jupyterlab/translation';
import { Widget } from '@lumino/widgets';
import { NotebookDiffModel } from 'nbdime/lib/diff/model';
import { NotebookDiffWidget } from 'nbdime/lib/diff/widget';
import * as React from 'react';

import { CodeDiff } from '../types';

type CellChange = NonNullable<CodeDiff['changes']>[number];
type NotebookView = NonNullable<CodeDiff['notebook']>;

/**
 * What kind of line of a unified diff `line` is: a header, added, removed or context. With `files` (a git
 * diff) the file lines (`diff --git`, `--- a/...`, `+++ b/...`) are headers too.
 */
export function lineKind(line: string, files = false): 'hunk' | 'added' | 'removed' | 'context' {
  if (line.startsWith('@@') || (files && /^(diff --git |--- |\+\+\+ |index )/.test(line))) {
    return 'hunk';
  }
  if (line.startsWith('+')) {
    return 'added';
  }
  if (line.startsWith('-')) {
    return 'removed';
  }
  return 'context';
}

/** Lines of a unified diff, each coloured by its kind (added green, removed red, hunk headers muted). */
export function DiffLines(props: { lines: string[]; label: string; files?: boolean }): React.ReactElement {
  return (
    <pre className="jp-nbmlops-diff-lines" tabIndex={0} aria-label={props.label}>
      {props.lines.map((line, i) => (
        <span key={i} className={`jp-nbmlops-diff-line jp-nbmlops-diff-${lineKind(line, props.files)}`}>
          {line}
          {'\n'}
        </span>
      ))}
    </pre>
  );
}

/** "cell 3", "cell 3 -> 4", "cell 2 removed in B", "cell 5 added in B" (numbered from 1, as Jupyter shows them). */
export function cellLabel(change: CellChange, trans: TranslationBundle): string {
  const a = change.a === null ? null : change.a + 1;
  const b = change.b === null ? null : change.b + 1;
  const label =
    change.change === 'added'
      ? trans.__('cell %1 added in B', b ?? '?')
      : change.change === 'removed'
        ? trans.__('cell %1 removed in B', a ?? '?')
        : a === b
          ? trans.__('cell %1', a ?? '?')
          : trans.__('cell %1 -> %2', a ?? '?', b ?? '?');
  return `${label} (${change.cell_type})`;
}

/** The changed cells as unified diffs, one block per cell. */
function CellChanges(props: { changes: CellChange[]; trans: TranslationBundle }): React.ReactElement {
  const { changes, trans } = props;
  return (
    <ul className="jp-nbmlops-diff-cells" aria-label={trans.__('Changed cells')}>
      {changes.map(change => {
        const label = cellLabel(change, trans);
        return (
          <li key={`${change.a}:${change.b}`}>
            <h4>{label}</h4>
            <DiffLines lines={change.lines} label={trans.__('Diff of %1', label)} />
          </li>
        );
      })}
    </ul>
  );
}

/**
 * nbdime's notebook diff view of the changed cells: A's cells on the left, B's on the right, changed lines
 * marked, markdown rendered. `onError` is told when nbdime cannot draw the diff.
 */
export function NotebookDiffView(props: {
  view: NotebookView;
  rendermime: IRenderMimeRegistry;
  trans: TranslationBundle;
  onError: (message: string) => void;
}): React.ReactElement {
  const { view, rendermime, trans, onError } = props;
  const host = React.useRef<HTMLDivElement>(null);
  const reportError = React.useRef(onError);
  reportError.current = onError;
  // A layout effect: its cleanup detaches the widget while its host is still in the page (Lumino refuses after).
  React.useLayoutEffect(() => {
    if (!host.current) {
      return;
    }
    let widget: NotebookDiffWidget | null = null;
    const fail = (error: unknown): void => reportError.current(error instanceof Error ? error.message : String(error));
    try {
      const model = new NotebookDiffModel(
        view.base as unknown as ConstructorParameters<typeof NotebookDiffModel>[0],
        view.diff as unknown as ConstructorParameters<typeof NotebookDiffModel>[1]
      );
      widget = new NotebookDiffWidget({ model, rendermime });
      Widget.attach(widget, host.current);
      widget.init().catch(fail);
    } catch (error) {
      fail(error);
    }
    return () => widget?.dispose();
  }, [view, rendermime]);
  return (
    <div
      ref={host}
      className="nbdime-root jp-nbmlops-diff-nbdime"
      role="region"
      aria-label={trans.__('Notebook diff (nbdime)')}
    />
  );
}

/** The code section's body: a notebook diff (nbdime's view, or unified diffs of the cells), a tracked cell's
 * diff and the history before it, or why the code was not compared. */
export function CodeChanges(props: {
  code: CodeDiff;
  rendermime: IRenderMimeRegistry | null;
  trans: TranslationBundle;
}): React.ReactElement {
  const { code, rendermime, trans } = props;
  const [failure, setFailure] = React.useState<string | null>(null);
  const [unified, setUnified] = React.useState(false);
  if (code.kind === 'note') {
    return <p className="jp-nbmlops-muted">{code.note}</p>;
  }
  if (code.kind === 'cell') {
    return (
      <>
        {code.cell?.length ? (
          <>
            <h4>{trans.__('The tracked cell')}</h4>
            <DiffLines lines={code.cell} label={trans.__('Diff of the tracked cell')} />
          </>
        ) : (
          <p className="jp-nbmlops-muted">{trans.__('The tracked cell is the same.')}</p>
        )}
        {code.history?.length ? (
          <>
            <h4>{trans.__('The kernel history before it')}</h4>
            <DiffLines lines={code.history} label={trans.__('Diff of the kernel history')} />
          </>
        ) : null}
      </>
    );
  }
  const changes = code.changes ?? [];
  const [cellsA, cellsB] = code.cells ?? [0, 0];
  const nbdime = !unified && failure === null && rendermime !== null && code.notebook ? code.notebook : null;
  return (
    <>
      <div className="jp-nbmlops-compare-tools">
        <p className="jp-nbmlops-muted">
          {trans._n('%1 cell changed', '%1 cells changed', changes.length)}{' '}
          {trans.__('(notebooks of %1 and %2 cells)', cellsA, cellsB)}
        </p>
        {code.notebook && rendermime && failure === null ? (
          <label className="jp-nbmlops-compare-tool">
            <input type="checkbox" checked={unified} onChange={event => setUnified(event.target.checked)} />{' '}
            {trans.__('Unified diff')}
          </label>
        ) : null}
      </div>
      {failure !== null ? (
        <p className="jp-nbmlops-muted">
          {trans.__('nbdime could not draw this diff (%1): unified diffs instead.', failure)}
        </p>
      ) : null}
      {nbdime ? (
        <p className="jp-nbmlops-muted">
          {trans.__('A on the left, B on the right: %1', changes.map(change => cellLabel(change, trans)).join(', '))}
        </p>
      ) : null}
      {nbdime ? (
        <NotebookDiffView view={nbdime} rendermime={rendermime!} trans={trans} onError={setFailure} />
      ) : (
        <CellChanges changes={changes} trans={trans} />
      )}
    </>
  );
}
