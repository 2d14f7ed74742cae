//go:build race

package reports_test

// raceEnabled: the race detector slows SQL ~10×; the 100,000-case
// measurement is skipped under it.
const raceEnabled = true
