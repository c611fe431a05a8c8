import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

/** The root of nbmlops' REST API, relative to the server's base URL. */
export const API_ROOT = 'nbmlops/api';

/** A failed API call: the server's one-line message, its HTTP status and, for filters, the error position. */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly body: Record<string, unknown> = {}
  ) {
    super(message);
    this.name = 'ApiError';
  }

  /** Offset of a filter syntax error in the `where` text, when the server gave one. */
  get position(): number | null {
    const position = this.body['position'];
    return typeof position === 'number' ? position : null;
  }
}

/** Path segments joined and each one URL-encoded (keys and names may hold '/', spaces or unicode). */
export function apiPath(...segments: (string | number)[]): string {
  return segments.map(segment => encodeURIComponent(String(segment))).join('/');
}

/** A query string from `params`; arrays repeat the key, undefined and empty values are left out. */
export function query(params: Record<string, string | number | string[] | undefined>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value === undefined || value === '') {
      continue;
    }
    for (const item of Array.isArray(value) ? value : [value]) {
      search.append(key, String(item));
    }
  }
  const text = search.toString();
  return text ? `?${text}` : '';
}

/**
 * Call the nbmlops API: `path` is relative to /nbmlops/api/. Resolves to the parsed JSON body
 * (undefined for 204); rejects with an ApiError carrying the server's message and status.
 */
export async function requestAPI<T>(
  path: string,
  init: RequestInit = {},
  settings: ServerConnection.ISettings = ServerConnection.makeSettings()
): Promise<T> {
  const url = URLExt.join(settings.baseUrl, API_ROOT, path);
  let response: Response;
  try {
    response = await ServerConnection.makeRequest(url, init, settings);
  } catch (error) {
    throw new ApiError(
      `cannot reach the Jupyter server (${(error as Error).message}): check that it is still running`,
      0
    );
  }
  if (response.status === 204) {
    return undefined as T;
  }
  const text = await response.text();
  let body: unknown = undefined;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  if (!response.ok) {
    const data = (body && typeof body === 'object' ? body : {}) as Record<string, unknown>;
    const message =
      typeof data['error'] === 'string'
        ? data['error']
        : response.status === 404 && !text.startsWith('{')
          ? 'the nbmlops server extension is not enabled: run `jupyter server extension enable nbmlops` and restart'
          : `the server answered ${response.status} ${response.statusText}`;
    throw new ApiError(message, response.status, data);
  }
  return body as T;
}

/**
 * The full URL of an API resource for the browser to load itself (an <img src>): the server's base
 * URL, and the page's _xsrf cookie as a query parameter the way JupyterLab's own download links
 * carry it, since such a request cannot set headers.
 */
export function apiUrl(path: string, settings: ServerConnection.ISettings = ServerConnection.makeSettings()): string {
  const url = URLExt.join(settings.baseUrl, API_ROOT, path);
  let cookie = '';
  try {
    cookie = document.cookie;
  } catch {
    // a sandboxed page has no cookies to read
  }
  const xsrf = /\b_xsrf=([^;]*)\b/.exec(cookie);
  return xsrf ? `${url}${url.includes('?') ? '&' : '?'}_xsrf=${encodeURIComponent(xsrf[1])}` : url;
}

/** Fetch raw bytes of an API resource (artifacts), with the same auth and errors as requestAPI. */
export async function requestBlob(
  path: string,
  settings: ServerConnection.ISettings = ServerConnection.makeSettings()
): Promise<Blob> {
  const url = URLExt.join(settings.baseUrl, API_ROOT, path);
  const response = await ServerConnection.makeRequest(url, {}, settings);
  if (!response.ok) {
    let message = `the server answered ${response.status} ${response.statusText}`;
    try {
      message = ((await response.json()) as { error?: string }).error ?? message;
    } catch {
      // not JSON: keep the status line
    }
    throw new ApiError(message, response.status);
  }
  return response.blob();
}
