import { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import { NbmlopsModel } from '../model';
import { Artifact, RunDetail } from '../types';
import { ErrorLine } from './common';
import { RunSection } from './RunSection';

/** Bytes as "512 B", "1.4 KB", "12.0 MB". */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes)) {
    return '';
  }
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${value} ${units[0]}` : `${value.toFixed(1)} ${units[unit]}`;
}

/** A folder of artifacts: its files and sub-folders, sorted by name. */
interface Folder {
  name: string;
  path: string;
  folders: Folder[];
  files: Artifact[];
  size: number;
  count: number;
}

/** Artifacts as a tree of folders (by '/'), everything sorted by name. */
export function artifactTree(artifacts: Artifact[]): Folder {
  const root: Folder = { name: '', path: '', folders: [], files: [], size: 0, count: 0 };
  const sorted = [...artifacts].sort((a, b) => a.path.localeCompare(b.path));
  for (const artifact of sorted) {
    const parts = artifact.path.split('/');
    let folder = root;
    root.size += artifact.size;
    root.count += 1;
    for (const part of parts.slice(0, -1)) {
      let child = folder.folders.find(f => f.name === part);
      if (!child) {
        child = {
          name: part,
          path: folder.path ? `${folder.path}/${part}` : part,
          folders: [],
          files: [],
          size: 0,
          count: 0
        };
        folder.folders.push(child);
      }
      child.size += artifact.size;
      child.count += 1;
      folder = child;
    }
    folder.files.push(artifact);
  }
  return root;
}

/** Save a Blob under `name` through a temporary object URL. */
function save(blob: Blob, name: string): void {
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = name;
  document.body.appendChild(link);
  link.click();
  link.remove();
  // Give the browser time to start the download before the URL goes away.
  window.setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** A run's artifacts as a folder tree with sizes and a download button per file. */
export function RunArtifacts(props: {
  model: NbmlopsModel;
  run: RunDetail;
  trans: TranslationBundle;
}): React.ReactElement {
  const { model, run, trans } = props;
  const [error, setError] = React.useState<unknown>(null);
  const [busy, setBusy] = React.useState<string | null>(null);
  const tree = React.useMemo(() => artifactTree(run.artifacts), [run.artifacts]);

  const download = async (artifact: Artifact): Promise<void> => {
    setBusy(artifact.path);
    setError(null);
    try {
      save(await model.artifact(run.run_id, artifact.path), artifact.path.split('/').pop() || 'artifact');
    } catch (reason) {
      setError(reason);
    } finally {
      setBusy(null);
    }
  };

  return (
    <RunSection id="artifacts" title={trans.__('Artifacts')} count={run.artifacts.length}>
      <ErrorLine error={error} />
      {run.artifacts.length ? (
        <ul className="jp-nbmlops-run-tree" aria-label={trans.__('Artifacts')}>
          <RunFolderItems folder={tree} trans={trans} busy={busy} onDownload={a => void download(a)} />
        </ul>
      ) : (
        <p className="jp-nbmlops-muted">{trans.__('No artifacts: log files with nbmlops.log_artifact(path).')}</p>
      )}
    </RunSection>
  );
}

interface FolderItemsProps {
  folder: Folder;
  trans: TranslationBundle;
  busy: string | null;
  onDownload: (artifact: Artifact) => void;
}

function RunFolderItems(props: FolderItemsProps): React.ReactElement {
  const { folder, trans, busy, onDownload } = props;
  return (
    <>
      {folder.folders.map(child => (
        <RunFolderItem key={child.path} {...props} folder={child} />
      ))}
      {folder.files.map(artifact => (
        <li key={artifact.path} className="jp-nbmlops-run-file">
          <span className="jp-nbmlops-run-file-name" title={`${artifact.path}\nsha256 ${artifact.sha256}`}>
            {artifact.path.split('/').pop()}
          </span>
          <span className="jp-nbmlops-run-file-size">{formatBytes(artifact.size)}</span>
          <button
            className="jp-mod-styled jp-nbmlops-run-download"
            aria-label={trans.__('Download %1', artifact.path)}
            disabled={busy === artifact.path}
            onClick={() => onDownload(artifact)}
          >
            {busy === artifact.path ? trans.__('Downloading…') : trans.__('Download')}
          </button>
        </li>
      ))}
    </>
  );
}

function RunFolderItem(props: FolderItemsProps): React.ReactElement {
  const { folder, trans } = props;
  const [open, setOpen] = React.useState(true);
  return (
    <li className="jp-nbmlops-run-folder">
      <button
        className="jp-nbmlops-run-folder-toggle"
        aria-label={trans.__('Folder %1', folder.path)}
        aria-expanded={open}
        onClick={() => setOpen(!open)}
      >
        <span className="jp-nbmlops-run-caret" aria-hidden="true">
          {open ? '▾' : '▸'}
        </span>
        {folder.name}/
        <span className="jp-nbmlops-muted">
          {' '}
          {trans._n('%1 file', '%1 files', folder.count)} · {formatBytes(folder.size)}
        </span>
      </button>
      {open ? (
        <ul>
          <RunFolderItems {...props} />
        </ul>
      ) : null}
    </li>
  );
}
