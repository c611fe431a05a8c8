import { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import { FilterError } from '../runsQuery';

export interface FilterBoxProps {
  /** The filter in force. */
  where: string;
  /** The last rejected filter, shown under the box with a caret at the error's position. */
  error: FilterError | null;
  busy: boolean;
  trans: TranslationBundle;
  /** Apply a filter; resolves false when the server rejected it. */
  onApply: (text: string) => Promise<boolean>;
}

/** The `where` filter: applied on Enter, cleared with Escape; a rejected filter is explained in place. */
export function FilterBox(props: FilterBoxProps): React.ReactElement {
  const { where, error, busy, trans, onApply } = props;
  const [text, setText] = React.useState(where);
  const input = React.useRef<HTMLInputElement>(null);
  const errorId = React.useId();

  // Follow the filter in force when it changes from outside (e.g. "Clear filter" in the empty state).
  React.useEffect(() => setText(where), [where]);

  const apply = (value: string): void => {
    void onApply(value);
  };

  // Put the cursor where the server says the filter went wrong.
  React.useEffect(() => {
    const position = error?.error.position;
    const element = input.current;
    if (!error || position === null || position === undefined || !element) {
      return;
    }
    const offset = element.value.length - element.value.trimStart().length + position;
    if (element.value.trim() === error.text) {
      element.setSelectionRange(offset, offset);
    }
  }, [error]);

  return (
    <div className="jp-nbmlops-runs-filter">
      <div className="jp-nbmlops-runs-filter-row">
        <input
          ref={input}
          type="search"
          className="jp-mod-styled jp-nbmlops-runs-filter-input"
          aria-label={trans.__('Filter runs')}
          aria-invalid={error ? true : undefined}
          aria-describedby={error ? errorId : undefined}
          placeholder={trans.__("Filter, e.g. metrics.acc > 0.9 and params.C = 0.1 and status = 'FINISHED'")}
          spellCheck={false}
          autoComplete="off"
          value={text}
          onChange={event => setText(event.target.value)}
          onKeyDown={event => {
            if (event.key === 'Enter') {
              event.preventDefault();
              apply(text);
            } else if (event.key === 'Escape' && text !== '') {
              event.preventDefault();
              event.stopPropagation();
              setText('');
              apply('');
            }
          }}
        />
        {where !== '' || text !== '' ? (
          <button
            className="jp-mod-styled jp-nbmlops-runs-button"
            title={trans.__('Show all runs (Escape)')}
            onClick={() => {
              setText('');
              apply('');
            }}
          >
            {trans.__('Clear')}
          </button>
        ) : null}
        {busy ? <span className="jp-nbmlops-muted">{trans.__('Loading…')}</span> : null}
      </div>
      {error ? (
        <div id={errorId} className="jp-nbmlops-runs-filter-error" role="alert">
          <div>{error.error.message}</div>
          {error.error.position !== null && error.text ? (
            <pre className="jp-nbmlops-runs-filter-caret" aria-hidden="true">
              {error.text}
              {'\n'}
              {' '.repeat(Math.min(error.error.position, error.text.length))}^
            </pre>
          ) : null}
          <div className="jp-nbmlops-muted">{trans.__('The table still shows the last filter that worked.')}</div>
        </div>
      ) : null}
    </div>
  );
}
