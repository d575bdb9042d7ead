package security

import (
	"sync"
	"testing"
)

// Finding 6: scheme names were not unique under concurrent creation. 19 of
// 20 parallel CreateVerifyScheme calls with one name succeeded, and
// GetAuthToken without SceneCode then failed for the page (several schemes
// matched). Exactly one may win; the others get the documented business
// code, and the page keeps working.
func TestSchemeNameUniqueUnderConcurrentCreation(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := testContext(t)
		s := startServer(t, b, serverOptions{})
		const n = 20
		const origin, page = "https://race.example.com", "https://race.example.com/login"
		codes := make([]string, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range codes {
			wg.Go(func() {
				<-start
				r, err := s.call(ctx, "CreateVerifyScheme", map[string]string{
					"SchemeName": "one name", "AppName": "race", "OsType": "H5", "Origin": origin, "Url": page,
				})
				if err != nil {
					codes[i] = "ERROR " + err.Error()
					return
				}
				codes[i] = r.Code
			})
		}
		close(start)
		wg.Wait()
		count := map[string]int{}
		for _, c := range codes {
			count[c]++
		}
		t.Logf("%d parallel CreateVerifyScheme calls with one name: %v", n, count)
		if count["OK"] != 1 || count["isv.VERIFY_SCHEME_CONFLICT"] != n-1 {
			t.Fatalf("answers %v, want exactly 1 OK and %d isv.VERIFY_SCHEME_CONFLICT", count, n-1)
		}
		// The page still finds its one scheme without a SceneCode.
		s.mustCall(ctx, "GetAuthToken", map[string]string{"Url": page, "Origin": origin})
		out, err := s.cli(ctx, "schemes", "list")
		if err != nil {
			t.Fatal(err)
		}
		if got := countLines(out, "one name"); got != 1 {
			t.Fatalf("numauth schemes list shows %d schemes named %q, want 1:\n%s", got, "one name", out)
		}
	})
}
