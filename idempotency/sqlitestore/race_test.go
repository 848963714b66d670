//go:build race

package sqlitestore

// raceEnabled: the race detector slows SQLite tenfold.
const raceEnabled = true
