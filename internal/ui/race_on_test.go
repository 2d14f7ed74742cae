//go:build race

package ui_test

// raceEnabled: the race detector slows SQL and templates ~10×, so the scale
// test inserts fewer cases and its timings are not the product's.
const raceEnabled = true
