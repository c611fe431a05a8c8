import { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import { RunDataset } from '../types';
import { formatNumber } from './common';
import { RunPairs, RunSection } from './RunSection';

/** Characters of a fingerprint shown in tables; the full one is in the title and the copy button. */
const SHORT_FINGERPRINT = 12;

/** The datasets a run used: name, version, roles, fingerprint, shape and an expandable schema. */
export function RunDatasets(props: { datasets: RunDataset[]; trans: TranslationBundle }): React.ReactElement {
  const { datasets, trans } = props;
  return (
    <RunSection id="datasets" title={trans.__('Datasets')} count={datasets.length}>
      {datasets.length ? (
        <table className="jp-nbmlops-run-table" aria-label={trans.__('Datasets')}>
          <thead>
            <tr>
              <th scope="col">{trans.__('Name')}</th>
              <th scope="col">{trans.__('Version')}</th>
              <th scope="col">{trans.__('Role')}</th>
              <th scope="col">{trans.__('Fingerprint')}</th>
              <th scope="col" className="jp-nbmlops-num">
                {trans.__('Rows')}
              </th>
              <th scope="col" className="jp-nbmlops-num">
                {trans.__('Columns')}
              </th>
              <th scope="col">{trans.__('Schema')}</th>
            </tr>
          </thead>
          {datasets.map(dataset => (
            <RunDatasetRows key={`${dataset.name}:${dataset.version}`} dataset={dataset} trans={trans} />
          ))}
        </table>
      ) : (
        <p className="jp-nbmlops-muted">
          {trans.__('No datasets: log them with nbmlops.log_dataset(df, "name", role="train").')}
        </p>
      )}
    </RunSection>
  );
}

function RunDatasetRows(props: { dataset: RunDataset; trans: TranslationBundle }): React.ReactElement {
  const { dataset, trans } = props;
  const [open, setOpen] = React.useState(false);
  const schema = Object.entries(dataset.schema ?? {});
  const schemaId = React.useId();
  return (
    <tbody>
      <tr>
        <th scope="row">{dataset.name}</th>
        <td>v{dataset.version}</td>
        <td>{dataset.roles.join(', ')}</td>
        <td>
          <code title={dataset.fingerprint}>{dataset.fingerprint.slice(0, SHORT_FINGERPRINT)}</code>{' '}
          <RunCopyButton
            text={dataset.fingerprint}
            label={trans.__('Copy the fingerprint of %1', dataset.name)}
            trans={trans}
          />
        </td>
        <td className="jp-nbmlops-num">{dataset.rows === null ? '' : formatNumber(dataset.rows)}</td>
        <td className="jp-nbmlops-num">{dataset.columns === null ? '' : formatNumber(dataset.columns)}</td>
        <td>
          {schema.length ? (
            <button
              className="jp-nbmlops-link"
              aria-expanded={open}
              aria-controls={schemaId}
              onClick={() => setOpen(!open)}
            >
              {open ? trans.__('Hide schema') : trans._n('Show %1 column', 'Show %1 columns', schema.length)}
            </button>
          ) : (
            <span className="jp-nbmlops-muted">{dataset.kind}</span>
          )}
        </td>
      </tr>
      {open ? (
        <tr id={schemaId} className="jp-nbmlops-run-schema">
          <td colSpan={7}>
            <RunPairs
              label={trans.__('Schema of %1', dataset.name)}
              head={[trans.__('Column'), trans.__('Type')]}
              rows={schema.map(([column, dtype]) => [column, <code key={column}>{dtype}</code>])}
            />
          </td>
        </tr>
      ) : null}
    </tbody>
  );
}

/** A small button copying `text` to the clipboard, saying so for a moment. */
export function RunCopyButton(props: { text: string; label: string; trans: TranslationBundle }): React.ReactElement {
  const { text, label, trans } = props;
  const [copied, setCopied] = React.useState<boolean | null>(null);
  React.useEffect(() => {
    if (copied === null) {
      return;
    }
    const timer = window.setTimeout(() => setCopied(null), 1500);
    return () => window.clearTimeout(timer);
  }, [copied]);
  const copy = async (): Promise<void> => {
    try {
      await navigator.clipboard.writeText(text);
      setCopied(true);
    } catch {
      setCopied(false);
    }
  };
  return (
    <button className="jp-nbmlops-run-copy" aria-label={label} title={label} onClick={() => void copy()}>
      {copied === null ? trans.__('Copy') : copied ? trans.__('Copied') : trans.__('Copy failed')}
    </button>
  );
}
