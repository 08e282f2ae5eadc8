// Package captureeval measures how well the traces in a capture (a directory written by the
// real-world harness in e2e/) follow the Kafka records' lineage recorded in the capture's ground
// truth. The capture format and every metric are defined in docs/capture-format.md; this package
// is the executable form of that document and cmd/lineage-eval is its command-line front end.
//
// DescribeDir (lineage-eval --describe) summarises instead what the agents emitted in a capture
// (span shapes, root spans by break point, mis-parenting, links, truth coverage); its choices
// are listed at the top of describe.go.
//
// Input is external and untrusted: malformed JSON lines, spans with missing or wrongly typed
// attributes and inconsistent truth entries are counted and described (see Problems), never
// fatal, except a truth.json that cannot be decoded at all.
//
// Where docs/capture-format.md leaves room, this package decides as follows.
//
//   - Span classes (disjoint): a span with an empty trace or span id, a span that is its own
//     parent, a resource without a string service.name, or record attributes of the wrong type,
//     out of range, disagreeing between spellings, or an offset without topic or partition is
//     malformed. No offset attribute (or offset -1, acks=0) makes a span record-less, even with
//     a topic and partition. A (topic, partition, offset) held by no truth record is noise; held
//     by several clusters none of which is the resource's kafka.cluster.name, ambiguous. A
//     (trace id, span id) seen before is a duplicate and ignored.
//   - Ancestry walks pass through every indexed span (record-less, noise, ambiguous, malformed
//     with valid ids) and stop at a parent missing from the capture.
//   - Observed edges are a set: the same hop or derived edge seen through several spans (e.g. a
//     v1.43 process span that is both child of and linked to its producer) counts once.
//   - A same-record edge ending in a PRODUCER span is not a hop; it is a derived edge from a
//     record to itself and never correct.
//   - A record-less span linking to record spans stands for their consumption (a hop to its
//     service) unless it is a PRODUCER span; links from noise, ambiguous or malformed spans and
//     links to spans that are not record spans are ignored.
//   - Edge types: a truth hop takes its consumer's kind (consumer and streams:
//     producer_consumer, connect_sink: connect, mirror: cluster); an observed hop the truth does
//     not have takes the kind of the service on that topic, else the service's only kind, else
//     producer_consumer. A derived edge takes the truth parent edge's type when direct, else
//     the type of the target's primary parent edge, else other. Unknown kinds and parent types
//     go to other.
//   - Truth repairs: a record without id gets cluster/topic/partition/offset; duplicate ids keep
//     the first; a record with several primary parents uses the first, with none the last
//     (the doc's "last contributor"). Parent edges naming records the truth does not hold stay
//     truth edges (never observable, they lower recall).
//   - Main traces of an event: the traces of all PRODUCER spans of its origin record (normally
//     one). Without one, all its journey spans are off its main trace.
//   - Ratios with a zero denominator (precision without observed edges, recall without truth
//     edges, the mean without events with spans) are 0.
//   - Stitching (Options.Stitch) receives the whole capture as one ptrace.Traces.
package captureeval
