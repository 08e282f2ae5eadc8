// Command lineage-eval measures how well the traces of a capture follow the lineage of its Kafka
// records (docs/capture-format.md).
//
//	lineage-eval [--stitch [--mode rewrite|link] [--config FILE]] [--events] [--problems N] DIR
//	lineage-eval --describe [--stitch [--mode rewrite|link]] [--problems N] DIR
//
// DIR holds spans.jsonl, truth.json and optionally manifest.json. The output is one JSON
// document of metrics followed by the line
//
//	events=N traces_per_event=X.XX precision=P.PPP recall=R.RRR
//
// With --describe, the output is one JSON document summarising what the agents emitted
// (services, span shapes, root spans by break-point class, mis-parenting evidence, links and,
// when DIR has a truth.json, truth coverage and noise); truth.json is optional then.
//
// Malformed input is counted in the metrics and the first few reasons go to stderr.
// --stitch runs the spans through the lineage processor (processor/lineageprocessor, default
// configuration, the given mode) before measuring or describing them.
// Exit status: 0 ok, 1 the capture cannot be read or stitched, 2 usage.
package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/eventlineage/lineage/internal/captureeval"
	"github.com/eventlineage/lineage/processor/lineageprocessor"
)

// stitch, when set, replaces the lineage processor for --stitch (tests use it).
var stitch captureeval.StitchFunc

// factsFile holds the capture's record facts (kafka_records receiver output), when recorded.
const factsFile = "facts.jsonl"

// processorStitch applies the lineage processor in the given mode — with the configuration in
// cfgFile (YAML, the processor's section) when given, else its defaults — fed with the record
// facts of the capture in dir when it has them.
func processorStitch(mode lineageprocessor.Mode, cfgFile, dir string) captureeval.StitchFunc {
	return func(td ptrace.Traces) (ptrace.Traces, error) {
		cfg, err := lineageprocessor.LoadConfig(cfgFile)
		if err != nil {
			return ptrace.Traces{}, err
		}
		cfg.Mode = mode
		facts, err := readFacts(filepath.Join(dir, factsFile))
		if err != nil {
			return ptrace.Traces{}, err
		}
		return lineageprocessor.Stitch(cfg, td, facts)
	}
}

// readFacts reads an OTLP/JSON logs file (one LogsData per line) into one plog.Logs; a missing
// file is no facts.
func readFacts(path string) (plog.Logs, error) {
	all := plog.NewLogs()
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return all, nil
	}
	if err != nil {
		return all, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 1<<20), captureeval.DefaultMaxLineBytes)
	var u plog.JSONUnmarshaler
	for line := 1; sc.Scan(); line++ {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		ld, err := u.UnmarshalLogs(sc.Bytes())
		if err != nil {
			return all, fmt.Errorf("%s:%d: %w", path, line, err)
		}
		ld.ResourceLogs().MoveAndAppendTo(all.ResourceLogs())
	}
	return all, sc.Err()
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("lineage-eval", flag.ContinueOnError)
	fs.SetOutput(stderr)
	doStitch := fs.Bool("stitch", false, "stitch the spans with the lineage processor before measuring")
	mode := fs.String("mode", string(lineageprocessor.ModeRewrite), "with --stitch: the lineage processor's mode, rewrite or link")
	events := fs.Bool("events", false, "include per-event details (event_details) in the JSON")
	maxProblems := fs.Int("problems", 5, "how many problem descriptions of each kind to print to stderr")
	cfgFile := fs.String("config", "", "with --stitch: a YAML file with the lineage processor's configuration (default: its defaults)")
	describe := fs.Bool("describe", false, "print a JSON summary of what the agents emitted instead of the metrics (truth.json optional)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: lineage-eval [--stitch [--mode rewrite|link] [--config FILE]] [--events] [--problems N] DIR\n"+
			"       lineage-eval --describe [--stitch [--mode rewrite|link]] [--problems N] DIR\n\n"+
			"Measures the capture in DIR (spans.jsonl, truth.json, manifest.json) against its truth,\n"+
			"or with --describe summarises what the agents emitted in it.\n\n")
		fs.PrintDefaults()
	}
	// Accept flags before and after DIR.
	var dirs []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return 0
			}
			return 2
		}
		if fs.NArg() == 0 {
			break
		}
		dirs = append(dirs, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(dirs) != 1 {
		fmt.Fprintln(stderr, "lineage-eval: want exactly one capture directory")
		fs.Usage()
		return 2
	}
	if *describe && *events {
		fmt.Fprintln(stderr, "lineage-eval: --events has no effect with --describe")
		fs.Usage()
		return 2
	}
	var stitchFn captureeval.StitchFunc
	if *doStitch {
		switch m := lineageprocessor.Mode(*mode); {
		case stitch != nil:
			stitchFn = stitch
		case m == lineageprocessor.ModeRewrite || m == lineageprocessor.ModeLink:
			stitchFn = processorStitch(m, *cfgFile, dirs[0])
		default:
			fmt.Fprintf(stderr, "lineage-eval: --mode must be %q or %q, got %q\n", lineageprocessor.ModeRewrite, lineageprocessor.ModeLink, *mode)
			return 2
		}
	}
	if *describe {
		return runDescribe(dirs[0], stitchFn, *maxProblems, stdout, stderr)
	}
	opts := captureeval.Options{EventDetails: *events, Stitch: stitchFn}
	rep, err := captureeval.EvaluateDir(dirs[0], opts)
	if err != nil {
		fmt.Fprintf(stderr, "lineage-eval: %v\n", err)
		return 1
	}
	printProblems(stderr, "malformed lines/spans (counted, skipped)", &rep.MalformedProblems, *maxProblems)
	printProblems(stderr, "truth/manifest problems", &rep.TruthProblems, *maxProblems)
	if err := rep.WriteJSON(stdout); err != nil {
		fmt.Fprintf(stderr, "lineage-eval: %v\n", err)
		return 1
	}
	if _, err := fmt.Fprintln(stdout, rep.FinalLine()); err != nil {
		fmt.Fprintf(stderr, "lineage-eval: %v\n", err)
		return 1
	}
	return 0
}

func runDescribe(dir string, stitchFn captureeval.StitchFunc, maxProblems int, stdout, stderr io.Writer) int {
	desc, err := captureeval.DescribeDir(dir, captureeval.DescribeOptions{Stitch: stitchFn})
	if err != nil {
		fmt.Fprintf(stderr, "lineage-eval: %v\n", err)
		return 1
	}
	printProblems(stderr, "malformed lines/spans (counted, skipped)", &desc.Problems, maxProblems)
	printProblems(stderr, "truth/manifest problems", &desc.TruthProblems, maxProblems)
	if err := desc.WriteJSON(stdout); err != nil {
		fmt.Fprintf(stderr, "lineage-eval: %v\n", err)
		return 1
	}
	return 0
}

func printProblems(w io.Writer, what string, p *captureeval.Problems, max int) {
	if p.Count == 0 || max <= 0 {
		return
	}
	shown := min(max, len(p.Samples))
	fmt.Fprintf(w, "lineage-eval: %d %s; first %d:\n", p.Count, what, shown)
	for _, s := range p.Samples[:shown] {
		fmt.Fprintf(w, "  %s\n", s)
	}
}
