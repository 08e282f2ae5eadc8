// What a page gets from the router: the API's UI configuration, where to render, and a signal
// that aborts the page's requests when the user navigates away.
import { h, type Child } from './dom';
import type { RecordID, UIConfig } from './types';

export interface Ctx {
  cfg: UIConfig;
  main: HTMLElement;
  signal: AbortSignal;
  /** Cancels the page's running requests (the Cancel button of a progress line). */
  cancel(): void;
  go(path: string): void;
}

export function eventPath(r: RecordID, view?: string): string {
  const p = `/events/${[r.cluster, r.topic, String(r.partition), String(r.offset)].map(encodeURIComponent).join('/')}`;
  return view ? `${p}?view=${view}` : p;
}

/** An in-app link (the router intercepts plain clicks on same-origin links). */
export function link(path: string, ...children: Child[]): HTMLAnchorElement {
  return h('a', { href: path }, ...children);
}
