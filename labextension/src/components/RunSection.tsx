import * as React from 'react';

/** A section of the run view, named by its heading (the count sits beside it, not in the name). */
export function RunSection(props: {
  id: string;
  title: string;
  count?: number;
  children: React.ReactNode;
  actions?: React.ReactNode;
}): React.ReactElement {
  const headingId = React.useId();
  return (
    <section className={`jp-nbmlops-run-section jp-nbmlops-run-${props.id}`} aria-labelledby={headingId}>
      <div className="jp-nbmlops-run-section-head">
        <h3 id={headingId}>{props.title}</h3>
        {props.count !== undefined ? <span className="jp-nbmlops-run-count">{props.count}</span> : null}
        {props.actions}
      </div>
      {props.children}
    </section>
  );
}

/**
 * Two columns of pairs: with `head`, a table with column headers (schema, packages); without, a
 * key/value table whose keys are row headers (params, metrics, tags, environment).
 */
export function RunPairs(props: {
  label: string;
  rows: [string, React.ReactNode][];
  head?: [string, string];
}): React.ReactElement {
  const { label, rows, head } = props;
  return (
    <table className={`jp-nbmlops-run-table${head ? '' : ' jp-nbmlops-run-kv'}`} aria-label={label}>
      {head ? (
        <thead>
          <tr>
            <th scope="col">{head[0]}</th>
            <th scope="col">{head[1]}</th>
          </tr>
        </thead>
      ) : null}
      <tbody>
        {rows.map(([key, value]) => (
          <tr key={key}>
            {head ? <td>{key}</td> : <th scope="row">{key}</th>}
            <td>{value}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
