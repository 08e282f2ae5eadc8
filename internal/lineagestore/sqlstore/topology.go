package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/eventlineage/lineage/internal/lineagestore"
)

func validateRange(from, to time.Time) error {
	if !from.IsZero() && !to.IsZero() && !to.After(from) {
		return fmt.Errorf("to %s is not after from %s", to.Format(time.RFC3339Nano), from.Format(time.RFC3339Nano))
	}
	return nil
}

// rangeCond bounds column to [from, to) (zero: unbounded) and returns the condition and its args.
func rangeCond(column string, from, to time.Time) (string, []any) {
	conds := []string{column + " <> 0"}
	var args []any
	if !from.IsZero() {
		conds = append(conds, column+" >= ?")
		args = append(args, nanos(from))
	}
	if !to.IsZero() {
		conds = append(conds, column+" < ?")
		args = append(args, nanos(to))
	}
	return strings.Join(conds, " AND "), args
}

// clusterNames maps the known cluster ids to their names.
func (s *Store) clusterNames(ctx context.Context) (map[string]string, error) {
	rows, err := s.r.QueryContext(ctx, "SELECT id, name FROM clusters")
	if err != nil {
		return nil, fmt.Errorf("clusters: %w", err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var id, name string
		if err := rows.Scan(&id, &name); err != nil {
			return nil, fmt.Errorf("clusters: %w", err)
		}
		out[id] = name
	}
	return out, rows.Err()
}

// topologyBuilder collects nodes and edges with their latency samples.
type topologyBuilder struct {
	names map[string]string // cluster id → name
	nodes map[string]lineagestore.TopologyNode
	edges map[[2]string]*flowEdge
}

type flowEdge struct {
	count int64
	lat   samples
}

func newTopologyBuilder(names map[string]string) *topologyBuilder {
	return &topologyBuilder{names: names, nodes: map[string]lineagestore.TopologyNode{}, edges: map[[2]string]*flowEdge{}}
}

func (b *topologyBuilder) clusterName(id string) string {
	if n, ok := b.names[id]; ok {
		return n
	}
	return id
}

// topic returns the node id of a topic ("cluster name/topic"), adding it and its cluster.
func (b *topologyBuilder) topic(clusterID, topic string) string {
	cn := b.clusterName(clusterID)
	id := cn + "/" + topic
	if _, ok := b.nodes[id]; !ok {
		b.nodes[id] = lineagestore.TopologyNode{ID: id, Kind: lineagestore.NodeTopic, Label: topic, Cluster: cn}
		b.node(cn, lineagestore.NodeCluster, cn, "")
	}
	return id
}

// actor returns the node of what ran a span: its connector when it ran in one, else its service.
func (b *topologyBuilder) actor(service, clusterName, connector string) string {
	if connector != "" {
		return b.node(connector, lineagestore.NodeConnector, connector, clusterName)
	}
	return b.node(service, lineagestore.NodeService, service, clusterName)
}

func (b *topologyBuilder) node(id, kind, label, cluster string) string {
	if n, ok := b.nodes[id]; !ok || (n.Cluster == "" && cluster != "") {
		b.nodes[id] = lineagestore.TopologyNode{ID: id, Kind: kind, Label: label, Cluster: cluster}
	}
	return id
}

// edge counts one flow from → to; latency (ms) is measurable when ok.
func (b *topologyBuilder) edge(from, to string, ms float64, ok bool) {
	k := [2]string{from, to}
	e := b.edges[k]
	if e == nil {
		e = &flowEdge{}
		b.edges[k] = e
	}
	e.count++
	if ok {
		e.lat.add(ms)
	}
}

func (b *topologyBuilder) topology(q lineagestore.TopologyQuery) lineagestore.Topology {
	t := lineagestore.Topology{From: q.From, To: q.To, Nodes: []lineagestore.TopologyNode{}, Edges: []lineagestore.TopologyEdge{}}
	for _, n := range b.nodes {
		t.Nodes = append(t.Nodes, n)
	}
	slices.SortFunc(t.Nodes, func(a, b lineagestore.TopologyNode) int {
		return strings.Compare(a.Kind+"\x00"+a.ID, b.Kind+"\x00"+b.ID)
	})
	for k, e := range b.edges {
		te := lineagestore.TopologyEdge{From: k[0], To: k[1], Count: e.count}
		if ps := e.lat.percentiles(0.50, 0.95, 0.99); ps != nil {
			mx := e.lat.max
			te.P50MS, te.P95MS, te.P99MS, te.MaxMS = &ps[0], &ps[1], &ps[2], &mx
		}
		t.Edges = append(t.Edges, te)
	}
	slices.SortFunc(t.Edges, func(a, b lineagestore.TopologyEdge) int {
		return strings.Compare(a.From+"\x00"+a.To, b.From+"\x00"+b.To)
	})
	return t
}

func msBetween(from, to int64) float64 { return float64(to-from) / 1e6 }

// Topology aggregates the touchpoints that started in the range, and the cross-cluster edges
// whose output was produced in it, into a flow map.
func (s *Store) Topology(ctx context.Context, q lineagestore.TopologyQuery) (lineagestore.Topology, error) {
	if err := validateRange(q.From, q.To); err != nil {
		return lineagestore.Topology{}, fmt.Errorf("topology: %w", invalid(err))
	}
	names, err := s.clusterNames(ctx)
	if err != nil {
		return lineagestore.Topology{}, fmt.Errorf("topology: %w", err)
	}
	b := newTopologyBuilder(names)
	cond, args := rangeCond("t.start_at", q.From, q.To)
	rows, err := s.r.QueryContext(ctx, s.d.bind(`SELECT t.kind, t.service, t.cluster_name, t.connector, t.state_store,
		t.start_at, e.cluster, e.topic, e.produced_at
		FROM touchpoints t JOIN events e ON e.id = t.event_id
		WHERE t.kind IN ('produce', 'consume', 'connect', 'state_store') AND `+cond), args...)
	if err != nil {
		return lineagestore.Topology{}, fmt.Errorf("topology: touchpoints: %w", err)
	}
	for rows.Next() {
		var kind, service, clusterName, connector, store, cluster, topic string
		var start, produced int64
		if err := rows.Scan(&kind, &service, &clusterName, &connector, &store, &start, &cluster, &topic, &produced); err != nil {
			rows.Close()
			return lineagestore.Topology{}, fmt.Errorf("topology: touchpoints: %w", err)
		}
		switch kind {
		case lineagestore.KindProduce:
			b.edge(b.actor(service, clusterName, connector), b.topic(cluster, topic), 0, false)
		case lineagestore.KindConsume, lineagestore.KindConnect:
			b.edge(b.topic(cluster, topic), b.actor(service, clusterName, connector), msBetween(produced, start), produced != 0)
		case lineagestore.KindStateStore:
			if store == "" {
				continue
			}
			svc := b.node(service, lineagestore.NodeService, service, clusterName)
			b.edge(svc, b.node(service+"/"+store, lineagestore.NodeStateStore, store, clusterName), 0, false)
		}
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return lineagestore.Topology{}, fmt.Errorf("topology: touchpoints: %w", err)
	}

	cond, args = rangeCond("t.sort_at", q.From, q.To)
	rows, err = s.r.QueryContext(ctx, s.d.bind(`SELECT f.cluster, f.topic, f.produced_at, t.cluster, t.topic, t.produced_at
		FROM events t JOIN edges ed ON ed.to_id = t.id JOIN events f ON f.id = ed.from_id
		WHERE f.cluster <> t.cluster AND `+cond), args...)
	if err != nil {
		return lineagestore.Topology{}, fmt.Errorf("topology: cluster hops: %w", err)
	}
	for rows.Next() {
		var fc, ft, tc, tt string
		var fp, tp int64
		if err := rows.Scan(&fc, &ft, &fp, &tc, &tt, &tp); err != nil {
			rows.Close()
			return lineagestore.Topology{}, fmt.Errorf("topology: cluster hops: %w", err)
		}
		b.edge(b.topic(fc, ft), b.topic(tc, tt), msBetween(fp, tp), fp != 0 && tp != 0)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return lineagestore.Topology{}, fmt.Errorf("topology: cluster hops: %w", err)
	}
	return b.topology(q), nil
}
