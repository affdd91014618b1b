package oracle

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain checks that no test leaves a goroutine behind (readers, pools).
// fasthttp, under the API server of the job tests, keeps two sleeping
// goroutines past Shutdown (its date ticker and its worker pool's idle
// cleanup), as in the server package's tests.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.updateServerDate.func1"),
		goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.(*workerPool).Start.func2"))
}
