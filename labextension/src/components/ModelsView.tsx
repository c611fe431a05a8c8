import { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import { ApiError } from '../api';
import { NbmlopsModel } from '../model';
import { Actions, AuditEntry, ModelDetail, ModelSummary } from '../types';
import { EmptyState, ErrorLine, useTick } from './common';
import { ModelHistory } from './ModelHistory';
import { ModelLineage } from './ModelLineage';
import { ModelMonitoring } from './ModelMonitoring';
import { ModelDialogButtons, ModelInput, ModelModal } from './ModelModal';
import { ModelAliasChip, ModelVersions } from './ModelVersions';
import { PromoteDialog } from './PromoteDialog';

export interface ModelsViewProps {
  model: NbmlopsModel;
  trans: TranslationBundle;
  actions: Actions;
  name: string | null;
}

/** `next` unless it equals `previous` (keeps React from re-rendering on every refresh). */
function same<T>(previous: T, next: T): T {
  return JSON.stringify(previous) === JSON.stringify(next) ? previous : next;
}

/** The model registry: models on the left; the selected one's versions, lineage and alias history. */
export function ModelsView(props: ModelsViewProps): React.ReactElement {
  const { model, trans, actions } = props;
  const [models, setModels] = React.useState<ModelSummary[] | null>(null);
  const [listError, setListError] = React.useState<unknown>(null);
  const [selected, setSelected] = React.useState<string | null>(props.name);
  const [now, setNow] = React.useState(Date.now());
  const selectedRef = React.useRef(selected);
  selectedRef.current = selected;

  React.useEffect(() => {
    if (props.name) {
      setSelected(props.name);
    }
  }, [props.name]);

  const loadList = React.useCallback(async () => {
    try {
      const found = await model.models();
      setModels(previous => same(previous, found));
      setListError(null);
      if (selectedRef.current === null && found.length > 0) {
        setSelected(found[0].name);
      }
    } catch (reason) {
      setListError(reason);
    }
  }, [model]);

  React.useEffect(() => {
    void loadList();
  }, [loadList]);

  const detail = useModelDetail(model, selected);

  useTick(model, () => {
    setNow(Date.now());
    void loadList();
    void detail.reload();
  });

  if (models === null) {
    return (
      <div className="jp-nbmlops-models">
        {listError ? (
          <ErrorLine error={listError} />
        ) : (
          <p className="jp-nbmlops-muted">{trans.__('Loading models…')}</p>
        )}
      </div>
    );
  }
  if (models.length === 0) {
    return (
      <div className="jp-nbmlops-models">
        <ErrorLine error={listError} />
        <EmptyState
          title={trans.__('No registered models yet')}
          hint={trans.__('Call nbmlops.log_model(model, "name") in a tracked cell, or %%track --model VAR:NAME.')}
        />
      </div>
    );
  }

  return (
    <div className="jp-nbmlops-models">
      <nav className="jp-nbmlops-model-list" aria-label={trans.__('Registered models')}>
        <h2>{trans.__('Models')}</h2>
        <ErrorLine error={listError} />
        <ul>
          {models.map(summary => (
            <li key={summary.name}>
              <button
                className="jp-nbmlops-model-item"
                aria-current={summary.name === selected ? 'true' : undefined}
                onClick={() => setSelected(summary.name)}
              >
                <span className="jp-nbmlops-model-item-name">{summary.name}</span>
                <span className="jp-nbmlops-model-item-meta">
                  {trans.__('latest v%1', summary.latest_version)} ·{' '}
                  {trans._n('%1 version', '%1 versions', summary.versions)}
                </span>
                {Object.keys(summary.aliases).length ? (
                  <span className="jp-nbmlops-model-item-aliases">
                    {Object.entries(summary.aliases).map(([alias, version]) => (
                      <ModelAliasChip key={alias} alias={alias} version={version} trans={trans} />
                    ))}
                  </span>
                ) : null}
              </button>
            </li>
          ))}
        </ul>
      </nav>
      <section className="jp-nbmlops-model-detail" aria-label={selected ?? trans.__('Model')}>
        {selected ? (
          <ModelPane
            key={selected}
            model={model}
            trans={trans}
            actions={actions}
            name={selected}
            now={now}
            state={detail}
            onChanged={() => {
              void loadList();
              void detail.reload();
            }}
          />
        ) : null}
      </section>
    </div>
  );
}

interface DetailState {
  detail: ModelDetail | null;
  history: AuditEntry[];
  error: unknown;
  reload: () => Promise<void>;
}

/** The selected model's detail and audit history, reloaded on demand; answers for another model are dropped. */
function useModelDetail(model: NbmlopsModel, name: string | null): DetailState {
  const [detail, setDetail] = React.useState<ModelDetail | null>(null);
  const [history, setHistory] = React.useState<AuditEntry[]>([]);
  const [error, setError] = React.useState<unknown>(null);
  const current = React.useRef(name);
  current.current = name;

  const reload = React.useCallback(async () => {
    if (name === null) {
      return;
    }
    try {
      const [found, audit] = await Promise.all([model.model(name), model.history(name)]);
      if (current.current === name) {
        setDetail(previous => same(previous, found));
        setHistory(previous => same(previous, audit));
        setError(null);
      }
    } catch (reason) {
      if (current.current === name) {
        setError(reason);
      }
    }
  }, [model, name]);

  React.useEffect(() => {
    setDetail(null);
    setHistory([]);
    setError(null);
    void reload();
  }, [reload]);

  return { detail, history, error, reload };
}

function ModelPane(props: {
  model: NbmlopsModel;
  trans: TranslationBundle;
  actions: Actions;
  name: string;
  now: number;
  state: DetailState;
  onChanged: () => void;
}): React.ReactElement {
  const { model, trans, actions, name, now, state, onChanged } = props;
  const { detail, history, error } = state;
  const [promoting, setPromoting] = React.useState<number | null>(null);
  const [removing, setRemoving] = React.useState<string | null>(null);
  const [notice, setNotice] = React.useState('');

  if (error instanceof ApiError && error.status === 404) {
    return <ErrorLine error={trans.__('Model %1 is gone: it is no longer in the registry.', name)} />;
  }
  if (!detail) {
    return error ? <ErrorLine error={error} /> : <p className="jp-nbmlops-muted">{trans.__('Loading %1…', name)}</p>;
  }
  const aliases = Object.entries(detail.aliases).sort(([a], [b]) => a.localeCompare(b));

  return (
    <>
      <ErrorLine error={error} />
      <header className="jp-nbmlops-model-header">
        <h2>{detail.name}</h2>
        <div className="jp-nbmlops-model-aliases" aria-label={trans.__('Aliases')} role="group">
          {aliases.length ? (
            aliases.map(([alias, version]) => (
              <ModelAliasChip key={alias} alias={alias} version={version} trans={trans} onRemove={setRemoving} />
            ))
          ) : (
            <span className="jp-nbmlops-muted">{trans.__('No aliases: promote a version to set one.')}</span>
          )}
        </div>
      </header>
      <p className="jp-nbmlops-model-notice" role="status">
        {notice}
      </p>

      <section aria-labelledby="jp-nbmlops-model-versions" className="jp-nbmlops-model-section">
        <h3 id="jp-nbmlops-model-versions">{trans.__('Versions')}</h3>
        <ModelVersions detail={detail} trans={trans} actions={actions} now={now} onPromote={setPromoting} />
      </section>
      <section aria-labelledby="jp-nbmlops-model-lineage" className="jp-nbmlops-model-section">
        <h3 id="jp-nbmlops-model-lineage">{trans.__('Lineage')}</h3>
        <ModelLineage model={model} trans={trans} actions={actions} detail={detail} />
      </section>
      <section aria-labelledby="jp-nbmlops-model-history" className="jp-nbmlops-model-section">
        <h3 id="jp-nbmlops-model-history">{trans.__('Alias history')}</h3>
        <ModelHistory name={detail.name} history={history} trans={trans} now={now} />
      </section>
      <ModelMonitoring model={model} trans={trans} detail={detail} />

      {promoting !== null ? (
        <PromoteDialog
          model={model}
          trans={trans}
          detail={detail}
          version={promoting}
          onClose={() => setPromoting(null)}
          onPromoted={result => {
            setPromoting(null);
            setNotice(trans.__('%1 now points at v%2.', result.alias, result.version));
            onChanged();
          }}
        />
      ) : null}
      {removing !== null ? (
        <ModelRemoveAlias
          model={model}
          trans={trans}
          name={detail.name}
          alias={removing}
          version={detail.aliases[removing]}
          onClose={() => setRemoving(null)}
          onRemoved={() => {
            setNotice(trans.__('Alias %1 removed.', removing));
            setRemoving(null);
            onChanged();
          }}
        />
      ) : null}
    </>
  );
}

/** Confirm removing an alias, with an optional reason for the audit log. */
function ModelRemoveAlias(props: {
  model: NbmlopsModel;
  trans: TranslationBundle;
  name: string;
  alias: string;
  version: number | undefined;
  onClose: () => void;
  onRemoved: () => void;
}): React.ReactElement {
  const { model, trans, name, alias, version, onClose, onRemoved } = props;
  const [reason, setReason] = React.useState('');
  const [busy, setBusy] = React.useState(false);
  const [error, setError] = React.useState<unknown>(null);
  const remove = async (): Promise<void> => {
    setBusy(true);
    setError(null);
    try {
      await model.unalias(name, alias, reason.trim() || undefined);
      onRemoved();
    } catch (reason) {
      setError(reason);
      setBusy(false);
    }
  };
  return (
    <ModelModal title={trans.__('Remove alias %1?', alias)} onClose={onClose} className="jp-nbmlops-unalias">
      <form
        onSubmit={event => {
          event.preventDefault();
          void remove();
        }}
      >
        <p>
          {version === undefined
            ? trans.__('%1@%2 will no longer point at a version.', name, alias)
            : trans.__(
                '%1@%2 points at v%3. After removing it, loading %1@%2 fails until a version is promoted again.',
                name,
                alias,
                version
              )}
        </p>
        <ModelInput
          label={trans.__('Reason (optional)')}
          name={trans.__('Reason')}
          value={reason}
          onValue={setReason}
          data-autofocus
        />
        <ErrorLine error={error} />
        <ModelDialogButtons
          cancel={trans.__('Cancel')}
          submit={trans.__('Confirm removal')}
          disabled={busy}
          onCancel={onClose}
          warn
        />
      </form>
    </ModelModal>
  );
}
