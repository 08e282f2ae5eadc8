// Package connectconfig reads the connectors of Kafka Connect clusters from their REST API, so
// that spans of a connector's task threads can say which transforms (SMTs) the connector runs:
// the stock Java agent emits nothing for SMTs, converters or predicates. What it reports is the
// connector's configuration, not a measurement.
package connectconfig // import "github.com/eventlineage/lineage/internal/connectconfig"

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"
)

// Transform is one single message transform of a connector's chain.
type Transform struct {
	Alias string // the name in `transforms`
	Type  string // the class (`transforms.<alias>.type`)
}

// String is "alias=type", the form spans carry.
func (t Transform) String() string { return t.Alias + "=" + t.Type }

// Connector is what spans learn about a connector.
type Connector struct {
	Name       string
	Type       string // "source" or "sink" (as the REST API says; may be empty)
	Class      string // connector.class
	Transforms []Transform
}

// maxBody bounds a REST response (a cluster's connectors with their configurations).
const maxBody = 16 << 20

// restConnector is one entry of GET /connectors?expand=info.
type restConnector struct {
	Info *struct {
		Name   string            `json:"name"`
		Type   string            `json:"type"`
		Config map[string]string `json:"config"`
	} `json:"info"`
}

// Parse reads the body of GET /connectors?expand=info. Connectors whose info is missing are
// skipped; a transform alias without a type is an error (the connector could not run either).
func Parse(body []byte) (map[string]Connector, error) {
	var raw map[string]restConnector
	if err := json.Unmarshal(body, &raw); err != nil {
		return nil, fmt.Errorf("connectors response: %w", err)
	}
	out := make(map[string]Connector, len(raw))
	var errs []error
	for name, rc := range raw {
		if rc.Info == nil {
			continue
		}
		c := Connector{Name: name, Type: rc.Info.Type, Class: rc.Info.Config["connector.class"]}
		for _, alias := range strings.Split(rc.Info.Config["transforms"], ",") {
			alias = strings.TrimSpace(alias)
			if alias == "" {
				continue
			}
			typ := rc.Info.Config["transforms."+alias+".type"]
			if typ == "" {
				errs = append(errs, fmt.Errorf("connector %q: transform %q has no type", name, alias))
				continue
			}
			c.Transforms = append(c.Transforms, Transform{Alias: alias, Type: typ})
		}
		out[name] = c
	}
	return out, errors.Join(errs...)
}

// taskThreadPrefix starts the name of a Connect task thread: task-thread-<connector>-<task>.
const taskThreadPrefix = "task-thread-"

// ConnectorOfThread returns the connector name of a Connect task thread name.
func ConnectorOfThread(thread string) (string, bool) {
	rest, ok := strings.CutPrefix(thread, taskThreadPrefix)
	if !ok {
		return "", false
	}
	i := strings.LastIndexByte(rest, '-')
	if i <= 0 || i == len(rest)-1 {
		return "", false
	}
	for _, r := range rest[i+1:] {
		if r < '0' || r > '9' {
			return "", false
		}
	}
	return rest[:i], true
}

// Poller keeps the connectors of the configured Connect REST endpoints, refreshed every interval.
// A failed refresh keeps what was known (logged, counted by Failures).
type Poller struct {
	urls     []string
	interval time.Duration
	client   *http.Client
	logger   *zap.Logger

	mu         sync.RWMutex
	connectors map[string]Connector
	failures   int64

	stop chan struct{}
	done sync.WaitGroup
}

// NewPoller returns a poller of the given REST base URLs (e.g. http://connect-1:8083).
func NewPoller(urls []string, interval, timeout time.Duration, logger *zap.Logger) *Poller {
	return &Poller{
		urls: urls, interval: interval, client: &http.Client{Timeout: timeout}, logger: logger,
		connectors: map[string]Connector{}, stop: make(chan struct{}),
	}
}

// Start refreshes at once and then every interval, until Shutdown.
func (p *Poller) Start() {
	p.done.Add(1)
	go func() {
		defer p.done.Done()
		t := time.NewTicker(p.interval)
		defer t.Stop()
		for {
			p.Refresh(context.Background())
			select {
			case <-p.stop:
				return
			case <-t.C:
			}
		}
	}()
}

// Shutdown stops the refreshes.
func (p *Poller) Shutdown() {
	select {
	case <-p.stop:
	default:
		close(p.stop)
	}
	p.done.Wait()
}

// Refresh reads every endpoint once. An endpoint that fails keeps its connectors as they were.
func (p *Poller) Refresh(ctx context.Context) {
	for _, u := range p.urls {
		cs, err := p.fetch(ctx, u)
		if err != nil {
			p.mu.Lock()
			p.failures++
			p.mu.Unlock()
			p.logger.Warn("Cannot read Kafka Connect connectors; keeping what was known", zap.String("url", u), zap.Error(err))
			if cs == nil {
				continue
			}
		}
		p.mu.Lock()
		for name, c := range cs {
			p.connectors[name] = c
		}
		p.mu.Unlock()
	}
}

func (p *Poller) fetch(ctx context.Context, base string) (map[string]Connector, error) {
	ctx, cancel := context.WithTimeout(ctx, p.client.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(base, "/")+"/connectors?expand=info", http.NoBody)
	if err != nil {
		return nil, err
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", req.URL, resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return nil, err
	}
	if len(body) > maxBody {
		return nil, fmt.Errorf("GET %s: response larger than %d bytes", req.URL, maxBody)
	}
	return Parse(body)
}

// Lookup returns the connector whose task runs on thread.
func (p *Poller) Lookup(thread string) (Connector, bool) {
	name, ok := ConnectorOfThread(thread)
	if !ok {
		return Connector{}, false
	}
	p.mu.RLock()
	defer p.mu.RUnlock()
	c, ok := p.connectors[name]
	return c, ok
}

// Failures counts the failed reads of an endpoint.
func (p *Poller) Failures() int64 {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.failures
}
