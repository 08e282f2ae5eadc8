// Command lineage-bench measures the collector distribution (bin/otelcol-lineage, started as a
// subprocess per pipeline) under a replay of the captured Java-agent span streams: a pass-through
// baseline, contrib's groupbytrace with the same wait, and the lineage processor. It reports
// collector CPU per span, resident memory, bytes per held span, added latency and span loss.
// Everything runs on 127.0.0.1 and stops by itself; see docs/performance.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/eventlineage/lineage/internal/loadgen"
)

var (
	profileDir string
	loadLimit  = 120 * time.Second
)

type pipeline struct {
	name  string
	procs []string // processors in order
	yaml  string   // processors: section body
	wait  time.Duration
}

type result struct {
	p                      pipeline
	stats                  loadgen.Stats
	truncated              bool // the load hit -max-load
	sendErrors             int
	sent, out, synth       int
	cpu, cpuLoad, benchCPU float64 // cpuLoad: until the last span was sent
	loadSecs               float64 // first send to last span out (or drain timeout)
	rssIdle, rssPeak, hwm  float64
	heapIdle               float64
	heldPeak               float64 // max of (sent - received) over the samples
	gaugePeak              float64 // the lineage processor's held_spans gauge, max
	rssAtHeld, heapAtHeld  float64 // at the sample of heldPeak
	p50, p99, pmax         time.Duration
	overWait               int
	lineage                map[string]float64 // final lineage counters
}

func main() {
	var (
		collector = flag.String("collector", "bin/otelcol-lineage", "collector binary")
		capDirs   = flag.String("captures", "testdata/captures/withdrawal-a,testdata/captures/withdrawal-b,testdata/captures/withdrawal-c", "capture directories replayed in rotation")
		spans     = flag.Int("spans", 1_000_000, "spans per pipeline (whole replicas)")
		rate      = flag.Float64("rate", 30_000, "offered spans/s (steady state)")
		wait      = flag.Duration("wait", 40*time.Second, "groupbytrace wait_duration = the lineage processor's decision_wait (its default)")
		shortWait = flag.Duration("short-wait", 5*time.Second, "extra lineage row with this decision_wait (0: none)")
		only      = flag.String("only", "", "comma-separated pipeline names to run (default: all)")
		maxRate   = flag.Bool("max-rate", true, "also replay as fast as possible through the batch baseline")
		maxLoad   = flag.Duration("max-load", 120*time.Second, "stop a pipeline's load after this long (a collector that cannot keep up)")
		profile   = flag.String("profile", "", "directory: take a 20s CPU profile of each collector during the load (pprof extension)")
	)
	flag.Parse()
	profileDir, loadLimit = *profile, *maxLoad
	if err := run(*collector, strings.Split(*capDirs, ","), *spans, *rate, *wait, *shortWait, *only, *maxRate); err != nil {
		fmt.Fprintln(os.Stderr, "lineage-bench:", err)
		os.Exit(1)
	}
}

func run(collector string, capDirs []string, spans int, rate float64, wait, shortWait time.Duration, only string, maxRate bool) error {
	var tpls []*loadgen.Template
	tplSpans := 0
	for _, d := range capDirs {
		t, err := loadgen.LoadTemplate(filepath.Join(d, "spans.jsonl"))
		if err != nil {
			return err
		}
		tpls = append(tpls, t)
		tplSpans += t.Spans
	}
	pipes := []pipeline{
		{name: "passthrough", procs: nil},
		{name: "batch", procs: []string{"batch"}},
		{name: "groupbytrace", procs: []string{"groupbytrace", "batch"}, wait: wait,
			yaml: fmt.Sprintf("  groupbytrace:\n    wait_duration: %s\n    num_traces: 1000000\n", wait)},
		{name: "lineage", procs: []string{"lineage", "batch"}, wait: wait, yaml: "  lineage: {}\n"},
	}
	if wait != 40*time.Second { // not the default decision_wait
		pipes[3].name = "lineage-" + wait.String()
		pipes[3].yaml = fmt.Sprintf("  lineage:\n    decision_wait: %s\n", wait)
	}
	if shortWait > 0 {
		pipes = append(pipes, pipeline{name: "lineage-" + shortWait.String(), procs: []string{"lineage", "batch"}, wait: shortWait,
			yaml: fmt.Sprintf("  lineage:\n    decision_wait: %s\n", shortWait)})
	}
	if maxRate {
		pipes = append(pipes, pipeline{name: "batch-maxrate", procs: []string{"batch"}})
	}
	load, _ := os.ReadFile("/proc/loadavg")
	fmt.Printf("lineage-bench: %s, %d CPUs, %s, loadavg %s\n", time.Now().UTC().Format(time.RFC3339), runtime.NumCPU(), cpuModel(), strings.TrimSpace(string(load)))
	fmt.Printf("captures %v (%d spans per rotation), %d spans per pipeline at %.0f spans/s, wait %s\n",
		capDirs, tplSpans, spans, rate, wait)
	var results []*result
	for _, p := range pipes {
		if only != "" && !contains(strings.Split(only, ","), p.name) {
			continue
		}
		r := rate
		if p.name == "batch-maxrate" {
			r = 0
		}
		fmt.Printf("== %s (processors %v) ...\n", p.name, p.procs)
		res, err := runPipeline(collector, p, tpls, spans, r)
		if err != nil {
			return fmt.Errorf("%s: %w", p.name, err)
		}
		results = append(results, res)
		printOne(res)
	}
	printTable(results, rate)
	return nil
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

const configTmpl = `receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:%d
        max_recv_msg_size_mib: 64
processors:
  batch: {}
%sexporters:
  otlp_grpc:
    endpoint: %s
    tls: {insecure: true}
    compression: none
    sending_queue: {block_on_overflow: true}
%sservice:
  extensions: [%s]
  telemetry:
    logs: {level: warn}
    metrics:
      level: normal
      readers:
        - pull:
            exporter:
              prometheus: {host: 127.0.0.1, port: %d}
  pipelines:
    traces:
      receivers: [otlp]
      processors: [%s]
      exporters: [otlp_grpc]
`

func runPipeline(collector string, p pipeline, tpls []*loadgen.Template, spans int, rate float64) (*result, error) {
	res := &result{p: p}
	sk, err := startSink()
	if err != nil {
		return nil, err
	}
	defer sk.stop()
	otlpPort, err := freePort()
	if err != nil {
		return nil, err
	}
	promPort, err := freePort()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "lineage-bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	cfg := filepath.Join(dir, "config.yaml")
	ext, extList, pprofPort := "", "", 0
	if profileDir != "" {
		if pprofPort, err = freePort(); err != nil {
			return nil, err
		}
		ext, extList = fmt.Sprintf("extensions:\n  pprof: {endpoint: 127.0.0.1:%d}\n", pprofPort), "pprof"
	}
	body := fmt.Sprintf(configTmpl, otlpPort, p.yaml, sk.addr, ext, extList, promPort, strings.Join(p.procs, ", "))
	if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
		return nil, err
	}
	logf, err := os.Create(filepath.Join(dir, "collector.log"))
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	cmd := exec.Command(collector, "--config", cfg)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stopped := false
	stop := func() error {
		if stopped {
			return nil
		}
		stopped = true
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-exited:
			return err
		case <-time.After(90 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
			return errors.New("collector did not stop within 90s after SIGTERM")
		}
	}
	defer func() { _ = stop() }()
	fail := func(err error) (*result, error) {
		_ = stop()
		log, _ := os.ReadFile(logf.Name())
		return nil, fmt.Errorf("%w\ncollector log:\n%s", err, tail(string(log), 3000))
	}
	pid := cmd.Process.Pid
	promURL := fmt.Sprintf("http://127.0.0.1:%d/metrics", promPort)
	if err := waitReady(fmt.Sprintf("127.0.0.1:%d", otlpPort), promURL, exited); err != nil {
		return fail(err)
	}
	time.Sleep(time.Second) // let start-up settle before the idle sample
	m, _ := scrape(promURL)
	res.heapIdle = heap(m)
	res.rssIdle, _, _ = memory(pid)
	cpu0, err := cpuSeconds(pid)
	if err != nil {
		return fail(err)
	}
	bench0 := selfCPU()
	begin := time.Now()

	// Sampler: RSS, in-flight spans (sent - received originals), the held-spans gauge, heap.
	var sent atomic.Int64
	sampDone := make(chan struct{})
	var sampWG sync.WaitGroup
	sampWG.Add(1)
	go func() {
		defer sampWG.Done()
		t := time.NewTicker(500 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-sampDone:
				return
			case <-t.C:
			}
			rss, hwm, err := memory(pid)
			if err != nil {
				continue
			}
			res.rssPeak, res.hwm = max(res.rssPeak, rss), max(res.hwm, hwm)
			out, _ := sk.counts()
			held := float64(sent.Load()) - float64(out)
			m, _ := scrape(promURL)
			res.gaugePeak = max(res.gaugePeak, metric(m, "otelcol_processor_lineage_held_spans"))
			if held > res.heldPeak {
				res.heldPeak, res.rssAtHeld, res.heapAtHeld = held, rss, heap(m)
			}
		}
	}()

	if pprofPort != 0 {
		sampWG.Add(1)
		go func() {
			defer sampWG.Done()
			if err := saveProfile(fmt.Sprintf("http://127.0.0.1:%d/debug/pprof/profile?seconds=20", pprofPort),
				filepath.Join(profileDir, p.name+".cpu.pprof")); err != nil {
				fmt.Println("   profile:", err)
			}
		}()
	}

	// Load: one sender per service (one agent per JVM: its requests stay in order).
	conn, err := grpc.NewClient(fmt.Sprintf("127.0.0.1:%d", otlpPort), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return fail(err)
	}
	client := ptraceotlp.NewGRPCClient(conn)
	var sendErrs atomic.Int64
	chans := map[string]chan loadgen.Batch{}
	var sendWG sync.WaitGroup
	ctx, cancel := context.WithTimeout(context.Background(), loadLimit)
	defer cancel()
	gen := &loadgen.Generator{Templates: tpls, Rate: rate, Spans: spans}
	res.stats, err = gen.Run(ctx, func(b loadgen.Batch) error {
		ch, ok := chans[b.Service]
		if !ok {
			ch = make(chan loadgen.Batch, 8)
			chans[b.Service] = ch
			sendWG.Add(1)
			go func() {
				defer sendWG.Done()
				for b := range ch {
					stamp(b.Traces)
					req := ptraceotlp.NewExportRequestFromTraces(b.Traces)
					var err error
					for try := 0; try < 5; try++ { // the receiver refuses only under backpressure
						cctx, ccancel := context.WithTimeout(context.Background(), 30*time.Second)
						_, err = client.Export(cctx, req)
						ccancel()
						if err == nil {
							break
						}
						time.Sleep(100 * time.Millisecond)
					}
					if err != nil {
						sendErrs.Add(1)
						continue
					}
					sent.Add(int64(b.Spans))
				}
			}()
		}
		select {
		case ch <- b:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
	for _, ch := range chans {
		close(ch)
	}
	sendWG.Wait()
	_ = conn.Close()
	if errors.Is(err, context.DeadlineExceeded) {
		res.truncated = true
		res.stats.Elapsed = time.Since(begin)
		fmt.Printf("   load stopped after %s (-max-load): the collector did not keep up\n", loadLimit)
	} else if err != nil {
		return fail(err)
	}
	if c, err := cpuSeconds(pid); err == nil {
		res.cpuLoad = c - cpu0
	}
	res.sendErrors = int(sendErrs.Load())
	res.sent = int(sent.Load())
	// Drain: everything out, or the wait plus a margin.
	deadline := time.Now().Add(p.wait + 30*time.Second)
	for time.Now().Before(deadline) {
		if out, _ := sk.counts(); out >= res.sent {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	res.loadSecs = time.Since(begin).Seconds()
	cpu1, err := cpuSeconds(pid)
	if err != nil {
		return fail(err)
	}
	res.cpu = cpu1 - cpu0
	res.benchCPU = selfCPU() - bench0
	m, _ = scrape(promURL)
	res.lineage = map[string]float64{}
	for k, v := range m {
		if strings.HasPrefix(k, "otelcol_processor_lineage_") {
			res.lineage[strings.TrimPrefix(k, "otelcol_processor_lineage_")] = v
		}
	}
	close(sampDone)
	sampWG.Wait()
	if err := stop(); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			return fail(err)
		}
	}
	res.out, res.synth = sk.counts() // includes what shutdown flushed
	if res.out != res.sent {
		log, _ := os.ReadFile(logf.Name())
		fmt.Printf("   spans in %d != out %d; collector log:\n%s\n", res.sent, res.out, tail(string(log), 3000))
	}
	ps := sk.percentiles(0.5, 0.99, 1)
	res.p50, res.p99, res.pmax = ps[0], ps[1], ps[2]
	if p.wait > 0 {
		res.overWait = sk.over(p.wait + time.Second)
	}
	return res, nil
}

func saveProfile(url, path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	resp, err := (&http.Client{Timeout: time.Minute}).Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func heap(m map[string]float64) float64 {
	return metric(m, "otelcol_process_runtime_heap_alloc_bytes", "otelcol_process_runtime_heap_alloc_bytes_total")
}

func waitReady(otlpAddr, promURL string, exited <-chan error) error {
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			return fmt.Errorf("collector exited during start-up: %v", err)
		default:
		}
		if c, err := net.DialTimeout("tcp", otlpAddr, time.Second); err == nil {
			_ = c.Close()
			if _, err := scrape(promURL); err == nil {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return errors.New("collector not ready within 60s")
}

func selfCPU() float64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}

func cpuModel() string {
	b, _ := os.ReadFile("/proc/cpuinfo")
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown CPU"
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

const mib = 1 << 20

func printOne(r *result) {
	fmt.Printf("   sent %d spans in %d batches (%d replicas) in %.1fs (max schedule lag %s, send errors %d); out %d originals + %d synthesized\n",
		r.sent, r.stats.Batches, r.stats.Replicas, r.stats.Elapsed.Seconds(), r.stats.MaxLag.Round(time.Millisecond), r.sendErrors, r.out, r.synth)
	fmt.Printf("   collector CPU %.2fs over %.1fs (%.2fs until the last send; bench tool CPU %.2fs); RSS idle %.0f MiB peak %.0f MiB VmHWM %.0f MiB\n",
		r.cpu, r.loadSecs, r.cpuLoad, r.benchCPU, r.rssIdle/mib, r.rssPeak/mib, r.hwm/mib)
	fmt.Printf("   held peak %.0f spans (sent - received), gauge peak %.0f; RSS then %.0f MiB, heap idle %.0f MiB then %.0f MiB\n",
		r.heldPeak, r.gaugePeak, r.rssAtHeld/mib, r.heapIdle/mib, r.heapAtHeld/mib)
	fmt.Printf("   latency p50 %s p99 %s max %s; spans over wait+1s: %d\n", r.p50, r.p99, r.pmax, r.overWait)
	if len(r.lineage) > 0 {
		fmt.Printf("   lineage metrics at drain end: %v\n", r.lineage)
	}
}

func printTable(rs []*result, rate float64) {
	var pass, base *result
	for _, r := range rs {
		switch r.p.name {
		case "passthrough":
			pass = r
		case "batch":
			base = r
		}
	}
	ratio := func(r, b *result) string {
		if b == nil || b.sent == 0 || r.sent == 0 {
			return "-"
		}
		return fmt.Sprintf("%.2f", (r.cpu/float64(r.sent))/(b.cpu/float64(b.sent)))
	}
	fmt.Printf("\n| pipeline | offered spans/s (steady / mean) | spans in / out (+synth.) | collector CPU s | spans/s per core | CPU/span vs passthrough / vs batch | RSS idle → peak MiB (VmHWM) | peak held spans | bytes per held span (RSS / heap) | latency p50 / p99 / max | lost |\n")
	fmt.Printf("|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range rs {
		steady := "max"
		if r.p.name != "batch-maxrate" {
			steady = fmt.Sprintf("%.0f", rate)
		}
		if r.truncated {
			steady += " (not sustained: stopped at -max-load)"
		}
		held, perSpan := "-", "-"
		if r.heldPeak > 1000 {
			held = fmt.Sprintf("%.0f", r.heldPeak)
			if r.gaugePeak > 0 {
				held += fmt.Sprintf(" (gauge %.0f)", r.gaugePeak)
			}
			perSpan = fmt.Sprintf("%.0f / %.0f", (r.rssAtHeld-r.rssIdle)/r.heldPeak, (r.heapAtHeld-r.heapIdle)/r.heldPeak)
		}
		synth := ""
		if r.synth > 0 {
			synth = fmt.Sprintf(" (+%d)", r.synth)
		}
		fmt.Printf("| %s | %s / %.0f | %d / %d%s | %.2f | %.0f | %s / %s | %.0f → %.0f (%.0f) | %s | %s | %s / %s / %s | %d |\n",
			r.p.name, steady, float64(r.sent)/r.stats.Elapsed.Seconds(), r.sent, r.out, synth, r.cpu, float64(r.sent)/r.cpu,
			ratio(r, pass), ratio(r, base), r.rssIdle/mib, r.rssPeak/mib, r.hwm/mib,
			held, perSpan, r.p50.Round(time.Millisecond), r.p99.Round(time.Millisecond), r.pmax.Round(time.Millisecond), r.sent-r.out)
	}
}
