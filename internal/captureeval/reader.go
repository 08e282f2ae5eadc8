package captureeval

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"go.opentelemetry.io/collector/pdata/ptrace"
)

// DefaultMaxLineBytes bounds one spans.jsonl line. The file exporter writes one export request
// per line; batches of thousands of spans stay far below this.
const DefaultMaxLineBytes = 256 << 20

// InputStats counts the lines of spans.jsonl.
type InputStats struct {
	// Lines counts non-blank lines.
	Lines int `json:"lines"`
	// MalformedLines counts lines that do not decode as OTLP/JSON TracesData (or are too long).
	MalformedLines int `json:"malformed_lines"`
}

// ReadTraces reads OTLP/JSON TracesData, one object per line (the collector file exporter's
// format), and calls fn with each decoded line (numbered from 1). Blank lines are skipped; lines
// that do not decode or exceed maxLineBytes (<= 0: DefaultMaxLineBytes) are counted in the
// returned stats and described in problems, and reading goes on. Only a read error is returned.
func ReadTraces(r io.Reader, maxLineBytes int, problems *Problems, fn func(line int, td ptrace.Traces)) (InputStats, error) {
	if maxLineBytes <= 0 {
		maxLineBytes = DefaultMaxLineBytes
	}
	if problems == nil {
		problems = &Problems{}
	}
	var (
		stats  InputStats
		um     ptrace.JSONUnmarshaler
		br     = bufio.NewReaderSize(r, 64<<10)
		lineNo int
	)
	for {
		line, tooLong, err := readLine(br, maxLineBytes)
		if err != nil && !errors.Is(err, io.EOF) {
			return stats, fmt.Errorf("reading spans: line %d: %w", lineNo+1, err)
		}
		if err == nil || len(line) > 0 || tooLong { // at EOF only a non-empty last line counts
			lineNo++
			switch {
			case tooLong:
				stats.Lines++
				stats.MalformedLines++
				problems.addf("spans line %d: longer than %d bytes (skipped)", lineNo, maxLineBytes)
			case len(bytes.TrimSpace(line)) == 0:
				// blank line
			default:
				stats.Lines++
				td, derr := decodeTraces(&um, line)
				if derr != nil {
					stats.MalformedLines++
					problems.addf("spans line %d: %s", lineNo, truncate(derr.Error(), 200))
				} else {
					fn(lineNo, td)
				}
			}
		}
		if err != nil { // io.EOF
			return stats, nil
		}
	}
}

// readLine returns the next line without its line terminator. A line longer than max is
// consumed and reported as tooLong with no content. err is io.EOF after the last line.
func readLine(br *bufio.Reader, max int) (line []byte, tooLong bool, err error) {
	var buf []byte
	for {
		chunk, rerr := br.ReadSlice('\n')
		if !tooLong {
			if len(buf)+len(chunk) > max+2 { // +2: the terminator "\r\n" does not count
				tooLong, buf = true, nil
			} else {
				buf = append(buf, chunk...)
			}
		}
		switch {
		case rerr == nil:
			return trimEOL(buf, max, &tooLong), tooLong, nil
		case errors.Is(rerr, bufio.ErrBufferFull):
			continue
		default:
			return trimEOL(buf, max, &tooLong), tooLong, rerr
		}
	}
}

func trimEOL(b []byte, max int, tooLong *bool) []byte {
	b = bytes.TrimSuffix(b, []byte("\n"))
	b = bytes.TrimSuffix(b, []byte("\r"))
	if len(b) > max {
		*tooLong = true
		return nil
	}
	return b
}

// decodeTraces decodes one line; a panic in the decoder is reported as an error.
func decodeTraces(um *ptrace.JSONUnmarshaler, line []byte) (td ptrace.Traces, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("decoder panic: %v", p)
		}
	}()
	// A TracesData line is one JSON object; the decoder quietly accepts null and ignores
	// whatever follows the first value.
	if t := bytes.TrimLeft(line, " \t\r"); len(t) == 0 || t[0] != '{' {
		return ptrace.Traces{}, errors.New("not a JSON object")
	}
	td, err = um.UnmarshalTraces(line)
	if err == nil && !json.Valid(line) {
		return ptrace.Traces{}, errors.New("invalid JSON after the TracesData object")
	}
	return td, err
}

// readSpans feeds spans.jsonl to add line by line or, when stitch is set, reads it whole, runs it
// through stitch and feeds the result as one batch (line 0).
func readSpans(r io.Reader, maxLine int, problems *Problems, stitch StitchFunc, add func(int, ptrace.Traces)) (InputStats, error) {
	if stitch == nil {
		return ReadTraces(r, maxLine, problems, add)
	}
	all := ptrace.NewTraces()
	in, err := ReadTraces(r, maxLine, problems, func(_ int, td ptrace.Traces) {
		td.ResourceSpans().MoveAndAppendTo(all.ResourceSpans())
	})
	if err != nil {
		return in, err
	}
	stitched, err := stitch(all)
	if err != nil {
		return in, fmt.Errorf("stitching: %w", err)
	}
	add(0, stitched)
	return in, nil
}
