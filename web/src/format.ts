// Formatting of record ids, times and latencies, shared by every page.
import type { LineageEvent, RecordID } from './types';

export function recordKey(r: RecordID): string {
  return `${r.cluster}/${r.topic}/${r.partition}/${r.offset}`;
}

/** "cluster name/topic/partition/offset": how people (and the ground truth) name a record. */
export function nameKey(e: LineageEvent): string {
  return recordKey({ ...e.record, cluster: clusterOf(e) });
}

/** The cluster's readable name where known, else its id. */
export function clusterOf(e: LineageEvent): string {
  return e.cluster_name || e.record.cluster;
}

export function recordLabel(r: RecordID, clusterName?: string): string {
  return `${clusterName || r.cluster} · ${r.topic} [${r.partition}] @${r.offset}`;
}

/** Go's zero time (omitzero aside) and absent times are "unknown". */
export function isTime(t: string | undefined): t is string {
  return !!t && !t.startsWith('0001-01-01');
}

export function fmtTime(t: string | undefined): string {
  if (!isTime(t)) return '—';
  const d = new Date(t);
  if (Number.isNaN(d.getTime())) return t;
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

export function fmtMs(ms: number | undefined | null): string {
  if (ms === undefined || ms === null || Number.isNaN(ms)) return '—';
  if (Math.abs(ms) >= 10000) return `${(ms / 1000).toFixed(1)} s`;
  if (Math.abs(ms) >= 100) return `${Math.round(ms)} ms`;
  return `${Number(ms.toFixed(1))} ms`;
}

export function shortHash(s: string | undefined, n = 12): string {
  if (!s) return '—';
  return s.length > n ? `${s.slice(0, n)}…` : s;
}

/** A value for <input type="datetime-local"> in local time. */
export function toLocalInput(d: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** A datetime-local value (local time) as RFC 3339, or '' when empty or invalid. */
export function fromLocalInput(v: string): string {
  if (!v) return '';
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? '' : d.toISOString();
}

/** The trace backend's link for a trace id: the query extension's trace_url_template with
 * {trace_id} replaced; only http(s) links (a template is configuration, but a link is clicked). */
export function traceURL(template: string | undefined, traceID: string | undefined): string | null {
  if (!template || !traceID || !/^https?:\/\//i.test(template)) return null;
  return template.split('{trace_id}').join(encodeURIComponent(traceID));
}
