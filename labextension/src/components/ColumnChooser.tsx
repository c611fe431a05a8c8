import { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import { keyColumn } from '../runsColumns';
import { Keys } from '../types';

export interface ColumnChooserProps {
  keys: Keys;
  /** Ids of the key columns shown (`params.C`, `metrics.acc`, ...). */
  chosen: Set<string>;
  trans: TranslationBundle;
  onToggle: (id: string) => void;
  onSet: (ids: string[]) => void;
  onReset: () => void;
}

type KeyKind = 'params' | 'metrics' | 'tags';

/** The "Columns" button and its checklist of params, metrics and tags, with a search box. */
export function ColumnChooser(props: ColumnChooserProps): React.ReactElement {
  const { keys, chosen, trans, onToggle, onSet, onReset } = props;
  const [open, setOpen] = React.useState(false);
  const [search, setSearch] = React.useState('');
  const root = React.useRef<HTMLDivElement>(null);
  const button = React.useRef<HTMLButtonElement>(null);
  const dialogId = React.useId();

  // Close on a click outside.
  React.useEffect(() => {
    if (!open) {
      return;
    }
    const onDown = (event: MouseEvent): void => {
      if (root.current && !root.current.contains(event.target as Node)) {
        setOpen(false);
      }
    };
    document.addEventListener('mousedown', onDown);
    return () => document.removeEventListener('mousedown', onDown);
  }, [open]);

  const groups: { kind: KeyKind; label: string }[] = [
    { kind: 'params', label: trans.__('Params') },
    { kind: 'metrics', label: trans.__('Metrics') },
    { kind: 'tags', label: trans.__('Tags') }
  ];
  const needle = search.trim().toLowerCase();
  const count = keys.params.length + keys.metrics.length + keys.tags.length;

  return (
    <div
      className="jp-nbmlops-runs-chooser"
      ref={root}
      onKeyDown={event => {
        if (event.key === 'Escape' && open) {
          event.stopPropagation();
          setOpen(false);
          button.current?.focus();
        }
      }}
    >
      <button
        ref={button}
        className="jp-mod-styled jp-nbmlops-runs-button"
        aria-haspopup="dialog"
        aria-expanded={open}
        aria-controls={open ? dialogId : undefined}
        onClick={() => setOpen(!open)}
      >
        {trans.__('Columns')}
      </button>
      {open ? (
        <div
          id={dialogId}
          className="jp-nbmlops-runs-chooser-popup"
          role="dialog"
          aria-label={trans.__('Choose columns')}
        >
          <input
            type="search"
            className="jp-mod-styled jp-nbmlops-runs-chooser-search"
            aria-label={trans.__('Search columns')}
            placeholder={trans.__('Search %1 keys', count)}
            value={search}
            autoFocus
            onChange={event => setSearch(event.target.value)}
          />
          <div className="jp-nbmlops-runs-chooser-groups">
            {count === 0 ? (
              <p className="jp-nbmlops-muted">{trans.__('No params, metrics or tags logged yet.')}</p>
            ) : null}
            {groups.map(({ kind, label }) => {
              const all = keys[kind];
              const matching = all.filter(key => key.toLowerCase().includes(needle));
              if (all.length === 0) {
                return null;
              }
              const ids = matching.map(key => keyColumn(kind, key).id);
              return (
                <fieldset key={kind} className="jp-nbmlops-runs-chooser-group">
                  <legend>
                    {label}{' '}
                    <span className="jp-nbmlops-muted">
                      {trans.__(
                        '%1 of %2 shown',
                        all.filter(key => chosen.has(keyColumn(kind, key).id)).length,
                        all.length
                      )}
                    </span>
                  </legend>
                  <div className="jp-nbmlops-runs-chooser-actions">
                    <button
                      className="jp-nbmlops-link"
                      aria-label={trans.__('Show all %1', label)}
                      onClick={() => onSet([...chosen, ...ids])}
                    >
                      {trans.__('All')}
                    </button>
                    <button
                      className="jp-nbmlops-link"
                      aria-label={trans.__('Hide all %1', label)}
                      onClick={() => onSet([...chosen].filter(id => !ids.includes(id)))}
                    >
                      {trans.__('None')}
                    </button>
                  </div>
                  {matching.length === 0 ? <p className="jp-nbmlops-muted">{trans.__('No match')}</p> : null}
                  {matching.map(key => {
                    const id = keyColumn(kind, key).id;
                    return (
                      <label key={id} className="jp-nbmlops-runs-chooser-item" title={id}>
                        <input type="checkbox" checked={chosen.has(id)} onChange={() => onToggle(id)} />
                        <span>{key}</span>
                      </label>
                    );
                  })}
                </fieldset>
              );
            })}
          </div>
          <div className="jp-nbmlops-runs-chooser-footer">
            <button className="jp-nbmlops-link" onClick={onReset}>
              {trans.__('Default columns')}
            </button>
          </div>
        </div>
      ) : null}
    </div>
  );
}
