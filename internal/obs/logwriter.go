package obs

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"time"
)

// LogWriter collects log lines and writes them in few, large writes: when
// its buffer fills, every interval, when Flush is called (FlushAbove does so
// for warnings and errors), and on Close. Writing each access-log line with
// its own system call cost about a tenth of the server's throughput in
// whole-flow benchmarks (docs/performance.md).
//
// What a crash of the process can lose is at most one interval of lines
// below the flush level; Close, which serve defers, writes everything.
type LogWriter struct {
	mu   sync.Mutex
	w    io.Writer
	buf  []byte
	err  error
	stop chan struct{}
	done chan struct{}
	once sync.Once
}

// logBufferSize is how much a LogWriter holds before it writes regardless of
// the interval.
const logBufferSize = 64 << 10

// NewLogWriter returns a LogWriter over w that writes at least every
// interval. An interval of 0 or less makes it write through: every line is
// written at once, as if w were used directly.
func NewLogWriter(w io.Writer, interval time.Duration) *LogWriter {
	l := &LogWriter{w: w, done: make(chan struct{})}
	if interval <= 0 {
		close(l.done)
		return l
	}
	l.buf = make([]byte, 0, logBufferSize)
	l.stop = make(chan struct{})
	go l.loop(interval)
	return l
}

func (l *LogWriter) loop(interval time.Duration) {
	defer close(l.done)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			l.Flush()
		case <-l.stop:
			return
		}
	}
}

// Write takes one log line (slog handlers write whole records).
func (l *LogWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.buf == nil { // write-through, or closed
		return l.w.Write(p)
	}
	if len(l.buf)+len(p) > cap(l.buf) {
		l.flushLocked()
		if len(p) > cap(l.buf) {
			return l.w.Write(p)
		}
	}
	l.buf = append(l.buf, p...)
	return len(p), nil
}

// Flush writes what is buffered and returns the first write error seen
// since the last Flush.
func (l *LogWriter) Flush() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.flushLocked()
	err := l.err
	l.err = nil
	return err
}

func (l *LogWriter) flushLocked() {
	if len(l.buf) == 0 {
		return
	}
	if _, err := l.w.Write(l.buf); err != nil && l.err == nil {
		l.err = err
	}
	l.buf = l.buf[:0]
}

// Close writes what is buffered and makes later writes go straight
// through, so that lines logged during shutdown are not lost either.
func (l *LogWriter) Close() error {
	l.once.Do(func() {
		if l.stop != nil {
			close(l.stop)
		}
	})
	<-l.done
	l.mu.Lock()
	defer l.mu.Unlock()
	l.flushLocked()
	l.buf = nil
	err := l.err
	l.err = nil
	return err
}

// FlushAbove wraps h so that a record at level or above is written out at
// once, with everything logged before it.
func FlushAbove(h slog.Handler, lw *LogWriter, level slog.Level) slog.Handler {
	return flushHandler{Handler: h, lw: lw, level: level}
}

type flushHandler struct {
	slog.Handler
	lw    *LogWriter
	level slog.Level
}

func (h flushHandler) Handle(ctx context.Context, r slog.Record) error {
	err := h.Handler.Handle(ctx, r)
	if r.Level >= h.level {
		if ferr := h.lw.Flush(); err == nil {
			err = ferr
		}
	}
	return err
}

func (h flushHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return flushHandler{h.Handler.WithAttrs(as), h.lw, h.level}
}

func (h flushHandler) WithGroup(name string) slog.Handler {
	return flushHandler{h.Handler.WithGroup(name), h.lw, h.level}
}
