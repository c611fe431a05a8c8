import { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import { ApiError } from '../api';
import { Direction, metricDirection } from '../charts';
import { NbmlopsModel } from '../model';
import { spellKey } from '../runsColumns';
import { GateResult, ModelDetail, PromotionCheck, PromotionResult } from '../types';
import { ErrorLine } from './common';
import { ModelDialogButtons, ModelInput, ModelModal } from './ModelModal';

/** Milliseconds of quiet typing before the promotion is checked on the server. */
export const CHECK_DELAY_MS = 300;

/** Aliases offered besides the model's own. */
const COMMON_ALIASES = ['production', 'staging', 'champion'];

/**
 * The gate suggested when `alias` has a holder: the candidate's first metric must not get worse, which
 * is `<=` for a metric the server calls lower-is-better (`directions`, from GET keys) and `>=` otherwise.
 */
export function suggestedGate(
  detail: ModelDetail,
  version: number,
  alias: string,
  directions: Readonly<Record<string, Direction>>
): string {
  if (detail.aliases[alias.trim()] === undefined) {
    return '';
  }
  const candidate = detail.versions.find(v => v.version === version);
  const key = Object.keys(candidate?.metrics ?? {})[0];
  if (key === undefined) {
    return '';
  }
  const ref = spellKey('metrics', key);
  return `${ref} ${metricDirection(directions, key) === 'min' ? '<=' : '>='} champion.${ref}`;
}

export interface PromoteDialogProps {
  model: NbmlopsModel;
  trans: TranslationBundle;
  detail: ModelDetail;
  /** The version whose Promote button opened the dialog. */
  version: number;
  onClose: () => void;
  onPromoted: (result: PromotionResult) => void;
}

/**
 * Promote a version to an alias: as the user types, the promotion is checked on the server (the
 * alias's current holder and the gate evaluated against it); Confirm stays disabled while the gate
 * fails. A gate that fails at confirmation (someone promoted meanwhile) shows its explanation.
 */
export function PromoteDialog(props: PromoteDialogProps): React.ReactElement {
  const { model, trans, detail, onClose, onPromoted } = props;
  const name = detail.name;
  const [version, setVersion] = React.useState(props.version);
  const [alias, setAlias] = React.useState('production');
  const [directions, setDirections] = React.useState<Record<string, Direction>>({});
  const [gate, setGate] = React.useState(() => suggestedGate(detail, props.version, 'production', directions));
  const [gateEdited, setGateEdited] = React.useState(false);
  const [reason, setReason] = React.useState('');
  const [check, setCheck] = React.useState<PromotionCheck | null>(null);
  const [checkError, setCheckError] = React.useState<ApiError | null>(null);
  const [checking, setChecking] = React.useState(true);
  const [conflict, setConflict] = React.useState<GateResult | null>(null);
  const [submitting, setSubmitting] = React.useState(false);
  const [submitError, setSubmitError] = React.useState<unknown>(null);
  const sequence = React.useRef(0);
  const ids = { aliases: React.useId(), gateHelp: React.useId(), result: React.useId() };

  const target = alias.trim();

  // Which way each metric is better, as the server says; until it answers every metric counts as 'max'.
  React.useEffect(() => {
    model.keys().then(
      keys => setDirections(keys.directions),
      () => undefined
    );
  }, [model]);

  // Until the user writes their own gate, it follows the chosen version, alias and metric directions.
  React.useEffect(() => {
    if (!gateEdited) {
      setGate(suggestedGate(detail, version, target, directions));
    }
  }, [detail, version, target, gateEdited, directions]);

  React.useEffect(() => {
    const current = ++sequence.current;
    setConflict(null);
    if (!target) {
      setCheck(null);
      setCheckError(null);
      setChecking(false);
      return;
    }
    setChecking(true);
    const timer = window.setTimeout(() => {
      model.checkPromotion(name, version, target, gate).then(
        result => {
          if (current === sequence.current) {
            setCheck(result);
            setCheckError(null);
            setChecking(false);
          }
        },
        (reason: unknown) => {
          if (current === sequence.current) {
            setCheck(null);
            setCheckError(reason instanceof ApiError ? reason : new ApiError(String(reason), 0));
            setChecking(false);
          }
        }
      );
    }, CHECK_DELAY_MS);
    return () => window.clearTimeout(timer);
  }, [model, name, version, target, gate]);

  const fresh = check && check.alias === target && check.version === version ? check : null;
  const holder = fresh ? fresh.current : (detail.aliases[target] ?? null);
  const result = conflict ?? fresh?.gate ?? null;
  const rejected = checkError !== null && checkError.status >= 400 && checkError.status < 500;
  const blocked = !target || checking || rejected || (result !== null && !result.passed) || (!!gate.trim() && !result);

  const confirm = async (): Promise<void> => {
    setSubmitting(true);
    setSubmitError(null);
    try {
      const promoted = await model.promote(name, { version, alias: target, gate, reason });
      onPromoted(promoted);
    } catch (reason) {
      const body = reason instanceof ApiError && reason.status === 409 ? reason.body['gate'] : undefined;
      if (body && typeof body === 'object') {
        setConflict(body as GateResult);
      } else {
        setSubmitError(reason);
      }
      setSubmitting(false);
    }
  };

  const suggestions = Array.from(new Set([...Object.keys(detail.aliases), ...COMMON_ALIASES]));
  const candidateMetrics = Object.keys(detail.versions.find(v => v.version === version)?.metrics ?? {});

  return (
    <ModelModal title={trans.__('Promote %1', name)} onClose={onClose} className="jp-nbmlops-promote">
      <form
        className="jp-nbmlops-promote-form"
        onSubmit={event => {
          event.preventDefault();
          if (!blocked && !submitting) {
            void confirm();
          }
        }}
      >
        <label className="jp-nbmlops-model-field">
          <span>{trans.__('Version')}</span>
          <select
            className="jp-mod-styled"
            aria-label={trans.__('Version')}
            value={version}
            onChange={event => setVersion(Number(event.target.value))}
          >
            {detail.versions.map(v => (
              <option key={v.version} value={v.version}>
                {v.aliases.length ? `v${v.version} (${v.aliases.join(', ')})` : `v${v.version}`}
              </option>
            ))}
          </select>
        </label>
        <ModelInput
          label={trans.__('Alias')}
          name={trans.__('Alias')}
          value={alias}
          onValue={setAlias}
          list={ids.aliases}
          data-autofocus
          autoComplete="off"
          spellCheck={false}
        />
        <datalist id={ids.aliases}>
          {suggestions.map(a => (
            <option key={a} value={a} />
          ))}
        </datalist>
        <ModelInput
          label={trans.__('Gate (optional)')}
          name={trans.__('Gate')}
          className="jp-nbmlops-promote-gate"
          aria-describedby={ids.gateHelp}
          placeholder="metrics.acc >= champion.metrics.acc + 0.01"
          value={gate}
          autoComplete="off"
          spellCheck={false}
          onValue={value => {
            setGateEdited(true);
            setGate(value);
          }}
        />
        <p id={ids.gateHelp} className="jp-nbmlops-promote-help">
          {candidateMetrics.length
            ? trans.__(
                'champion.* is the version now holding the alias. Metrics of v%1: %2',
                version,
                candidateMetrics.join(', ')
              )
            : trans.__('champion.* is the version now holding the alias.')}
        </p>
        <ModelInput
          label={trans.__('Reason (optional)')}
          name={trans.__('Reason')}
          value={reason}
          onValue={setReason}
        />

        <div id={ids.result} className="jp-nbmlops-promote-check" role="status" aria-live="polite">
          {target ? (
            <p className="jp-nbmlops-promote-holder">
              {holder === null
                ? trans.__('%1 is not set', target)
                : holder === version
                  ? trans.__('%1 is now v%2 (this version)', target, holder)
                  : trans.__('%1 is now v%2', target, holder)}
            </p>
          ) : null}
          {rejected ? null : result ? (
            <div className={`jp-nbmlops-promote-gate-result jp-mod-${result.passed ? 'passed' : 'failed'}`}>
              <strong>{result.passed ? trans.__('Gate passes') : trans.__('Gate fails')}</strong>
              <span className="jp-nbmlops-promote-explanation">{result.explanation}</span>
            </div>
          ) : checking ? (
            <p className="jp-nbmlops-muted">{trans.__('Checking…')}</p>
          ) : !gate.trim() && target ? (
            <p className="jp-nbmlops-muted">{trans.__('No gate: the alias moves without a check.')}</p>
          ) : null}
        </div>
        {rejected ? <ErrorLine error={checkError} /> : null}
        <ErrorLine error={submitError} />

        <ModelDialogButtons
          cancel={trans.__('Cancel')}
          submit={submitting ? trans.__('Promoting…') : trans.__('Confirm promotion')}
          disabled={blocked || submitting}
          onCancel={onClose}
          describedBy={ids.result}
        />
      </form>
    </ModelModal>
  );
}
