//go:build race

package e2e

// raceDetector: the race detector slows the pipeline about tenfold, so the
// synthetic tables are smaller under -race to keep the test near a minute.
const raceDetector = true
