// The query API client: every request carries the bearer token the user entered (kept in
// sessionStorage, so it dies with the tab), errors arrive as {"error": "..."} and become ApiError.
import type { Direction, EventDetail, EventPage, Graph, OutlierList, RecordID, Topology, UIConfig } from './types';

const TOKEN_KEY = 'lineage.api-token';

export class ApiError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
    this.name = 'ApiError';
  }
  get unauthorized(): boolean {
    return this.status === 401;
  }
}

export function token(): string | null {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function setToken(t: string | null): void {
  if (t) sessionStorage.setItem(TOKEN_KEY, t);
  else sessionStorage.removeItem(TOKEN_KEY);
}

export type Params = Record<string, string | number | undefined | null>;

function url(path: string, params?: Params): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params ?? {})) {
    if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}

async function request(path: string, params: Params | undefined, signal?: AbortSignal): Promise<Response> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  const t = token();
  if (t) headers.Authorization = `Bearer ${t}`;
  let res: Response;
  try {
    res = await fetch(url(path, params), { headers, signal, credentials: 'same-origin' });
  } catch (e) {
    if (signal?.aborted) throw e;
    throw new ApiError(0, `the collector did not answer (${(e as Error).message})`);
  }
  if (!res.ok) {
    let msg = `${res.status} ${res.statusText}`;
    try {
      const body = (await res.json()) as { error?: string };
      if (body && typeof body.error === 'string' && body.error) msg = body.error;
    } catch {
      // not JSON (a proxy's page, an authenticator's plain text): keep the status line
    }
    throw new ApiError(res.status, msg);
  }
  return res;
}

async function getJSON<T>(path: string, params?: Params, signal?: AbortSignal): Promise<T> {
  return (await request(path, params, signal)).json() as Promise<T>;
}

export function recordPath(r: RecordID): string {
  return [r.cluster, r.topic, String(r.partition), String(r.offset)].map(encodeURIComponent).join('/');
}

export const api = {
  config: (signal?: AbortSignal) => getJSON<UIConfig>('/api/v1/config', undefined, signal),
  events: (params: Params, signal?: AbortSignal) => getJSON<EventPage>('/api/v1/events', params, signal),
  event: (r: RecordID, signal?: AbortSignal) => getJSON<EventDetail>(`/api/v1/events/${recordPath(r)}`, undefined, signal),
  lineage: (r: RecordID, direction: Direction, depth: number, maxEvents: number, signal?: AbortSignal) =>
    getJSON<Graph>(`/api/v1/events/${recordPath(r)}/lineage`, { direction, depth, max_events: maxEvents }, signal),
  topology: (params: Params, signal?: AbortSignal) => getJSON<Topology>('/api/v1/topology', params, signal),
  outliers: (params: Params, signal?: AbortSignal) => getJSON<OutlierList>('/api/v1/outliers', params, signal),
  /** The audit trail as a file: the body and the name the server suggests. */
  async audit(r: RecordID, params: Params, signal?: AbortSignal): Promise<{ blob: Blob; filename: string }> {
    const res = await request(`/api/v1/events/${recordPath(r)}/audit`, params, signal);
    const cd = res.headers.get('Content-Disposition') ?? '';
    const m = /filename\*?=(?:UTF-8'')?"?([^";]+)"?/i.exec(cd);
    const ext = params.format === 'csv' ? 'csv' : 'json';
    const fallback = `lineage-${r.topic}-${r.partition}-${r.offset}.${ext}`;
    return { blob: await res.blob(), filename: m ? decodeURIComponent(m[1]) : fallback };
  },
};
