package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/eventlineage/lineage/internal/lineagestore"
)

// Lineage walks the stored edges from q.Start breadth first, one query per level and direction
// with the whole frontier in it. Each walk visits an event once (cycles end there) and the graph
// holds it once, at the depth it was first reached; upstream events get negative depths. With Both, the two directions advance level by level together, so
// MaxEvents cuts both at the same distance.
func (s *Store) Lineage(ctx context.Context, q lineagestore.LineageQuery) (lineagestore.Graph, error) {
	if err := validateLineage(q); err != nil {
		return lineagestore.Graph{}, fmt.Errorf("lineage: %w", invalid(err))
	}
	start, err := s.findEvent(ctx, q.Start)
	if err != nil {
		return lineagestore.Graph{}, fmt.Errorf("lineage: %w", err)
	}
	depth := map[int64]int{start.id: 0}
	order := []int64{start.id}
	truncated := false

	type walk struct {
		upstream bool
		sign     int
		frontier []int64
		// visited per direction: in a cycle an event is both upstream and downstream of the
		// start, and each walk must pass through it to reach what lies beyond.
		visited map[int64]bool
	}
	var walks []*walk
	if q.Direction != lineagestore.Downstream {
		walks = append(walks, &walk{upstream: true, sign: -1, frontier: []int64{start.id}, visited: map[int64]bool{start.id: true}})
	}
	if q.Direction != lineagestore.Upstream {
		walks = append(walks, &walk{upstream: false, sign: 1, frontier: []int64{start.id}, visited: map[int64]bool{start.id: true}})
	}
	for level := 1; ; level++ {
		active := false
		for _, w := range walks {
			if len(w.frontier) == 0 {
				continue
			}
			next, err := s.neighbours(ctx, w.frontier, w.upstream)
			if err != nil {
				return lineagestore.Graph{}, fmt.Errorf("lineage %s: level %d: %w", q.Start, level, err)
			}
			w.frontier = w.frontier[:0]
			for _, n := range next {
				if w.visited[n] {
					continue
				}
				_, known := depth[n]
				if level > q.MaxDepth || (!known && len(depth) >= q.MaxEvents) {
					truncated = true
					break
				}
				w.visited[n] = true
				w.frontier = append(w.frontier, n)
				if !known {
					depth[n] = w.sign * level
					order = append(order, n)
				}
			}
			active = active || len(w.frontier) > 0
		}
		if !active {
			break
		}
	}

	g := lineagestore.Graph{Start: start.e.Record, Direction: q.Direction, Truncated: truncated}
	if err := s.fillGraph(ctx, &g, order, depth); err != nil {
		return lineagestore.Graph{}, fmt.Errorf("lineage %s: %w", q.Start, err)
	}
	return g, nil
}

func validateLineage(q lineagestore.LineageQuery) error {
	if err := q.Start.Validate(); err != nil {
		return fmt.Errorf("start: %w", err)
	}
	switch q.Direction {
	case lineagestore.Upstream, lineagestore.Downstream, lineagestore.Both:
	default:
		return fmt.Errorf("direction %q: want upstream, downstream or both", q.Direction)
	}
	if q.MaxDepth < 1 || q.MaxDepth > lineagestore.MaxLineageDepth {
		return fmt.Errorf("max depth %d out of range 1..%d", q.MaxDepth, lineagestore.MaxLineageDepth)
	}
	if q.MaxEvents < 1 || q.MaxEvents > lineagestore.MaxLineageEvents {
		return fmt.Errorf("max events %d out of range 1..%d", q.MaxEvents, lineagestore.MaxLineageEvents)
	}
	return nil
}

// neighbours returns the distinct inputs (upstream) or outputs of the events, in key order.
func (s *Store) neighbours(ctx context.Context, ids []int64, upstream bool) ([]int64, error) {
	sel, by := "to_id", "from_id"
	if upstream {
		sel, by = "from_id", "to_id"
	}
	seen := map[int64]bool{}
	var out []int64
	for start := 0; start < len(ids); start += inChunk {
		chunk := ids[start:min(start+inChunk, len(ids))]
		in, args := idParams(chunk)
		err := s.queryInt64s(ctx, "SELECT "+sel+" FROM edges WHERE "+by+" IN ("+in+")", args, func(n int64) {
			if !seen[n] {
				seen[n] = true
				out = append(out, n)
			}
		})
		if err != nil {
			return nil, err
		}
	}
	slices.Sort(out)
	return out, nil
}

func (s *Store) queryInt64s(ctx context.Context, query string, args []any, each func(int64)) error {
	rows, err := s.r.QueryContext(ctx, s.d.bind(query), args...)
	if err != nil {
		return err
	}
	for rows.Next() {
		var n int64
		if err := rows.Scan(&n); err != nil {
			rows.Close()
			return err
		}
		each(n)
	}
	return errors.Join(rows.Err(), rows.Close())
}

// fillGraph loads the reached events, their touchpoints, which of them have inputs, and the edges
// between them, each in batched queries.
func (s *Store) fillGraph(ctx context.Context, g *lineagestore.Graph, order []int64, depth map[int64]int) error {
	events := make(map[int64]lineagestore.Event, len(order))
	hasInput := map[int64]bool{}
	g.Edges = []lineagestore.GraphEdge{}
	for start := 0; start < len(order); start += inChunk {
		in, args := idParams(order[start:min(start+inChunk, len(order))])
		rows, err := s.r.QueryContext(ctx, s.d.bind("SELECT "+eventColumns+" FROM "+eventFrom+" WHERE e.id IN ("+in+")"), args...)
		if err != nil {
			return fmt.Errorf("events: %w", err)
		}
		for rows.Next() {
			se, err := scanEvent(rows)
			if err != nil {
				rows.Close()
				return fmt.Errorf("events: %w", err)
			}
			events[se.id] = se.e
		}
		if err := errors.Join(rows.Err(), rows.Close()); err != nil {
			return fmt.Errorf("events: %w", err)
		}
		if err := s.queryInt64s(ctx, "SELECT DISTINCT to_id FROM edges WHERE to_id IN ("+in+")", args, func(n int64) { hasInput[n] = true }); err != nil {
			return fmt.Errorf("inputs: %w", err)
		}
		edges, err := s.edgesWhere(ctx, "ed.from_id IN ("+in+")", args...)
		if err != nil {
			return fmt.Errorf("edges: %w", err)
		}
		for _, e := range edges {
			if _, ok := depth[e.to]; !ok {
				continue
			}
			ge := lineagestore.GraphEdge{Edge: e.Edge}
			if e.fromProduced != 0 && e.toProduced != 0 {
				ms := float64(e.toProduced-e.fromProduced) / 1e6
				ge.LatencyMS = &ms
			}
			g.Edges = append(g.Edges, ge)
		}
	}
	tps, err := s.touchpointsOf(ctx, order)
	if err != nil {
		return err
	}
	g.Nodes = make([]lineagestore.GraphNode, 0, len(order))
	for _, id := range order {
		ev, ok := events[id]
		if !ok {
			continue // deleted by retention during the walk
		}
		g.Nodes = append(g.Nodes, lineagestore.GraphNode{
			Event: ev, Depth: depth[id], Touchpoints: nonNil(tps[id]), Origin: !hasInput[id],
		})
	}
	return nil
}
