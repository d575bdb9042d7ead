package obs

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

func TestDemote(t *testing.T) {
	var buf bytes.Buffer
	base := slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo})
	// This test's own package plays the library.
	log := slog.New(Demote(base, "github.com/numauth/numauth/internal/obs."))
	log.Warn("library warning")
	log.Error("library error")
	other := slog.New(Demote(base, "github.com/zitadel/"))
	other.Warn("own warning")
	out := buf.String()
	if strings.Contains(out, "library warning") {
		t.Errorf("a library's warning was written at Info level: %s", out)
	}
	if !strings.Contains(out, "library error") || !strings.Contains(out, "own warning") {
		t.Errorf("errors and other packages' warnings must stay: %s", out)
	}
}
