package obs

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for the writer's flushing goroutine,
// counting the writes it receives.
type syncBuffer struct {
	mu     sync.Mutex
	b      bytes.Buffer
	writes int
	fail   error
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return 0, s.fail
	}
	s.writes++
	return s.b.Write(p)
}

func (s *syncBuffer) snapshot() (string, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String(), s.writes
}

func TestLogWriter(t *testing.T) {
	tests := []struct {
		name     string
		interval time.Duration
		log      func(l *slog.Logger, lw *LogWriter)
		// before Close: the lines out, and at most this many writes
		wantOut   []string
		maxWrites int
	}{
		{"info lines wait for the interval", time.Hour,
			func(l *slog.Logger, _ *LogWriter) { l.Info("a"); l.Info("b") }, nil, 0},
		{"a warning writes everything before it in one write", time.Hour,
			func(l *slog.Logger, _ *LogWriter) { l.Info("a"); l.Info("b"); l.Warn("c") }, []string{"a", "b", "c"}, 1},
		{"an error too", time.Hour,
			func(l *slog.Logger, _ *LogWriter) { l.Info("a"); l.Error("e") }, []string{"a", "e"}, 1},
		{"Flush writes", time.Hour,
			func(l *slog.Logger, lw *LogWriter) { l.Info("a"); lw.Flush() }, []string{"a"}, 1},
		{"a full buffer writes", time.Hour,
			func(l *slog.Logger, _ *LogWriter) {
				for range 2 * logBufferSize / 100 {
					l.Info(strings.Repeat("x", 60))
				}
			}, []string{"xxxx"}, 2},
		{"write-through", 0,
			func(l *slog.Logger, _ *LogWriter) { l.Info("a"); l.Info("b") }, []string{"a", "b"}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := &syncBuffer{}
			lw := NewLogWriter(out, tt.interval)
			l := slog.New(FlushAbove(slog.NewJSONHandler(lw, nil), lw, slog.LevelWarn))
			tt.log(l, lw)
			got, writes := out.snapshot()
			if tt.wantOut == nil && got != "" {
				t.Fatalf("written before its time: %q", got)
			}
			for _, w := range tt.wantOut {
				if !strings.Contains(got, `"msg":"`+w) {
					t.Fatalf("%q missing from %q", w, got)
				}
			}
			if writes > tt.maxWrites {
				t.Fatalf("%d writes, want at most %d", writes, tt.maxWrites)
			}
			// Close writes what is left, and later lines go straight through.
			l.Info("last")
			if err := lw.Close(); err != nil {
				t.Fatal(err)
			}
			l.Info("after close")
			got, _ = out.snapshot()
			if !strings.Contains(got, `"msg":"last"`) || !strings.Contains(got, `"msg":"after close"`) {
				t.Fatalf("lines lost at Close: %q", got)
			}
		})
	}
}

func TestLogWriterInterval(t *testing.T) {
	out := &syncBuffer{}
	lw := NewLogWriter(out, 10*time.Millisecond)
	defer lw.Close()
	slog.New(slog.NewJSONHandler(lw, nil)).Info("tick")
	deadline := time.Now().Add(5 * time.Second)
	for {
		if got, _ := out.snapshot(); strings.Contains(got, "tick") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the line was never written by the interval flush")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestLogWriterReportsWriteErrors(t *testing.T) {
	out := &syncBuffer{fail: errors.New("disk full")}
	lw := NewLogWriter(out, time.Hour)
	lw.Write([]byte("line\n"))
	if err := lw.Flush(); err == nil {
		t.Fatal("Flush hid a write error")
	}
	if err := lw.Close(); err != nil {
		t.Fatalf("the error was reported twice: %v", err)
	}
}
