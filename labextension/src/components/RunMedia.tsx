import { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import { ApiError } from '../api';
import { isLongText, itemAt, MediaSeries, mediaSeries, textPreview } from '../media';
import { NbmlopsModel } from '../model';
import { MediaItem, RunDetail } from '../types';
import { ErrorLine, useLiveData } from './common';
import { MediaGrid } from './MediaGrid';
import { formatBytes } from './RunArtifacts';
import { RunSection } from './RunSection';
import { TablePreview } from './TablePreview';

/** Texts larger than this are not loaded into the page (the Artifacts section downloads them). */
export const MAX_TEXT_BYTES = 1 << 20;

/** A series' item at the step picked in a select (the latest until the user picks), with that select. */
function useSeriesStep(trans: TranslationBundle, series: MediaSeries): [MediaItem | null, React.ReactElement | null] {
  const [step, setStep] = React.useState<number | null>(null);
  const item = itemAt(series.items, step);
  const steps = series.items.filter(i => i.step !== null);
  const select =
    steps.length > 1 ? (
      <label className="jp-nbmlops-media-step">
        {trans.__('Step')}{' '}
        <select
          value={item?.step ?? ''}
          aria-label={trans.__('Step of %1', series.name)}
          onChange={event => setStep(Number(event.target.value))}
        >
          {steps.map(i => (
            <option key={i.path} value={i.step as number}>
              {i.step}
            </option>
          ))}
        </select>
      </label>
    ) : null;
  return [item, select];
}

/** A logged table by name, at the step chosen. */
function TableSeries(props: {
  model: NbmlopsModel;
  trans: TranslationBundle;
  runId: string;
  series: MediaSeries;
}): React.ReactElement {
  const { model, trans, runId, series } = props;
  const [item, select] = useSeriesStep(trans, series);
  return (
    <div className="jp-nbmlops-media-item">
      <h5>
        {series.name} {select}
      </h5>
      {item ? <TablePreview model={model} trans={trans} runId={runId} name={series.name} path={item.path} /> : null}
    </div>
  );
}

/** A logged text by name, at the step chosen: preformatted, a long one cut until the user shows all. */
function TextSeries(props: {
  model: NbmlopsModel;
  trans: TranslationBundle;
  runId: string;
  series: MediaSeries;
}): React.ReactElement {
  const { model, trans, runId, series } = props;
  const [item, select] = useSeriesStep(trans, series);
  const [text, setText] = React.useState<string | null>(null);
  const [error, setError] = React.useState<unknown>(null);
  const [expanded, setExpanded] = React.useState(false);
  const tooLarge = !!item && item.size > MAX_TEXT_BYTES;
  const path = tooLarge ? undefined : item?.path;

  React.useEffect(() => {
    if (!path) {
      return;
    }
    let current = true;
    setError(null);
    model
      .artifact(runId, path)
      .then(blob => blob.text())
      .then(
        body => current && setText(body),
        reason => current && setError(reason)
      );
    return () => {
      current = false;
    };
  }, [model, runId, path]);

  const long = text !== null && isLongText(text);
  return (
    <div className="jp-nbmlops-media-item">
      <h5>
        {series.name} {select}
      </h5>
      <ErrorLine error={error} />
      {tooLarge ? (
        <p className="jp-nbmlops-muted">
          {trans.__(
            '%1 is too large to show here (%2): download %3 from Artifacts.',
            series.name,
            formatBytes(item.size),
            item.path
          )}
        </p>
      ) : text === null ? (
        error ? null : (
          <p className="jp-nbmlops-muted">{trans.__('Loading…')}</p>
        )
      ) : (
        <>
          <pre className="jp-nbmlops-media-text" tabIndex={0} aria-label={series.name}>
            {long && !expanded ? textPreview(text) + '\n…' : text}
          </pre>
          {long ? (
            <button className="jp-mod-styled" aria-expanded={expanded} onClick={() => setExpanded(!expanded)}>
              {expanded
                ? trans.__('Show less of %1', series.name)
                : trans.__('Show all of %1 (%2 lines)', series.name, text.split('\n').length.toLocaleString())}
            </button>
          ) : null}
        </>
      )}
    </div>
  );
}

/**
 * The run's logged media: images on a grid with a step slider, figures, tables a page at a time,
 * texts; nothing at all when the run has none (or the server has no media route).
 */
export function RunMedia(props: {
  model: NbmlopsModel;
  run: RunDetail;
  trans: TranslationBundle;
}): React.ReactElement | null {
  const { model, run, trans } = props;
  const runId = run.run_id;
  const running = run.status === 'RUNNING';
  const { data: media, error } = useLiveData(
    model,
    `media:${runId}`,
    () => model.media(runId),
    () => running
  );
  const url = React.useCallback((path: string) => model.artifactUrl(runId, path), [model, runId]);
  const kinds = React.useMemo(() => {
    const items = media ?? [];
    return {
      image: mediaSeries(items, 'image'),
      figure: mediaSeries(items, 'figure'),
      table: mediaSeries(items, 'table'),
      text: mediaSeries(items, 'text')
    };
  }, [media]);

  if (error instanceof ApiError && error.status === 404 && !media) {
    return null; // a server without the media route: nothing to show
  }
  if (!media || media.length === 0) {
    return error ? (
      <RunSection id="media" title={trans.__('Media')}>
        <ErrorLine error={error} />
      </RunSection>
    ) : null;
  }
  const pictures: [string, MediaSeries[]][] = [
    [trans.__('Images'), kinds.image],
    [trans.__('Figures'), kinds.figure]
  ];
  return (
    <RunSection id="media" title={trans.__('Media')} count={media.length}>
      <ErrorLine error={error} />
      {pictures.map(([label, series]) =>
        series.length ? (
          <React.Fragment key={label}>
            <h4>{label}</h4>
            <MediaGrid trans={trans} label={label} series={series} url={url} />
          </React.Fragment>
        ) : null
      )}
      {kinds.table.length ? (
        <>
          <h4>{trans.__('Tables')}</h4>
          {kinds.table.map(series => (
            <TableSeries key={series.name} model={model} trans={trans} runId={runId} series={series} />
          ))}
        </>
      ) : null}
      {kinds.text.length ? (
        <>
          <h4>{trans.__('Texts')}</h4>
          {kinds.text.map(series => (
            <TextSeries key={series.name} model={model} trans={trans} runId={runId} series={series} />
          ))}
        </>
      ) : null}
    </RunSection>
  );
}
