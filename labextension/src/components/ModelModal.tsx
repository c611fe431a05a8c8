import * as React from 'react';
// react-dom comes from JupyterLab at runtime (a shared singleton); only its types are a devDependency.
import { createPortal } from 'react-dom';

const FOCUSABLE =
  'button:not([disabled]), input:not([disabled]), select:not([disabled]), textarea:not([disabled]), ' +
  'a[href], [tabindex]:not([tabindex="-1"])';

function focusables(root: HTMLElement | null): HTMLElement[] {
  return root ? Array.from(root.querySelectorAll<HTMLElement>(FOCUSABLE)) : [];
}

export interface ModelModalProps {
  title: string;
  onClose: () => void;
  children: React.ReactNode;
  className?: string;
}

/**
 * A modal dialog over the whole page: labelled by its title, focus moves in (to the element marked
 * `data-autofocus`, else the first control), Tab cycles inside, Escape or a click outside closes,
 * and focus goes back to where it was.
 */
export function ModelModal(props: ModelModalProps): React.ReactElement {
  const { title, onClose, children, className } = props;
  const box = React.useRef<HTMLDivElement>(null);
  const titleId = React.useId();

  React.useEffect(() => {
    const previous = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    const first = box.current?.querySelector<HTMLElement>('[data-autofocus]') ?? focusables(box.current)[0];
    (first ?? box.current)?.focus();
    return () => {
      if (previous && document.contains(previous)) {
        previous.focus();
      }
    };
  }, []);

  const onKeyDown = (event: React.KeyboardEvent): void => {
    if (event.key === 'Escape') {
      event.preventDefault();
      event.stopPropagation();
      onClose();
      return;
    }
    if (event.key !== 'Tab') {
      return;
    }
    const items = focusables(box.current);
    if (items.length === 0) {
      event.preventDefault();
      return;
    }
    const first = items[0];
    const last = items[items.length - 1];
    const active = document.activeElement;
    if (event.shiftKey && (active === first || !box.current?.contains(active))) {
      event.preventDefault();
      last.focus();
    } else if (!event.shiftKey && (active === last || !box.current?.contains(active))) {
      event.preventDefault();
      first.focus();
    }
  };

  return createPortal(
    <div
      className="jp-nbmlops-model-backdrop"
      onMouseDown={event => {
        if (event.target === event.currentTarget) {
          onClose();
        }
      }}
    >
      <div
        ref={box}
        role="dialog"
        aria-modal="true"
        aria-labelledby={titleId}
        tabIndex={-1}
        className={`jp-nbmlops-model-dialog ${className ?? ''}`}
        onKeyDown={onKeyDown}
      >
        <h2 id={titleId} className="jp-nbmlops-model-dialog-title">
          {title}
        </h2>
        {children}
      </div>
    </div>,
    document.body
  );
}

/** A labelled text input of a dialog: visible label above, `label` also as its accessible name. */
export function ModelInput(
  props: { label: string; name: string; value: string; onValue: (value: string) => void } & Omit<
    React.InputHTMLAttributes<HTMLInputElement>,
    'value' | 'onChange' | 'name'
  >
): React.ReactElement {
  const { label, name, value, onValue, className, ...rest } = props;
  return (
    <label className="jp-nbmlops-model-field">
      <span>{label}</span>
      <input
        {...rest}
        className={`jp-mod-styled ${className ?? ''}`}
        aria-label={name}
        value={value}
        onChange={event => onValue(event.target.value)}
      />
    </label>
  );
}

/** A dialog's Cancel and submit buttons, the submit one last (Enter in a field submits the form). */
export function ModelDialogButtons(props: {
  cancel: string;
  submit: string;
  disabled: boolean;
  onCancel: () => void;
  warn?: boolean;
  describedBy?: string;
}): React.ReactElement {
  return (
    <div className="jp-nbmlops-model-buttons">
      <button type="button" className="jp-mod-styled jp-mod-reject" onClick={props.onCancel}>
        {props.cancel}
      </button>
      <button
        type="submit"
        className={`jp-mod-styled ${props.warn ? 'jp-mod-warn' : 'jp-mod-accept'}`}
        disabled={props.disabled}
        aria-describedby={props.describedBy}
      >
        {props.submit}
      </button>
    </div>
  );
}
