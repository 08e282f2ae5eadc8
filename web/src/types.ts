// The JSON shapes of the lineage query API: exactly the json tags of internal/lineagestore's
// structs (Go nil slices arrive as null, hence the optional arrays).

export interface RecordID {
  cluster: string;
  topic: string;
  partition: number;
  offset: number;
}

export interface LineageEvent {
  record: RecordID;
  cluster_name?: string;
  key_hash?: string;
  timestamp?: string;
  produced_at?: string;
  trace_id?: string;
  producer?: string;
  tombstone?: boolean;
}

export type TouchpointKind = 'produce' | 'consume' | 'state_store' | 'connect' | 'internal';

export interface Touchpoint {
  record: RecordID;
  trace_id: string;
  span_id: string;
  parent_span_id?: string;
  service: string;
  operation: string;
  kind: TouchpointKind | string;
  start: string;
  end: string;
  cluster_name?: string;
  connector?: string;
  state_store?: string;
  store_operation?: string;
  rule?: string;
}

export interface Edge {
  from: RecordID;
  to: RecordID;
  rule?: string;
  derivation: 'measured' | 'derived' | 'configuration' | string;
  link?: boolean;
  trace_id?: string;
}

export interface GraphEdge extends Edge {
  latency_ms?: number;
}

export interface GraphNode {
  event: LineageEvent;
  depth: number;
  touchpoints?: Touchpoint[] | null;
  origin: boolean;
}

export type Direction = 'upstream' | 'downstream' | 'both';

export interface Graph {
  start: RecordID;
  direction: Direction;
  nodes?: GraphNode[] | null;
  edges?: GraphEdge[] | null;
  truncated: boolean;
}

export interface EventDetail {
  event: LineageEvent;
  touchpoints?: Touchpoint[] | null;
  inputs?: Edge[] | null;
  outputs?: Edge[] | null;
}

export interface EventPage {
  events?: LineageEvent[] | null;
  next_page_token?: string;
}

export interface TopologyNode {
  id: string;
  kind: 'service' | 'topic' | 'state_store' | 'connector' | 'cluster' | string;
  label: string;
  cluster?: string;
}

export interface TopologyEdge {
  from: string;
  to: string;
  count: number;
  p50_ms?: number;
  p95_ms?: number;
  p99_ms?: number;
  max_ms?: number;
}

export interface Topology {
  from: string;
  to: string;
  nodes?: TopologyNode[] | null;
  edges?: TopologyEdge[] | null;
}

export interface Outlier {
  record: RecordID;
  input?: RecordID;
  from: string;
  to: string;
  trace_id?: string;
  latency_ms: number;
  usual_ms: number;
  reason: 'threshold' | 'usual' | string;
  at: string;
}

export interface OutlierList {
  outliers?: Outlier[] | null;
}

export interface UIConfig {
  trace_url_template?: string;
  max_lineage_depth: number;
  max_lineage_events: number;
  version?: string;
}
