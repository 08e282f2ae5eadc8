package captureeval

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// Describe mode: what the stock agent emitted in a capture, summarised to check, capture by
// capture, the "where traces break" claims about the agent (docs/agent-behaviour.md). Unlike
// Evaluate it needs no truth: truth.json, when present, adds the record-level sections.
//
// Decisions, where the brief leaves room:
//
//   - Spans with an empty trace or span id are counted and skipped; a (trace id, span id) seen
//     before is a duplicate and skipped; a span that is its own parent is treated as a root.
//     Record attributes that ParseSpanRecord rejects are counted (bad_record_attributes) and
//     the span is described without a record; the other attributes are only tested for
//     presence, whatever their type.
//   - Shape: kind (upper case, as in the OTLP enum) + name, where every space-separated token
//     of the name equal to the span's messaging.destination.name becomes <topic>.
//   - A process span is a CONSUMER span whose name has the token "process"; a receive span one
//     whose name ends with "receive" or starts with "receive" or "poll".
//   - Root classes (disjoint, tested in this order): streams_flush_or_punctuate_root,
//     connect_source_root, receive_root, connect_sink_root, consumer_root,
//     connect_sink_empty_root (root CONSUMER without offset and links whose
//     messaging.batch.message_count is 0: an empty SinkTask.put), other_root.
//   - MirrorMaker 2 target topics: topics starting with "<alias>." where alias is a cluster
//     name known from the manifest, the truth or a resource's kafka.cluster.name.
//   - Mis-parenting: a key is the span's messaging.kafka.message.key, else the key of its truth
//     record. Different keys are evidence only: re-keying (repartition, changelogs keyed by
//     event id) legitimately changes keys, hence the per-edge breakdown and, with a truth, the
//     exact test "is the parent's record a truth ancestor of the span's record".
//   - Example lists (thread names, client ids) are the first three of the sorted distinct
//     values (UUIDs replaced by <uuid>); distinct values are tracked up to maxDistinct.
//   - Per-topic keys: the topic, or "(none)" without a messaging.destination.name; truth
//     coverage is keyed cluster/topic.

// Attributes the describe mode looks for besides the record attributes of record.go.
const (
	AttrMessageKey  = "messaging.kafka.message.key"
	AttrGroupOld    = "messaging.kafka.consumer.group"
	AttrGroup       = "messaging.consumer.group.name"
	AttrClientIDOld = "messaging.client_id"
	AttrClientID    = "messaging.client.id"
	AttrBatchCount  = "messaging.batch.message_count"
	AttrTombstone   = "messaging.kafka.message.tombstone"
	// AttrKafkaClusterID is the broker cluster's id (not in the reference facts; agent 2.33.1
	// sets it on kafka-clients spans).
	AttrKafkaClusterID = "messaging.kafka.cluster.id"
	AttrThreadName     = "thread.name"
)

const (
	describeExamples = 3
	maxShapeTopics   = 20
	maxDistinct      = 1000
	noTopic          = "(none)"
)

var uuidRE = regexp.MustCompile(`[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}`)

// normalizeUUIDs replaces every UUID in s by <uuid>.
func normalizeUUIDs(s string) string { return uuidRE.ReplaceAllString(s, "<uuid>") }

// DescribeOptions tunes Describe.
type DescribeOptions struct {
	// Stitch, when set, is applied to all spans of the capture before describing them.
	Stitch StitchFunc
	// MaxLineBytes bounds one spans.jsonl line (<= 0: DefaultMaxLineBytes).
	MaxLineBytes int
}

// Description is the summary of a capture. Its JSON form (WriteJSON) is the output of
// lineage-eval --describe; the field order is the key order, maps are sorted by key.
type Description struct {
	Scenario     string `json:"scenario"`
	Config       string `json:"config"`
	AgentVersion string `json:"agent_version"`
	KafkaVersion string `json:"kafka_version"`
	Stitched     bool   `json:"stitched"`
	// OtelSwitches lists, per service of the manifest, its -Dotel.* JVM switches other than
	// the harness's plumbing (service name, resource attributes, exporter endpoint/protocol).
	OtelSwitches map[string][]string `json:"otel_switches"`
	// ClusterAliases are the cluster names used to recognise MirrorMaker 2 target topics.
	ClusterAliases []string                       `json:"cluster_aliases"`
	Input          InputStats                     `json:"input"`
	Spans          DescribeSpanStats              `json:"spans"`
	Services       map[string]*ServiceDescription `json:"services"`
	Roots          RootBreakdown                  `json:"roots"`
	Misparenting   Misparenting                   `json:"misparenting"`
	// Links: per service, the links carried by its process spans.
	Links map[string]*ProcessLinks `json:"links"`
	// ConsumerParents: per service, what the CONSUMER spans naming a record are parented to.
	ConsumerParents map[string]*ConsumerParents `json:"consumer_parents"`
	// Truth and Noise are null without truth.json.
	Truth *TruthCoverage `json:"truth"`
	Noise *NoiseStats    `json:"noise"`

	// Problems describes malformed lines and spans and manifest problems, TruthProblems
	// inconsistencies of truth.json (neither is in the JSON).
	Problems      Problems `json:"-"`
	TruthProblems Problems `json:"-"`
}

// DescribeSpanStats counts the spans read.
type DescribeSpanStats struct {
	Total int `json:"total"`
	// Described = Total - EmptyIDs - Duplicate.
	Described  int `json:"described"`
	EmptyIDs   int `json:"empty_ids"`
	Duplicate  int `json:"duplicate"`
	SelfParent int `json:"self_parent"`
	// BadRecordAttributes: topic/partition/offset attributes ParseSpanRecord rejects.
	BadRecordAttributes int `json:"bad_record_attributes"`
	WithRecord          int `json:"with_record"`
	Roots               int `json:"roots"`
	// ParentMissing: spans with a parent span id that is not in the capture.
	ParentMissing int `json:"parent_missing"`
	Traces        int `json:"traces"`
}

// ServiceDescription describes the spans of one service.name.
type ServiceDescription struct {
	Spans int `json:"spans"`
	Roots int `json:"roots"`
	// Clusters are the resources' kafka.cluster.name values.
	Clusters []string                     `json:"clusters"`
	Shapes   map[string]*ShapeDescription `json:"shapes"`
}

// ShapeDescription describes the spans of one shape of one service.
type ShapeDescription struct {
	Count     int `json:"count"`
	Roots     int `json:"roots"`
	WithLinks int `json:"with_links"`
	Links     int `json:"links"`
	// With* count the spans carrying the attribute (any type).
	WithPartition    int `json:"with_partition"`
	WithOffsetOld    int `json:"with_offset_old"`  // messaging.kafka.message.offset
	WithOffsetV143   int `json:"with_offset_v143"` // messaging.kafka.offset
	WithKey          int `json:"with_key"`
	WithGroupOld     int `json:"with_group_old"`      // messaging.kafka.consumer.group
	WithGroupV143    int `json:"with_group_v143"`     // messaging.consumer.group.name
	WithClientIDOld  int `json:"with_client_id_old"`  // messaging.client_id
	WithClientIDV143 int `json:"with_client_id_v143"` // messaging.client.id
	WithBatchCount   int `json:"with_batch_message_count"`
	WithTombstone    int `json:"with_tombstone"`
	WithClusterID    int `json:"with_kafka_cluster_id"` // messaging.kafka.cluster.id
	WithThreadName   int `json:"with_thread_name"`
	// ThreadNames and ClientIDs: the first three sorted distinct values, UUIDs as <uuid>.
	ThreadNames         []string `json:"thread_names"`
	ThreadNamesDistinct int      `json:"thread_names_distinct"`
	ClientIDs           []string `json:"client_ids"`
	ClientIDsDistinct   int      `json:"client_ids_distinct"`
	// Scopes: "name version" of the instrumentation scopes.
	Scopes []string `json:"scopes"`
	// Topics: sorted, the first maxShapeTopics.
	Topics         []string `json:"topics"`
	TopicsDistinct int      `json:"topics_distinct"`
}

// SpanExample names one span.
type SpanExample struct {
	TraceID string `json:"trace_id"`
	SpanID  string `json:"span_id"`
	Service string `json:"service"`
	Name    string `json:"name"`
	Thread  string `json:"thread"`
	// Record is topic/partition/offset when the span names one.
	Record string `json:"record,omitempty"`
}

// RootClass counts the root spans of one break-point class.
type RootClass struct {
	Count int `json:"count"`
	// Tombstones: spans with messaging.kafka.message.tombstone true.
	Tombstones int            `json:"tombstones"`
	ByService  map[string]int `json:"by_service"`
	ByTopic    map[string]int `json:"by_topic"`
	ByShape    map[string]int `json:"by_shape"`
	Examples   []SpanExample  `json:"examples"`
}

// StreamsRoots splits root PRODUCER spans on Streams threads by target topic.
type StreamsRoots struct {
	Count       int       `json:"count"`
	Changelog   RootClass `json:"changelog"`
	Repartition RootClass `json:"repartition"`
	Other       RootClass `json:"other"`
}

// ConnectSourceRoots splits root PRODUCER spans on Connect task threads.
type ConnectSourceRoots struct {
	Count int `json:"count"`
	// MM2Target: topics named <cluster alias>.<topic>.
	MM2Target RootClass `json:"mm2_target"`
	Other     RootClass `json:"other"`
}

// RootBreakdown classifies the root spans (no parent span id).
type RootBreakdown struct {
	Total                   int                `json:"total"`
	StreamsFlushOrPunctuate StreamsRoots       `json:"streams_flush_or_punctuate_root"`
	ConnectSource           ConnectSourceRoots `json:"connect_source_root"`
	Receive                 RootClass          `json:"receive_root"`
	ConnectSink             RootClass          `json:"connect_sink_root"`
	Consumer                RootClass          `json:"consumer_root"`
	ConnectSinkEmpty        RootClass          `json:"connect_sink_empty_root"`
	Other                   RootClass          `json:"other_root"`
}

// Misparenting collects evidence of spans parented into an unrelated record's trace.
type Misparenting struct {
	// StreamsChildrenOfProcess: CONSUMER/PRODUCER spans on a StreamThread whose parent, in the
	// capture, is a process span.
	StreamsChildrenOfProcess int `json:"streams_children_of_process"`
	// KeysCompared: those where both keys are known.
	KeysCompared int `json:"keys_compared"`
	SameKey      int `json:"same_key"`
	DifferentKey int `json:"different_key"`
	// DifferentKeyByEdge: "parent topic -> span topic".
	DifferentKeyByEdge   map[string]int      `json:"different_key_by_edge"`
	DifferentKeyExamples []MisparentExample  `json:"different_key_examples"`
	ByTruth              *MisparentTruth     `json:"by_truth"`
	StateRestoration     StateRestorationSet `json:"state_restoration"`
}

// MisparentTruth checks parents against the truth: is the parent's record a truth ancestor of
// the span's record?
type MisparentTruth struct {
	// Checked: both records are truth records.
	Checked           int                `json:"checked"`
	ParentIsAncestor  int                `json:"parent_is_ancestor"`
	ParentNotAncestor int                `json:"parent_not_ancestor"`
	NotAncestorByEdge map[string]int     `json:"not_ancestor_by_edge"`
	Examples          []MisparentExample `json:"examples"`
}

// MisparentExample is a span and its parent.
type MisparentExample struct {
	SpanExample
	Key          string `json:"key"`
	ParentSpanID string `json:"parent_span_id"`
	ParentName   string `json:"parent_name"`
	ParentRecord string `json:"parent_record"`
	ParentKey    string `json:"parent_key"`
}

// StateRestorationSet counts spans on state restoration threads (thread name containing
// StateUpdater or restore, or a client id containing restore).
type StateRestorationSet struct {
	Spans         int            `json:"spans"`
	Roots         int            `json:"roots"`
	ParentPresent int            `json:"parent_present"`
	ParentMissing int            `json:"parent_missing"`
	ByTopic       map[string]int `json:"by_topic"`
	Examples      []SpanExample  `json:"examples"`
}

// ProcessLinks counts the links of one service's process spans.
type ProcessLinks struct {
	ProcessSpans int `json:"process_spans"`
	WithLinks    int `json:"with_links"`
	Links        int `json:"links"`
	// WithLinkToPresent: process spans with at least one link to a span in the capture.
	WithLinkToPresent int `json:"with_link_to_present_span"`
	LinksToPresent    int `json:"links_to_present_span"`
	LinksToProducer   int `json:"links_to_producer_span"`
	// WithLinkEqualParent: process spans linking to their own parent (v1.43 conventions).
	WithLinkEqualParent int `json:"with_link_equal_to_parent"`
	LinksEqualParent    int `json:"links_equal_to_parent"`
}

// ParentCounts says what CONSUMER spans naming a record are parented to.
type ParentCounts struct {
	Spans         int `json:"spans"`
	Roots         int `json:"roots"`
	ParentMissing int `json:"parent_missing"`
	// ParentIsRecordProducer: the parent is a PRODUCER span of the same topic/partition/offset.
	ParentIsRecordProducer int `json:"parent_is_record_producer"`
	ParentOther            int `json:"parent_other"`
}

// ConsumerParents is ParentCounts for one service, in total and per topic.
type ConsumerParents struct {
	ParentCounts
	// ParentOtherByShape and ParentOtherByTopic: the parents' shapes and topics ("(none)").
	ParentOtherByShape map[string]int `json:"parent_other_by_shape"`
	ParentOtherByTopic map[string]int `json:"parent_other_by_topic"`
	// ParentOtherTruthAncestor: parent_other spans whose parent names a truth record that is a
	// truth ancestor of the span's record (e.g. a header forwarded from upstream; needs a truth).
	ParentOtherTruthAncestor int                      `json:"parent_other_truth_ancestor"`
	ByTopic                  map[string]*ParentCounts `json:"by_topic"`
}

// TruthCoverage says which truth records have spans.
type TruthCoverage struct {
	Records int                        `json:"records"`
	ByRole  map[string]*RecordCoverage `json:"by_role"`
	// ByTopic is keyed cluster/topic.
	ByTopic map[string]*RecordCoverage `json:"by_topic"`
}

// RecordCoverage counts truth records with producer and consumer spans.
type RecordCoverage struct {
	Role             string `json:"role,omitempty"`
	Records          int    `json:"records"`
	WithProducerSpan int    `json:"with_producer_span"`
	// ProducerSpanRoot: records with a PRODUCER span that is a root (a broken hop unless the
	// record is an origin).
	ProducerSpanRoot int `json:"producer_span_root"`
	WithConsumerSpan int `json:"with_consumer_span"`
}

// NoiseStats counts spans naming topics or records the truth does not hold.
type NoiseStats struct {
	// Spans on topics no truth record has (Connect internal topics, MirrorMaker 2 heartbeats,
	// checkpoints and offset syncs, __consumer_offsets, ...).
	Spans   int            `json:"spans"`
	ByTopic map[string]int `json:"by_topic"`
	// Unrecorded: spans naming an offset of a truth topic that the truth does not hold.
	Unrecorded        int            `json:"unrecorded"`
	UnrecordedByTopic map[string]int `json:"unrecorded_by_topic"`
	Ambiguous         int            `json:"ambiguous"`
}

// WriteJSON writes the description as indented JSON followed by a newline.
func (d *Description) WriteJSON(w io.Writer) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(d); err != nil {
		return err
	}
	_, err := w.Write(buf.Bytes())
	return err
}

// DescribeDir describes the capture directory dir. spans.jsonl is required; truth.json and
// manifest.json are optional, but a truth.json that cannot be decoded is an error (as in
// EvaluateDir).
func DescribeDir(dir string, opts DescribeOptions) (*Description, error) {
	truthData, err := readOptional(filepath.Join(dir, TruthFileName))
	if err != nil {
		return nil, err
	}
	var truth *Truth
	if truthData != nil {
		if truth, err = ParseTruth(truthData); err != nil {
			return nil, fmt.Errorf("%s: %w", filepath.Join(dir, TruthFileName), err)
		}
	}
	manifest, err := readOptional(filepath.Join(dir, ManifestFile))
	if err != nil {
		return nil, err
	}
	sf, err := os.Open(filepath.Join(dir, SpansFile))
	if err != nil {
		return nil, err
	}
	defer sf.Close()
	return describe(sf, truth, truthData, manifest, opts)
}

func readOptional(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return data, err
}

// Describe summarises the spans read from spans (spans.jsonl content). truth and manifest are
// the contents of truth.json and manifest.json, nil when absent; a truth that cannot be
// decoded is an error.
func Describe(spans io.Reader, truth, manifest []byte, opts DescribeOptions) (*Description, error) {
	var t *Truth
	if truth != nil {
		var err error
		if t, err = ParseTruth(truth); err != nil {
			return nil, err
		}
	}
	return describe(spans, t, truth, manifest, opts)
}

func describe(spans io.Reader, truth *Truth, truthData, manifest []byte, opts DescribeOptions) (*Description, error) {
	d := newDescriber()
	if truth != nil {
		d.setTruth(truth, truthData)
	}
	if manifest != nil {
		d.setManifest(manifest)
	}
	in, err := readSpans(spans, opts.MaxLineBytes, &d.out.Problems, opts.Stitch, d.addTraces)
	if err != nil {
		return nil, err
	}
	d.out.Input = in
	d.out.Stitched = opts.Stitch != nil
	d.finish()
	return d.out, nil
}

// dspan is what the describer keeps of one span.
type dspan struct {
	key      spanKey
	parent   pcommon.SpanID
	kind     ptrace.SpanKind
	name     string
	shape    string
	service  string
	cluster  string
	topic    string
	thread   string
	clientID string
	msgKey   string
	hasKey   bool
	coord    Coord
	hasCoord bool
	rec      recIdx // truth record, -1 if none
	batch    int64
	hasBatch bool
	// tombstone: messaging.kafka.message.tombstone is true.
	tombstone bool
	links     []spanKey
}

func (s *dspan) isRoot() bool { return s.parent.IsEmpty() }

func (s *dspan) record() string {
	if !s.hasCoord {
		return ""
	}
	return s.coord.String()
}

func (s *dspan) topicLabel() string {
	if s.topic == "" {
		return noTopic
	}
	return s.topic
}

func (s *dspan) example() SpanExample {
	return SpanExample{
		TraceID: s.key.trace.String(),
		SpanID:  s.key.span.String(),
		Service: s.service,
		Name:    s.name,
		Thread:  s.thread,
		Record:  s.record(),
	}
}

func nameTokens(name string) []string { return strings.Fields(name) }

func (s *dspan) isProcess() bool {
	return s.kind == ptrace.SpanKindConsumer && slices.Contains(nameTokens(s.name), "process")
}

func (s *dspan) isReceive() bool {
	tok := nameTokens(s.name)
	if len(tok) == 0 {
		return false
	}
	return tok[len(tok)-1] == "receive" || tok[0] == "receive" || tok[0] == "poll"
}

func (s *dspan) onStreamThread() bool { return strings.Contains(s.thread, "StreamThread") }

func (s *dspan) onRestoration() bool {
	return strings.Contains(s.thread, "StateUpdater") ||
		strings.Contains(strings.ToLower(s.thread), "restore") ||
		strings.Contains(strings.ToLower(s.clientID), "restore")
}

// spanShape is the kind plus the name with the topic replaced by <topic>.
func spanShape(kind ptrace.SpanKind, name, topic string) string {
	if topic != "" {
		tok := nameTokens(name)
		replaced := false
		for i, t := range tok {
			if t == topic {
				tok[i], replaced = "<topic>", true
			}
		}
		if replaced {
			name = strings.Join(tok, " ")
		}
	}
	return kindName(kind) + " " + name
}

func kindName(k ptrace.SpanKind) string {
	switch k {
	case ptrace.SpanKindInternal:
		return "INTERNAL"
	case ptrace.SpanKindServer:
		return "SERVER"
	case ptrace.SpanKindClient:
		return "CLIENT"
	case ptrace.SpanKindProducer:
		return "PRODUCER"
	case ptrace.SpanKindConsumer:
		return "CONSUMER"
	case ptrace.SpanKindUnspecified:
		return "UNSPECIFIED"
	}
	return fmt.Sprintf("KIND_%d", int32(k))
}

// capSet is a set of strings that stops growing at maxDistinct.
type capSet map[string]struct{}

func (c capSet) add(s string) {
	if len(c) < maxDistinct {
		c[s] = struct{}{}
	}
}

func (c capSet) sortedFirst(n int) []string {
	all := make([]string, 0, len(c))
	for s := range c {
		all = append(all, s)
	}
	slices.Sort(all)
	if len(all) > n {
		all = all[:n]
	}
	return all
}

type shapeAcc struct {
	d                                *ShapeDescription
	threads, clients, scopes, topics capSet
}

type serviceAcc struct {
	d        *ServiceDescription
	clusters capSet
	shapes   map[string]*shapeAcc
}

type recMeta struct {
	key, role string
	hasKey    bool
}

type describer struct {
	out      *Description
	truth    *Truth
	meta     []recMeta // parallel to truth.records
	topics   map[string]struct{}
	aliases  capSet
	spans    []dspan
	byKey    map[spanKey]int32
	services map[string]*serviceAcc
	traces   map[pcommon.TraceID]struct{}
	// ancestors answers truth-ancestry questions (nil without a truth).
	ancestors *ancestorIndex
}

func newDescriber() *describer {
	return &describer{
		out: &Description{
			OtelSwitches:    map[string][]string{},
			Services:        map[string]*ServiceDescription{},
			Links:           map[string]*ProcessLinks{},
			ConsumerParents: map[string]*ConsumerParents{},
		},
		aliases:  capSet{},
		byKey:    map[spanKey]int32{},
		services: map[string]*serviceAcc{},
		traces:   map[pcommon.TraceID]struct{}{},
	}
}

// setTruth indexes the truth and reads the record fields Truth does not keep (key, role),
// leniently: a key or role that is not a JSON string counts as absent.
func (d *describer) setTruth(t *Truth, data []byte) {
	d.truth = t
	if t != nil {
		d.ancestors = newAncestorIndex(t)
	}
	d.out.TruthProblems = Problems{Count: t.Problems.Count, Samples: slices.Clone(t.Problems.Samples)}
	d.out.Scenario, d.out.Config = t.Scenario, t.Config
	d.topics = map[string]struct{}{}
	for _, r := range t.records {
		if r.coord.Topic != "" {
			d.topics[r.coord.Topic] = struct{}{}
		}
		if r.cluster != "" {
			d.aliases.add(r.cluster)
		}
	}
	var f struct {
		Records []struct {
			ID        string          `json:"id"`
			Cluster   string          `json:"cluster"`
			Topic     string          `json:"topic"`
			Partition int64           `json:"partition"`
			Offset    int64           `json:"offset"`
			Key       json.RawMessage `json:"key"`
			Role      json.RawMessage `json:"role"`
		} `json:"records"`
	}
	d.meta = make([]recMeta, len(t.records))
	if json.Unmarshal(data, &f) != nil { // ParseTruth decoded the same fields
		return
	}
	seen := make(map[string]bool, len(f.Records))
	for _, r := range f.Records {
		id := r.ID
		if id == "" { // as Truth.indexRecords
			id = fmt.Sprintf("%s/%s/%d/%d", r.Cluster, r.Topic, r.Partition, r.Offset)
		}
		idx, ok := t.byID[id]
		if !ok || seen[id] {
			continue
		}
		seen[id] = true
		var m recMeta
		if json.Unmarshal(r.Key, &m.key) == nil && len(r.Key) > 0 && string(r.Key) != "null" {
			m.hasKey = true
		}
		_ = json.Unmarshal(r.Role, &m.role)
		d.meta[idx] = m
	}
}

// setManifest reads the fields of manifest.json the description reports, leniently.
func (d *describer) setManifest(data []byte) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(data, &m); err != nil {
		d.out.TruthProblems.addf("%s is not a JSON object (ignored)", ManifestFile)
		return
	}
	str := func(k string) string {
		var s string
		_ = json.Unmarshal(m[k], &s)
		return s
	}
	if d.out.Scenario == "" {
		d.out.Scenario = str("scenario")
	}
	if d.out.Config == "" {
		d.out.Config = str("config")
	}
	d.out.AgentVersion, d.out.KafkaVersion = str("agent_version"), str("kafka_version")
	var clusters map[string]json.RawMessage
	if json.Unmarshal(m["clusters"], &clusters) == nil {
		for c := range clusters {
			d.aliases.add(c)
		}
	}
	var services map[string]json.RawMessage
	if json.Unmarshal(m["services"], &services) == nil {
		for name, raw := range services {
			var svc struct {
				JVMSwitches []string `json:"jvm_switches"`
			}
			if json.Unmarshal(raw, &svc) != nil {
				d.out.TruthProblems.addf("%s: service %q: unexpected shape (switches ignored)", ManifestFile, name)
				continue
			}
			sw := []string{}
			for _, s := range svc.JVMSwitches {
				if isOtelSwitch(s) {
					sw = append(sw, s)
				}
			}
			d.out.OtelSwitches[name] = sw
		}
	}
}

func isOtelSwitch(s string) bool {
	if !strings.HasPrefix(s, "-Dotel.") {
		return false
	}
	for _, p := range []string{"-Dotel.service.name=", "-Dotel.resource.attributes=", "-Dotel.exporter.otlp.", "-Dotel.metrics.exporter="} {
		if strings.HasPrefix(s, p) {
			return false
		}
	}
	return true
}

func (d *describer) addTraces(line int, td ptrace.Traces) {
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		rs := rss.At(i)
		res := rs.Resource().Attributes()
		service, hasService, err := stringAttr(res, ResAttrServiceName)
		switch {
		case err != nil:
			service = "(invalid service.name)"
		case !hasService:
			service = "(no service.name)"
		}
		cluster, _, err := stringAttr(res, ResAttrClusterName)
		if err != nil {
			cluster = ""
		}
		if cluster != "" {
			d.aliases.add(cluster)
		}
		sss := rs.ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			sc := sss.At(j).Scope()
			scope := strings.TrimSpace(sc.Name() + " " + sc.Version())
			spans := sss.At(j).Spans()
			for k := 0; k < spans.Len(); k++ {
				d.addSpan(line, spans.At(k), service, cluster, scope)
			}
		}
	}
}

func (d *describer) addSpan(line int, sp ptrace.Span, service, cluster, scope string) {
	st := &d.out.Spans
	st.Total++
	where := func() string {
		w := fmt.Sprintf("span %s/%s %q", sp.TraceID(), sp.SpanID(), truncate(sp.Name(), 60))
		if line > 0 {
			w = fmt.Sprintf("spans line %d, %s", line, w)
		}
		return w
	}
	s := dspan{
		key:     spanKey{sp.TraceID(), sp.SpanID()},
		parent:  sp.ParentSpanID(),
		kind:    sp.Kind(),
		name:    sp.Name(),
		service: service,
		cluster: cluster,
		rec:     -1,
	}
	if s.key.trace.IsEmpty() || s.key.span.IsEmpty() {
		st.EmptyIDs++
		d.out.Problems.addf("%s: empty trace or span id (span ignored)", where())
		return
	}
	if _, dup := d.byKey[s.key]; dup {
		st.Duplicate++
		return
	}
	if s.parent == s.key.span {
		st.SelfParent++
		s.parent = pcommon.SpanID{}
		d.out.Problems.addf("%s: span is its own parent (treated as a root)", where())
	}
	attrs := sp.Attributes()
	if v, ok := attrs.Get(AttrTopic); ok && v.Type() == pcommon.ValueTypeStr {
		s.topic = v.Str()
	}
	switch c, ok, err := ParseSpanRecord(attrs); {
	case err != nil:
		st.BadRecordAttributes++
		d.out.Problems.addf("%s: %v", where(), err)
	case ok:
		s.coord, s.hasCoord = c, true
		st.WithRecord++
		if d.truth != nil {
			if rec, found, _ := d.truth.lookup(c, cluster); found {
				s.rec = rec
			}
		}
	}
	if v, ok := attrs.Get(AttrThreadName); ok {
		s.thread = v.AsString()
	}
	if v, ok := attrs.Get(AttrMessageKey); ok {
		s.msgKey, s.hasKey = v.AsString(), true
	}
	if v, ok := attrs.Get(AttrClientIDOld); ok {
		s.clientID = v.AsString()
	} else if v, ok := attrs.Get(AttrClientID); ok {
		s.clientID = v.AsString()
	}
	if v, ok := attrs.Get(AttrTombstone); ok && v.Type() == pcommon.ValueTypeBool {
		s.tombstone = v.Bool()
	}
	if v, ok := attrs.Get(AttrBatchCount); ok {
		if n, err := intValue(v); err == nil {
			s.batch, s.hasBatch = n, true
		}
	}
	if links := sp.Links(); links.Len() > 0 {
		s.links = make([]spanKey, 0, links.Len())
		for l := 0; l < links.Len(); l++ {
			s.links = append(s.links, spanKey{links.At(l).TraceID(), links.At(l).SpanID()})
		}
	}
	s.shape = spanShape(s.kind, s.name, s.topic)
	d.traces[s.key.trace] = struct{}{}
	d.byKey[s.key] = int32(len(d.spans))
	d.spans = append(d.spans, s)
	d.addShape(&d.spans[len(d.spans)-1], attrs, scope)
}

func (d *describer) addShape(s *dspan, attrs pcommon.Map, scope string) {
	svc, ok := d.services[s.service]
	if !ok {
		svc = &serviceAcc{
			d:        &ServiceDescription{Shapes: map[string]*ShapeDescription{}},
			clusters: capSet{},
			shapes:   map[string]*shapeAcc{},
		}
		d.services[s.service] = svc
		d.out.Services[s.service] = svc.d
	}
	svc.d.Spans++
	if s.cluster != "" {
		svc.clusters.add(s.cluster)
	}
	sh, ok := svc.shapes[s.shape]
	if !ok {
		sh = &shapeAcc{d: &ShapeDescription{}, threads: capSet{}, clients: capSet{}, scopes: capSet{}, topics: capSet{}}
		svc.shapes[s.shape] = sh
		svc.d.Shapes[s.shape] = sh.d
	}
	sd := sh.d
	sd.Count++
	if s.isRoot() {
		svc.d.Roots++
		sd.Roots++
	}
	if len(s.links) > 0 {
		sd.WithLinks++
		sd.Links += len(s.links)
	}
	has := func(k string) int {
		if _, ok := attrs.Get(k); ok {
			return 1
		}
		return 0
	}
	sd.WithPartition += max(has(AttrPartitionID), has(AttrKafkaDestinationPartition), has(AttrKafkaPartition))
	sd.WithOffsetOld += has(AttrOffsetOld)
	sd.WithOffsetV143 += has(AttrOffset)
	sd.WithKey += has(AttrMessageKey)
	sd.WithGroupOld += has(AttrGroupOld)
	sd.WithGroupV143 += has(AttrGroup)
	sd.WithClientIDOld += has(AttrClientIDOld)
	sd.WithClientIDV143 += has(AttrClientID)
	sd.WithBatchCount += has(AttrBatchCount)
	sd.WithTombstone += has(AttrTombstone)
	sd.WithClusterID += has(AttrKafkaClusterID)
	sd.WithThreadName += has(AttrThreadName)
	if has(AttrThreadName) == 1 {
		sh.threads.add(normalizeUUIDs(s.thread))
	}
	if s.clientID != "" {
		sh.clients.add(normalizeUUIDs(s.clientID))
	}
	sh.scopes.add(scope)
	if s.topic != "" {
		sh.topics.add(s.topic)
	}
}

func (d *describer) parentOf(s *dspan) (*dspan, bool) {
	if s.isRoot() {
		return nil, false
	}
	j, ok := d.byKey[spanKey{s.key.trace, s.parent}]
	if !ok {
		return nil, false
	}
	return &d.spans[j], true
}

func (d *describer) finish() {
	o := d.out
	o.Spans.Described = len(d.spans)
	o.Spans.Traces = len(d.traces)
	o.ClusterAliases = d.aliases.sortedFirst(maxDistinct)
	for _, svc := range d.services {
		svc.d.Clusters = svc.clusters.sortedFirst(maxDistinct)
		for _, sh := range svc.shapes {
			sh.d.ThreadNames, sh.d.ThreadNamesDistinct = sh.threads.sortedFirst(describeExamples), len(sh.threads)
			sh.d.ClientIDs, sh.d.ClientIDsDistinct = sh.clients.sortedFirst(describeExamples), len(sh.clients)
			sh.d.Scopes = sh.scopes.sortedFirst(maxShapeTopics)
			sh.d.Topics, sh.d.TopicsDistinct = sh.topics.sortedFirst(maxShapeTopics), len(sh.topics)
		}
	}
	initRootClasses(&o.Roots)
	o.Misparenting = Misparenting{
		DifferentKeyByEdge:   map[string]int{},
		DifferentKeyExamples: []MisparentExample{},
		StateRestoration:     StateRestorationSet{ByTopic: map[string]int{}, Examples: []SpanExample{}},
	}
	if d.truth != nil {
		o.Misparenting.ByTruth = &MisparentTruth{NotAncestorByEdge: map[string]int{}, Examples: []MisparentExample{}}
	}
	for i := range d.spans {
		s := &d.spans[i]
		parent, parentPresent := d.parentOf(s)
		switch {
		case s.isRoot():
			o.Spans.Roots++
			d.classifyRoot(s)
		case !parentPresent:
			o.Spans.ParentMissing++
		}
		d.misparenting(s, parent)
		d.links(s)
		d.consumerParent(s, parent)
	}
	if d.truth != nil {
		d.truthCoverage()
	}
}

func initRootClasses(r *RootBreakdown) {
	for _, c := range []*RootClass{
		&r.StreamsFlushOrPunctuate.Changelog, &r.StreamsFlushOrPunctuate.Repartition, &r.StreamsFlushOrPunctuate.Other,
		&r.ConnectSource.MM2Target, &r.ConnectSource.Other,
		&r.Receive, &r.ConnectSink, &r.Consumer, &r.ConnectSinkEmpty, &r.Other,
	} {
		*c = RootClass{ByService: map[string]int{}, ByTopic: map[string]int{}, ByShape: map[string]int{}, Examples: []SpanExample{}}
	}
}

func (c *RootClass) add(s *dspan) {
	c.Count++
	if s.tombstone {
		c.Tombstones++
	}
	c.ByService[s.service]++
	c.ByTopic[s.topicLabel()]++
	c.ByShape[s.shape]++
	if len(c.Examples) < describeExamples {
		c.Examples = append(c.Examples, s.example())
	}
}

func (d *describer) isMM2Target(topic string) bool {
	for a := range d.aliases {
		if a != "" && strings.HasPrefix(topic, a+".") && len(topic) > len(a)+1 {
			return true
		}
	}
	return false
}

func (d *describer) classifyRoot(s *dspan) {
	r := &d.out.Roots
	r.Total++
	switch {
	case s.kind == ptrace.SpanKindProducer && s.onStreamThread():
		r.StreamsFlushOrPunctuate.Count++
		switch {
		case strings.HasSuffix(s.topic, "-changelog"):
			r.StreamsFlushOrPunctuate.Changelog.add(s)
		case strings.HasSuffix(s.topic, "-repartition"):
			r.StreamsFlushOrPunctuate.Repartition.add(s)
		default:
			r.StreamsFlushOrPunctuate.Other.add(s)
		}
	case s.kind == ptrace.SpanKindProducer && strings.HasPrefix(s.thread, "task-thread-"):
		r.ConnectSource.Count++
		if d.isMM2Target(s.topic) {
			r.ConnectSource.MM2Target.add(s)
		} else {
			r.ConnectSource.Other.add(s)
		}
	case s.isReceive():
		r.Receive.add(s)
	case s.kind == ptrace.SpanKindConsumer && !s.hasCoord && len(s.links) > 0:
		r.ConnectSink.add(s)
	case s.kind == ptrace.SpanKindConsumer && s.hasCoord:
		r.Consumer.add(s)
	case s.kind == ptrace.SpanKindConsumer && !s.hasCoord && s.hasBatch && s.batch == 0:
		r.ConnectSinkEmpty.add(s)
	default:
		r.Other.add(s)
	}
}

// spanKeyOf returns the record key of a span: its key attribute, else its truth record's key.
func (d *describer) spanKeyOf(s *dspan) (string, bool) {
	if s.hasKey {
		return s.msgKey, true
	}
	if s.rec >= 0 && d.meta[s.rec].hasKey {
		return d.meta[s.rec].key, true
	}
	return "", false
}

func (d *describer) misparenting(s *dspan, parent *dspan) {
	m := &d.out.Misparenting
	if s.onRestoration() {
		rs := &m.StateRestoration
		rs.Spans++
		switch {
		case s.isRoot():
			rs.Roots++
		case parent != nil:
			rs.ParentPresent++
		default:
			rs.ParentMissing++
		}
		rs.ByTopic[s.topicLabel()]++
		if len(rs.Examples) < describeExamples {
			rs.Examples = append(rs.Examples, s.example())
		}
	}
	if parent == nil || !s.onStreamThread() || !parent.isProcess() ||
		(s.kind != ptrace.SpanKindProducer && s.kind != ptrace.SpanKindConsumer) {
		return
	}
	m.StreamsChildrenOfProcess++
	edge := parent.topicLabel() + " -> " + s.topicLabel()
	key, hasKey := d.spanKeyOf(s)
	pkey, hasPKey := d.spanKeyOf(parent)
	example := func() MisparentExample {
		return MisparentExample{
			SpanExample:  s.example(),
			Key:          key,
			ParentSpanID: parent.key.span.String(),
			ParentName:   parent.name,
			ParentRecord: parent.record(),
			ParentKey:    pkey,
		}
	}
	if hasKey && hasPKey {
		m.KeysCompared++
		if key == pkey {
			m.SameKey++
		} else {
			m.DifferentKey++
			m.DifferentKeyByEdge[edge]++
			if len(m.DifferentKeyExamples) < describeExamples {
				m.DifferentKeyExamples = append(m.DifferentKeyExamples, example())
			}
		}
	}
	if bt := m.ByTruth; bt != nil && s.rec >= 0 && parent.rec >= 0 {
		bt.Checked++
		if d.ancestors.isAncestor(parent.rec, s.rec) {
			bt.ParentIsAncestor++
		} else {
			bt.ParentNotAncestor++
			bt.NotAncestorByEdge[edge]++
			if len(bt.Examples) < describeExamples {
				bt.Examples = append(bt.Examples, example())
			}
		}
	}
}

func (d *describer) links(s *dspan) {
	if !s.isProcess() {
		return
	}
	pl, ok := d.out.Links[s.service]
	if !ok {
		pl = &ProcessLinks{}
		d.out.Links[s.service] = pl
	}
	pl.ProcessSpans++
	if len(s.links) == 0 {
		return
	}
	pl.WithLinks++
	pl.Links += len(s.links)
	var toPresent, equalParent bool
	for _, lk := range s.links {
		if j, ok := d.byKey[lk]; ok {
			pl.LinksToPresent++
			toPresent = true
			if d.spans[j].kind == ptrace.SpanKindProducer {
				pl.LinksToProducer++
			}
		}
		if !s.isRoot() && lk == (spanKey{s.key.trace, s.parent}) {
			pl.LinksEqualParent++
			equalParent = true
		}
	}
	if toPresent {
		pl.WithLinkToPresent++
	}
	if equalParent {
		pl.WithLinkEqualParent++
	}
}

func (p *ParentCounts) add(s, parent *dspan) (other bool) {
	p.Spans++
	switch {
	case s.isRoot():
		p.Roots++
	case parent == nil:
		p.ParentMissing++
	case parent.kind == ptrace.SpanKindProducer && parent.hasCoord && parent.coord == s.coord:
		p.ParentIsRecordProducer++
	default:
		p.ParentOther++
		return true
	}
	return false
}

func (d *describer) consumerParent(s *dspan, parent *dspan) {
	if s.kind != ptrace.SpanKindConsumer || !s.hasCoord {
		return
	}
	cp, ok := d.out.ConsumerParents[s.service]
	if !ok {
		cp = &ConsumerParents{ParentOtherByShape: map[string]int{}, ParentOtherByTopic: map[string]int{}, ByTopic: map[string]*ParentCounts{}}
		d.out.ConsumerParents[s.service] = cp
	}
	if cp.ParentCounts.add(s, parent) {
		cp.ParentOtherByShape[parent.shape]++
		cp.ParentOtherByTopic[parent.topicLabel()]++
		if d.truth != nil && s.rec >= 0 && parent.rec >= 0 && d.ancestors.isAncestor(parent.rec, s.rec) {
			cp.ParentOtherTruthAncestor++
		}
	}
	bt, ok := cp.ByTopic[s.topicLabel()]
	if !ok {
		bt = &ParentCounts{}
		cp.ByTopic[s.topicLabel()] = bt
	}
	bt.add(s, parent)
}

func (d *describer) truthCoverage() {
	t := d.truth
	n := len(t.records)
	type recSpans struct{ producer, producerRoot, consumer bool }
	per := make([]recSpans, n)
	noise := &NoiseStats{ByTopic: map[string]int{}, UnrecordedByTopic: map[string]int{}}
	for i := range d.spans {
		s := &d.spans[i]
		switch {
		case s.rec >= 0:
			rs := &per[s.rec]
			switch s.kind {
			case ptrace.SpanKindProducer:
				rs.producer = true
				rs.producerRoot = rs.producerRoot || s.isRoot()
			case ptrace.SpanKindConsumer:
				rs.consumer = true
			}
		case s.topic == "":
		case !d.hasTopic(s.topic):
			noise.Spans++
			noise.ByTopic[s.topic]++
		case s.hasCoord:
			if _, _, ambiguous := t.lookup(s.coord, s.cluster); ambiguous {
				noise.Ambiguous++
			} else {
				noise.Unrecorded++
				noise.UnrecordedByTopic[s.topic]++
			}
		}
	}
	cov := &TruthCoverage{Records: n, ByRole: map[string]*RecordCoverage{}, ByTopic: map[string]*RecordCoverage{}}
	get := func(m map[string]*RecordCoverage, k, role string) *RecordCoverage {
		c, ok := m[k]
		if !ok {
			c = &RecordCoverage{Role: role}
			m[k] = c
		} else if c.Role != role {
			c.Role = "mixed"
		}
		return c
	}
	for i := range t.records {
		role := d.meta[i].role
		if role == "" {
			role = noTopic
		}
		r := &t.records[i]
		for _, c := range []*RecordCoverage{
			get(cov.ByRole, role, ""),
			get(cov.ByTopic, r.cluster+"/"+r.coord.Topic, role),
		} {
			c.Records++
			if per[i].producer {
				c.WithProducerSpan++
			}
			if per[i].producerRoot {
				c.ProducerSpanRoot++
			}
			if per[i].consumer {
				c.WithConsumerSpan++
			}
		}
	}
	d.out.Truth, d.out.Noise = cov, noise
}

func (d *describer) hasTopic(topic string) bool {
	_, ok := d.topics[topic]
	return ok
}
