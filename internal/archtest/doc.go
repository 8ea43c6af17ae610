// Package archtest holds one test: that every package of the module imports
// only what ARCHITECTURE.md's package table allows, read from `go list`, so
// that the map of the code cannot drift from the code.
package archtest
