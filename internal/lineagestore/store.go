// Package lineagestore defines the lineage store: Kafka records as events, the touchpoints (spans)
// that produced, consumed, transformed, copied or stored them, and the edges between events that
// the lineage processor stitched. The Store interface is what the lineage exporter writes through
// and the query extension reads through; every backend (SQLite embedded, PostgreSQL) implements it
// and passes the one integration suite in storetest.
package lineagestore // import "github.com/eventlineage/lineage/internal/lineagestore"

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// RecordID names one Kafka record. Cluster is the Kafka cluster id the record lives in (the
// agent's messaging.kafka.cluster.id; the cluster's configured name where no id is known).
type RecordID struct {
	Cluster   string `json:"cluster"`
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	Offset    int64  `json:"offset"`
}

// String is "cluster/topic/partition/offset".
func (r RecordID) String() string {
	return r.Cluster + "/" + r.Topic + "/" + strconv.FormatInt(int64(r.Partition), 10) + "/" + strconv.FormatInt(r.Offset, 10)
}

// Validate reports a record id that cannot name a record.
func (r RecordID) Validate() error {
	switch {
	case r.Cluster == "":
		return errors.New("cluster is empty")
	case r.Topic == "":
		return errors.New("topic is empty")
	case r.Partition < 0:
		return fmt.Errorf("partition %d is negative", r.Partition)
	case r.Offset < 0:
		return fmt.Errorf("offset %d is negative", r.Offset)
	}
	return nil
}

// ParseRecordID reads "cluster/topic/partition/offset". Topic names cannot contain '/', cluster
// ids and names of this product neither, so the split is unambiguous.
func ParseRecordID(s string) (RecordID, error) {
	parts := strings.Split(s, "/")
	if len(parts) != 4 {
		return RecordID{}, fmt.Errorf("record id %q: want cluster/topic/partition/offset", s)
	}
	p, err := strconv.ParseInt(parts[2], 10, 32)
	if err != nil {
		return RecordID{}, fmt.Errorf("record id %q: partition: %w", s, err)
	}
	o, err := strconv.ParseInt(parts[3], 10, 64)
	if err != nil {
		return RecordID{}, fmt.Errorf("record id %q: offset: %w", s, err)
	}
	r := RecordID{Cluster: parts[0], Topic: parts[1], Partition: int32(p), Offset: o}
	if err := r.Validate(); err != nil {
		return RecordID{}, fmt.Errorf("record id %q: %w", s, err)
	}
	return r, nil
}

// Event is one Kafka record as the store knows it. Several writes describe the same event (its
// producer span, its record fact, a later consumer); the store merges them: a non-empty field
// replaces an empty one, never the other way.
type Event struct {
	Record RecordID `json:"record"`
	// ClusterName is the cluster's readable name (kafka.cluster.name / the receiver's cluster name).
	ClusterName string `json:"cluster_name,omitempty"`
	// KeyHash is the keyed hash of the record key (lowercase hex), as the kafka_records receiver
	// writes it and Hasher computes it; empty for a null or unknown key.
	KeyHash string `json:"key_hash,omitempty"`
	// Timestamp is the record's own timestamp (record fact), zero when unknown.
	Timestamp time.Time `json:"timestamp,omitzero"`
	// ProducedAt is the start of the producer span that sent it, zero when no producer span was seen.
	ProducedAt time.Time `json:"produced_at,omitzero"`
	// TraceID (lowercase hex) is the trace the event's producer span ended in after stitching.
	TraceID string `json:"trace_id,omitempty"`
	// Producer is the service.name of the producing service.
	Producer string `json:"producer,omitempty"`
	// Tombstone is true for a record with a null value (known from record facts only).
	Tombstone bool `json:"tombstone,omitempty"`
}

// Merge fills the empty fields of e from o: how several writes of one event combine (the store
// applies the same rule against the stored row).
func (e *Event) Merge(o Event) {
	if e.ClusterName == "" {
		e.ClusterName = o.ClusterName
	}
	if e.KeyHash == "" {
		e.KeyHash = o.KeyHash
	}
	if e.Timestamp.IsZero() {
		e.Timestamp = o.Timestamp
	}
	if e.ProducedAt.IsZero() {
		e.ProducedAt = o.ProducedAt
	}
	if e.TraceID == "" {
		e.TraceID = o.TraceID
	}
	if e.Producer == "" {
		e.Producer = o.Producer
	}
	e.Tombstone = e.Tombstone || o.Tombstone
}

// Touchpoint kinds.
const (
	KindProduce    = "produce"     // a producer span sending the record
	KindConsume    = "consume"     // a consumer (process / receive) span reading the record
	KindStateStore = "state_store" // a state-store operation the record caused (lineage.state_store.*)
	KindConnect    = "connect"     // a Kafka Connect sink batch (or its per-record split span) taking the record
	KindInternal   = "internal"    // any other span under the record's consumption
)

// Touchpoint is one span that touched an event: it sent or read the record, or ran under the span
// that read it (a state-store operation, an SMT chain, a sink batch). A span belongs to the event of
// its own record, else to its nearest ancestor's.
type Touchpoint struct {
	Record       RecordID  `json:"record"`
	TraceID      string    `json:"trace_id"`
	SpanID       string    `json:"span_id"`
	ParentSpanID string    `json:"parent_span_id,omitempty"`
	Service      string    `json:"service"`
	Operation    string    `json:"operation"` // span name
	Kind         string    `json:"kind"`      // Kind* constants
	Start        time.Time `json:"start"`
	End          time.Time `json:"end"`
	// ClusterName: the resource's kafka.cluster.name of the service (its home cluster).
	ClusterName string `json:"cluster_name,omitempty"`
	// Connector: the Kafka Connect connector (from the task thread), MirrorMaker 2 included.
	Connector string `json:"connector,omitempty"`
	// StateStore and StoreOperation: for KindStateStore ("put" or "delete").
	StateStore     string `json:"state_store,omitempty"`
	StoreOperation string `json:"store_operation,omitempty"`
	// Rule is the lineage.rule that moved this span into its trace; empty when the agent's own
	// context put it there.
	Rule string `json:"rule,omitempty"`
}

// Derivations of an edge.
const (
	// DerivationMeasured: the agent's trace context (a parent or a link it recorded) names the edge.
	DerivationMeasured = "measured"
	// DerivationDerived: a stitching rule (Edge.Rule) inferred it from spans and record facts.
	DerivationDerived = "derived"
	// DerivationConfiguration: it rests on declared configuration (table joins, Connect REST API).
	DerivationConfiguration = "configuration"
)

// Edge says the output record To derives from the input record From.
type Edge struct {
	From RecordID `json:"from"`
	To   RecordID `json:"to"`
	// Rule is the lineage.rule behind the edge, empty when measured.
	Rule       string `json:"rule,omitempty"`
	Derivation string `json:"derivation"` // Derivation* constants
	// Link is true when the edge comes from a span link (fan-in, sink batch, table join) rather
	// than from the parent chain.
	Link bool `json:"link,omitempty"`
	// TraceID of the span that made the edge.
	TraceID string `json:"trace_id,omitempty"`
}

// SpanRef names a span by trace and span id (lowercase hex).
type SpanRef struct {
	TraceID string `json:"trace_id"`
	SpanID  string `json:"span_id"`
}

// PendingEdge is an edge whose input is known only as a span not yet resolved to an event (the
// parent or linked span was in an earlier or later write). The store resolves it against the
// touchpoints it holds or receives later, and keeps it pending until then (subject to retention).
type PendingEdge struct {
	From SpanRef `json:"from"`
	Edge Edge    `json:"edge"` // Edge.From is ignored
}

// Cluster maps a Kafka cluster id to its readable name.
type Cluster struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// Batch is one write: everything the exporter extracted from one export call. A Batch is written
// atomically (all or nothing) and idempotently: writing the same Batch twice stores it once.
type Batch struct {
	Clusters     []Cluster
	Events       []Event
	Touchpoints  []Touchpoint
	Edges        []Edge
	PendingEdges []PendingEdge
}

// Len is the number of items in the batch.
func (b *Batch) Len() int {
	return len(b.Clusters) + len(b.Events) + len(b.Touchpoints) + len(b.Edges) + len(b.PendingEdges)
}

// EventQuery selects events. All set fields must match. Time bounds apply to ProducedAt when the
// event has one, else to Timestamp.
type EventQuery struct {
	// Record: cluster (id or name), topic, partition and offset; any prefix may be set (Topic
	// alone, Topic+Partition, ...). Offset is used only with Partition set.
	Cluster   string
	Topic     string
	Partition *int32
	Offset    *int64
	KeyHash   string
	TraceID   string
	// Service: events produced or touched by that service.
	Service string
	From    time.Time // inclusive; zero = unbounded
	To      time.Time // exclusive; zero = unbounded
	// Limit is the page size (1..MaxPageSize); PageToken continues a previous page.
	Limit     int
	PageToken string
}

// MaxPageSize bounds EventQuery.Limit.
const MaxPageSize = 1000

// EventPage is one page of events, newest first (by ProducedAt/Timestamp, then record id).
type EventPage struct {
	Events []Event `json:"events"`
	// NextPageToken is empty on the last page.
	NextPageToken string `json:"next_page_token,omitempty"`
}

// EventDetail is an event with every touchpoint and its direct edges.
type EventDetail struct {
	Event       Event        `json:"event"`
	Touchpoints []Touchpoint `json:"touchpoints"`
	Inputs      []Edge       `json:"inputs"`  // edges into the event
	Outputs     []Edge       `json:"outputs"` // edges out of the event
}

// Direction of a lineage walk.
type Direction string

const (
	Upstream   Direction = "upstream"   // root cause: every event leading to the start
	Downstream Direction = "downstream" // impact: every event the start led to
	Both       Direction = "both"
)

// LineageQuery asks for the closure of one event.
type LineageQuery struct {
	Start     RecordID
	Direction Direction
	// MaxDepth bounds the walk (1..MaxLineageDepth edges from Start).
	MaxDepth int
	// MaxEvents bounds the graph's size (1..MaxLineageEvents); Graph.Truncated says when it cut.
	MaxEvents int
}

// Bounds of a lineage walk.
const (
	MaxLineageDepth  = 100
	MaxLineageEvents = 10000
)

// GraphNode is an event of a lineage graph with its touchpoints and its distance from the start
// (negative upstream, positive downstream, 0 for the start).
type GraphNode struct {
	Event       Event        `json:"event"`
	Depth       int          `json:"depth"`
	Touchpoints []Touchpoint `json:"touchpoints"`
	// Origin: no stored edge leads into it (an input of the pipeline, or its cause is unknown).
	Origin bool `json:"origin"`
}

// GraphEdge is an edge of a lineage graph with its latency: the output's ProducedAt minus the
// input's ProducedAt (nil when either is unknown).
type GraphEdge struct {
	Edge
	LatencyMS *float64 `json:"latency_ms,omitempty"`
}

// Graph is the closure of a LineageQuery: every event reached (the start included) and every
// stored edge between two of them. Cycles are safe: each event appears once.
type Graph struct {
	Start     RecordID    `json:"start"`
	Direction Direction   `json:"direction"`
	Nodes     []GraphNode `json:"nodes"`
	Edges     []GraphEdge `json:"edges"`
	// Truncated: MaxDepth or MaxEvents stopped the walk before it ended.
	Truncated bool `json:"truncated"`
}

// TopologyQuery asks for the flow topology of a time range (touchpoint start times).
type TopologyQuery struct {
	From, To time.Time
}

// Node kinds of the flow topology.
const (
	NodeService    = "service"
	NodeTopic      = "topic"       // id "cluster name/topic"
	NodeStateStore = "state_store" // id "service/store"
	NodeConnector  = "connector"
	NodeCluster    = "cluster"
)

// TopologyNode is a service, topic, state store, connector or cluster.
type TopologyNode struct {
	ID    string `json:"id"`
	Kind  string `json:"kind"`
	Label string `json:"label"`
	// Cluster: the cluster (name) a topic lives in or a service's home cluster.
	Cluster string `json:"cluster,omitempty"`
}

// TopologyEdge is a flow between two nodes: a service producing to a topic, a topic consumed by a
// service (latency: consumer start − producer start of the same record), a service writing a
// state store, a connector or MirrorMaker 2 copying between topics and clusters.
type TopologyEdge struct {
	From  string `json:"from"`
	To    string `json:"to"`
	Count int64  `json:"count"`
	// Latency percentiles in milliseconds over the range's samples; nil when none was measurable.
	P50MS *float64 `json:"p50_ms,omitempty"`
	P95MS *float64 `json:"p95_ms,omitempty"`
	P99MS *float64 `json:"p99_ms,omitempty"`
	MaxMS *float64 `json:"max_ms,omitempty"`
}

// Topology is the flow map of a time range.
type Topology struct {
	From  time.Time      `json:"from"`
	To    time.Time      `json:"to"`
	Nodes []TopologyNode `json:"nodes"`
	Edges []TopologyEdge `json:"edges"`
}

// Retention bounds what the store keeps. Zero fields do not bound.
type Retention struct {
	// MaxAge drops events (with their touchpoints, edges and pending edges) first written longer ago.
	MaxAge time.Duration
	// MaxEvents drops the oldest events beyond this many.
	MaxEvents int64
}

// ErrNotFound is returned when the event asked for is not stored.
var ErrNotFound = errors.New("not found")

// ErrInvalid is wrapped by every store error about the caller's input (a batch the store refuses,
// a query out of bounds, a malformed page token): retrying cannot help, so the exporter treats it
// as permanent and the query API answers 400.
var ErrInvalid = errors.New("invalid input")

// ErrUnavailable is wrapped by every error of a store that is not open yet (its server was
// unreachable when the collector started; it is being retried): the exporter retries, its data
// waiting in the sending queue, and the query API answers 503.
var ErrUnavailable = errors.New("lineage store unavailable")

// ErrBadPageToken is wrapped (with ErrInvalid) by FindEvents' error for a page token the store did
// not issue for that query.
var ErrBadPageToken = errors.New("malformed page token")

// Store is the lineage store. Implementations are safe for concurrent use.
type Store interface {
	// Write stores a batch atomically and idempotently.
	Write(ctx context.Context, b *Batch) error
	// FindEvents returns one page of the events a query selects.
	FindEvents(ctx context.Context, q EventQuery) (EventPage, error)
	// Event returns one event with its touchpoints and direct edges; ErrNotFound when unknown.
	Event(ctx context.Context, id RecordID) (EventDetail, error)
	// Lineage walks the stored edges from q.Start; ErrNotFound when Start is unknown.
	Lineage(ctx context.Context, q LineageQuery) (Graph, error)
	// Topology aggregates the touchpoints of a time range into a flow map.
	Topology(ctx context.Context, q TopologyQuery) (Topology, error)
	// Outliers lists the slow hops of a time range.
	Outliers(ctx context.Context, q OutlierQuery) ([]Outlier, error)
	// ApplyRetention deletes what r no longer allows; it returns the number of events deleted.
	ApplyRetention(ctx context.Context, r Retention) (int64, error)
	// Close releases the store's connections.
	Close() error
}

// OutlierQuery asks for the hops of a time range whose latency is above an absolute threshold or
// far above their flow's usual latency.
type OutlierQuery struct {
	From, To time.Time
	// ThresholdMS: a hop slower than this is an outlier (0: no absolute threshold).
	ThresholdMS float64
	// Factor: a hop slower than Factor × the median of the same flow edge over the range (and
	// than MinMS) is an outlier (0: no relative test). The median is the usual latency: robust
	// against the outliers themselves, and computed over the same range the query looks at.
	Factor float64
	MinMS  float64
	// Limit bounds the answer (1..MaxPageSize), slowest first.
	Limit int
}

// Outlier is one slow hop: a record waiting between its producer and a consumer (From: the topic
// node, To: the consuming service), or an output produced late after its input (From: the
// input's topic node, To: the output's topic node). Node ids are TopologyNode ids.
type Outlier struct {
	Record    RecordID  `json:"record"` // the consumed record, or the output record
	Input     *RecordID `json:"input,omitempty"`
	From      string    `json:"from"`
	To        string    `json:"to"`
	TraceID   string    `json:"trace_id,omitempty"`
	LatencyMS float64   `json:"latency_ms"`
	UsualMS   float64   `json:"usual_ms"` // the flow edge's median over the range
	// Reason is "threshold" or "usual" (both apply: "threshold").
	Reason string    `json:"reason"`
	At     time.Time `json:"at"` // when the hop ended
}
