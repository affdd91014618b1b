package oracle

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain checks that no test leaves a goroutine behind (readers, pools).
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
