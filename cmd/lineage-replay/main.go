// Command lineage-replay sends a recorded capture (testdata/captures/<name>, docs/capture-format.md)
// into a running collector over OTLP gRPC, as if the agents and the kafka_records receiver were
// live: the spans (spans.jsonl) as traces and the record facts (facts.jsonl) as logs, interleaved
// in the order the collector first saw them. With --shift-to-now every timestamp moves so that the
// capture ends now, and the UI's default time ranges (the last hour) find it.
//
//	go run ./cmd/lineage-replay --shift-to-now testdata/captures/withdrawal-a
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"time"

	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

const defaultEndpoint = "localhost:4317"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := run(ctx, os.Args[1:], os.Stdout, time.Now)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "lineage-replay:", err)
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, out io.Writer, now func() time.Time) error {
	fs := flag.NewFlagSet("lineage-replay", flag.ContinueOnError)
	fs.SetOutput(out)
	endpoint := fs.String("endpoint", defaultEndpoint, "the collector's OTLP gRPC endpoint (host:port, plaintext)")
	shiftToNow := fs.Bool("shift-to-now", false, "move every timestamp so that the capture ends now")
	timeout := fs.Duration("timeout", 30*time.Second, "bound on each export request")
	fs.Usage = func() {
		fmt.Fprintln(out, "usage: lineage-replay [--endpoint host:port] [--shift-to-now] CAPTURE_DIR")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil // -h: the usage was asked for and printed
		}
		return fmt.Errorf("%w: %w", err, flag.ErrHelp)
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return fmt.Errorf("want exactly one capture directory, got %d arguments: %w", fs.NArg(), flag.ErrHelp)
	}
	dir := fs.Arg(0)
	c, err := loadCapture(dir)
	if err != nil {
		return err
	}
	var shifted time.Duration
	if *shiftToNow && len(c.batches) > 0 {
		shifted = now().Sub(c.end()).Truncate(time.Millisecond)
		c.shift(shifted)
	}
	conn, err := grpc.NewClient(*endpoint, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return fmt.Errorf("endpoint %q: %w", *endpoint, err)
	}
	defer conn.Close()
	start := time.Now()
	if err := send(ctx, conn, c.batches, *timeout); err != nil {
		return fmt.Errorf("replaying %s to %s: %w", dir, *endpoint, err)
	}
	fmt.Fprintf(out, "lineage-replay: %s → %s: %d spans in %d requests, %d record facts in %d requests, in %s",
		dir, *endpoint, c.spans, c.spanReqs, c.facts, c.factReq, time.Since(start).Round(time.Millisecond))
	if *shiftToNow {
		fmt.Fprintf(out, "; timestamps shifted by %s (capture now ends %s)", shifted.Round(time.Second), c.end().Local().Format(time.DateTime))
	}
	fmt.Fprintln(out)
	return nil
}

// send exports the batches in order, one request each, and stops at the first failure: a
// transport error or a request the collector rejected in part.
func send(ctx context.Context, conn *grpc.ClientConn, batches []batch, timeout time.Duration) error {
	traces, logs := ptraceotlp.NewGRPCClient(conn), plogotlp.NewGRPCClient(conn)
	for i, b := range batches {
		rctx, cancel := context.WithTimeout(ctx, timeout)
		var rejected int64
		var msg string
		var err error
		if b.isLogs {
			var res plogotlp.ExportResponse
			res, err = logs.Export(rctx, plogotlp.NewExportRequestFromLogs(b.logs), grpc.WaitForReady(true))
			if err == nil {
				rejected, msg = res.PartialSuccess().RejectedLogRecords(), res.PartialSuccess().ErrorMessage()
			}
		} else {
			var res ptraceotlp.ExportResponse
			res, err = traces.Export(rctx, ptraceotlp.NewExportRequestFromTraces(b.traces), grpc.WaitForReady(true))
			if err == nil {
				rejected, msg = res.PartialSuccess().RejectedSpans(), res.PartialSuccess().ErrorMessage()
			}
		}
		cancel()
		kind := map[bool]string{false: "spans", true: "record facts"}[b.isLogs]
		if err != nil {
			return fmt.Errorf("request %d of %d (%s): %w", i+1, len(batches), kind, err)
		}
		if rejected > 0 {
			return fmt.Errorf("request %d of %d (%s): the collector rejected %d: %s", i+1, len(batches), kind, rejected, msg)
		}
	}
	return nil
}
