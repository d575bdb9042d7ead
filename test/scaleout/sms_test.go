package scaleout

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/numauth/numauth/test/harness"
)

// TestSmsLimitsAcrossInstances: the SMS limits hold across three instances
// on PostgreSQL and Redis. 50 parallel sends to one number, spread over the
// instances, give exactly one accepted send; parallel wrong guesses spread
// over the instances never get past the code's check budget; of parallel
// right answers exactly one passes.
func TestSmsLimitsAcrossInstances(t *testing.T) { testSmsLimits(t, freshDatabase(t), sharedRedis(t)) }

// TestSmsLimitsOnRedisCluster: the same on a 3-master Redis Cluster.
func TestSmsLimitsOnRedisCluster(t *testing.T) {
	dsn := freshDatabase(t)
	testSmsLimits(t, dsn, harness.StartRedisCluster(t, 3, 0).Seeds())
}

func testSmsLimits(t *testing.T, dsn, redis string) {
	c := newCluster(t, 3, dsn, redis)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	number := fmt.Sprintf("170%08d", time.Now().UnixNano()%100_000_000)
	send := func(i int, to string) (string, error) {
		r, err := rpc(ctx, c.clients[i%len(c.clients)], "SendSmsVerifyCode", map[string]string{
			"PhoneNumber": to, "SignName": "numauth", "TemplateCode": "100001",
			"TemplateParam": `{"code":"##code##"}`, "ReturnVerifyCode": "true",
		})
		model, _ := r.Body["Model"].(map[string]any)
		code, _ := model["VerifyCode"].(string)
		return code, err
	}
	check := func(i int, to, code string) (string, error) {
		r, err := rpc(ctx, c.clients[i%len(c.clients)], "CheckSmsVerifyCode", map[string]string{"PhoneNumber": to, "VerifyCode": code})
		model, _ := r.Body["Model"].(map[string]any)
		res, _ := model["VerifyResult"].(string)
		return res, err
	}

	var (
		mu    sync.Mutex
		codes = map[string]int{}
		code  string
		wg    sync.WaitGroup
	)
	start := make(chan struct{})
	for i := 0; i < 50; i++ {
		wg.Go(func() {
			<-start
			got, err := send(i, number)
			mu.Lock()
			defer mu.Unlock()
			codes[codeOf(err)]++
			if err == nil {
				code = got
			}
		})
	}
	t0 := time.Now()
	close(start)
	wg.Wait()
	if codes["OK"] != 1 || codes["FREQUENCY_FAIL"] != 49 {
		t.Fatalf("50 parallel sends to one number over 3 instances: %v; want 1 OK and 49 FREQUENCY_FAIL", codes)
	}
	t.Logf("50 parallel sends answered in %v", time.Since(t0).Round(time.Millisecond))

	// 40 parallel wrong guesses over the instances, then the right code: dead.
	results := map[string]int{}
	for i := 0; i < 40; i++ {
		wg.Go(func() {
			wrong := fmt.Sprintf("%04d", i)
			if wrong == code {
				wrong = "9999"
			}
			res, err := check(i, number, wrong)
			mu.Lock()
			defer mu.Unlock()
			results[codeOf(err)+"/"+res]++
		})
	}
	wg.Wait()
	if results["OK/PASS"] != 0 {
		t.Fatalf("a wrong guess passed: %v", results)
	}
	if res, err := check(0, number, code); err != nil || res != "UNKNOWN" {
		t.Fatalf("the right code after 40 parallel wrong guesses: %s, %v; want UNKNOWN (the check budget is spent)", res, err)
	}

	// 20 parallel right answers over the instances: one PASS.
	other := fmt.Sprintf("170%08d", (time.Now().UnixNano()+1)%100_000_000)
	code2, err := send(1, other)
	if err != nil {
		t.Fatal(err)
	}
	passes := 0
	for i := 0; i < 20; i++ {
		wg.Go(func() {
			res, err := check(i, other, code2)
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			defer mu.Unlock()
			if res == "PASS" {
				passes++
			}
		})
	}
	wg.Wait()
	if passes != 1 {
		t.Fatalf("%d of 20 parallel right answers passed, want 1", passes)
	}

	// Every instance sees the one accepted send of the first number.
	day := time.Now().UTC().Format("20060102")
	for i := range c.clients {
		r, err := rpc(ctx, c.clients[i], "QuerySendDetails", map[string]string{"PhoneNumber": number, "SendDate": day, "PageSize": "10", "CurrentPage": "1"})
		if err != nil {
			t.Fatal(err)
		}
		if n, _ := r.Body["TotalCount"].(float64); n != 1 {
			t.Errorf("instance %d: QuerySendDetails TotalCount %v, want 1", i, r.Body["TotalCount"])
		}
	}
}
