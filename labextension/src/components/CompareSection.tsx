import * as React from 'react';

/** A section of the compare view with a heading its content is labelled by, and tools beside the heading. */
export function CompareSection(props: {
  id: string;
  title: string;
  tools?: React.ReactNode;
  children: React.ReactNode;
}): React.ReactElement {
  return (
    <section className="jp-nbmlops-compare-section" aria-labelledby={props.id}>
      <div className="jp-nbmlops-compare-section-header">
        <h3 id={props.id}>{props.title}</h3>
        {props.tools}
      </div>
      {props.children}
    </section>
  );
}
